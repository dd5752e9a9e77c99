import { InputError } from '../../common/errors.ts';

/**
 * Where a Docker engine listens, parsed once from a `DOCKER_HOST` value: a unix socket
 * (`unix:///run/docker.sock`) or plain TCP (`tcp://127.0.0.1:2375`). `url` is the canonical
 * text that lab state files record, so `sockslab down`/`reap` reach the engine a lab lives on.
 * Pure: the CLI reads the environment and hands the value here.
 */
export type EngineEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly url: string };

/** The engine Docker's own client uses when DOCKER_HOST is not set. */
export const DefaultDockerHost = 'unix:///var/run/docker.sock';

function invalid(text: string, why: string): InputError {
  return new InputError('E_DOCKER_HOST', `DOCKER_HOST=${JSON.stringify(text)}: ${why}`);
}

/**
 * Parses a DOCKER_HOST value; an empty or absent value is the default socket. TLS
 * (DOCKER_TLS_VERIFY) and ssh:// engines are refused with the reason instead of being half-used.
 */
export function parseDockerHost(
  text: string | undefined,
  options: { tlsVerify?: string } = {},
): EngineEndpoint {
  const value = text?.trim() ? text.trim() : DefaultDockerHost;
  const m = /^([a-z]+):\/\/(.*)$/.exec(value);
  if (!m) throw invalid(value, 'expected unix:///path/to/socket or tcp://host:port');
  const [, scheme, rest = ''] = m;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw invalid(value, 'a unix socket needs an absolute path (unix:///path)');
    if (rest.includes('\0')) throw invalid(value, 'the socket path holds a NUL byte');
    return { kind: 'unix', socketPath: rest, url: `unix://${rest}` };
  }
  if (scheme === 'tcp' || scheme === 'http') {
    if (options.tlsVerify !== undefined && options.tlsVerify !== '' && options.tlsVerify !== '0') {
      throw invalid(
        value,
        'TLS engines (DOCKER_TLS_VERIFY) are not supported; reach the engine over a unix socket or plain TCP',
      );
    }
    let url: URL;
    try {
      url = new URL(`http://${rest}`);
    } catch {
      throw invalid(value, 'expected tcp://host:port');
    }
    if (url.pathname !== '/' || url.search || url.username)
      throw invalid(value, 'expected tcp://host:port and nothing more');
    const port = url.port ? Number(url.port) : 2375;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!host) throw invalid(value, 'no host name');
    return { kind: 'tcp', host, port, url: `tcp://${url.hostname}:${port}` };
  }
  throw invalid(value, `${scheme}:// engines are not supported; use unix:// or tcp://`);
}
