import { errText, probeFromHost } from '../../client/probe.ts';
import type { EventSink } from '../../common/events.ts';
import type { Resolver } from '../../common/resolver.ts';
import type { ClientConfig } from '../../config/ast.ts';
import type { UserFileReader } from '../../config/user-file.ts';
import type { Conn, Net } from '../../net/net.ts';
import { addressFrom, findHost } from '../../topology/host-table.ts';
import type { HostModel, ResolvedTopology } from '../../topology/model.ts';
import type { HostNames } from '../../topology/names.ts';
import type { ProbeOutcome, ProbeRequest } from '../runtime.ts';

/**
 * One probe from inside a host, as a user: the SOCKS client of src/client/probe.ts on that
 * host's virtual Net, so identd on the origin host attributes the connection to that user. The
 * BIND peer connects from its own host's Net, in-process.
 */
export interface ProbeContext {
  readonly topology: ResolvedTopology;
  /** Net of `user` on `host`. */
  netFor(host: string, user: string): Net;
  /** The origin host's name service. */
  readonly resolver: Resolver;
  /** The origin's own names (its entries and zones): a SOCKS 4 client resolves with them. */
  readonly names: HostNames;
  readonly userFiles: UserFileReader;
  /** Parsed client socks.conf of a host (probe --use-socks-conf); null = none. */
  clientConfig(host: string): ClientConfig | null;
  readonly events: EventSink;
}

function host(topology: ResolvedTopology, name: string): HostModel {
  const h = topology.hosts.find((x) => x.name === name || x.name.toLowerCase() === name.toLowerCase());
  if (!h) {
    throw Object.assign(
      new Error(`unknown host \`${name}\`; hosts: ${topology.hosts.map((x) => x.name).join(', ')}`),
      {
        code: 'E_PROBE_HOST',
      },
    );
  }
  return h;
}

export async function runProbe(ctx: ProbeContext, request: ProbeRequest): Promise<ProbeOutcome> {
  const origin = host(ctx.topology, request.from);
  if (!origin.users.some((u) => u.name === request.user)) {
    throw Object.assign(
      new Error(
        `\`${request.user}\` is not a user of ${origin.name}; users: ${origin.users.map((u) => u.name).join(', ')}`,
      ),
      { code: 'E_PROBE_USER' },
    );
  }
  const hosts = ctx.topology.hosts;
  const timeoutMs = request.timeoutMs ?? 5000;
  return probeFromHost(
    {
      net: ctx.netFor(origin.name, request.user),
      origin: origin.name,
      hosts: {
        address: (name) => addressFrom(hosts, origin.name, name, ctx.names),
        serverPort: (name) => findHost(hosts, name)?.server?.port,
      },
      resolver: ctx.resolver,
      userFiles: ctx.userFiles,
      socksConf: ctx.clientConfig(origin.name),
      emit: (event) => ctx.events.emit(event),
      bindPeer: async (bound) => {
        if (!request.bindPeer) return {};
        const peer = host(ctx.topology, request.bindPeer.from);
        const peerNet = ctx.netFor(peer.name, request.bindPeer.user ?? 'root');
        let peerConn: Conn;
        try {
          peerConn = await peerNet.connect({ host: bound.address, port: bound.port, timeoutMs });
        } catch (err) {
          return {
            error: `bind peer ${peer.name} could not connect to ${bound.address}:${bound.port}: ${errText(err)}`,
          };
        }
        peerConn.socket.on('error', () => {});
        peerConn.socket.write(request.send ?? `hello from ${peer.name}\n`);
        return { close: () => peerConn.socket.destroy() };
      },
    },
    request,
  );
}
