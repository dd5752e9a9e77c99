# rsockd in a container: the npm package (dist/ and its bundled production dependencies) on a
# Node runtime, run as an unprivileged user, the rule files mounted at /etc/rsockd.
#
#   npm ci && npm pack                      # sockslab-<version>.tgz (prepack builds dist/)
#   docker build -t rsockd .
#   docker run -d -p 1080:1080 -v "$PWD/conf:/etc/rsockd:ro" rsockd
#
# /etc/rsockd holds sockd.conf and socks.conf (contrib/examples/ has both), optionally sockd.route
# (and a passwd file named with --passwd); they must be readable by uid 65532. SIGHUP (docker kill -s HUP)
# re-reads them; docker stop (SIGTERM) drains sessions and exits 0.
# BASE: any image with node (>= 20.19) on PATH; the default is the official LTS image.
ARG BASE=node:24-bookworm-slim

# Stage 1: unpack the package. ADD extracts a local tarball itself, so the build needs neither npm
# nor a registry; the tarball stays in this stage and never reaches the final image.
FROM ${BASE} AS package
ADD sockslab-*.tgz /unpack/

# Stage 2: the runtime. Only the package: dist/, bundled production node_modules, examples.
FROM ${BASE}
COPY --from=package /unpack/package/ /opt/sockslab/
LABEL org.opencontainers.image.title="rsockd" \
      org.opencontainers.image.description="CSTC SOCKS 4/4A/5 proxy server (sockslab)" \
      org.opencontainers.image.licenses="MIT"
# An id with no account and no home: nothing to log in to, nothing it owns in the image.
USER 65532:65532
EXPOSE 1080
# Fixed: standalone, the port, logs to stderr (docker logs), every file under the mount; the pid
# file in /tmp because nothing else is writable. CMD holds what is meant to be overridden.
ENTRYPOINT ["node", "/opt/sockslab/dist/cli/rsockd.js", "--standalone", "--port", "1080", \
            "--log", "stderr", "--pidfile", "/tmp/rsockd.pid", \
            "--conf", "/etc/rsockd/sockd.conf", "--client-conf", "/etc/rsockd/socks.conf", \
            "--route", "/etc/rsockd/sockd.route"]
# SOCKS 5 with RFC 1929 passwords: docker run … rsockd --socks5 --passwd /etc/rsockd/sockd.passwd
CMD ["--socks5"]
