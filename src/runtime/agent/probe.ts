import { readFileSync } from 'node:fs';
import { probeFromHost } from '../../client/probe.ts';
import type { Endpoint, LabEvent } from '../../common/events.ts';
import type { ClientConfig } from '../../config/ast.ts';
import { parseSocksConf } from '../../config/socks-conf.ts';
import type { Net } from '../../net/net.ts';
import { addressFrom, findHost, hostsResolver, userFileReader } from '../../topology/host-table.ts';
import { type HostNames, hostNamesResolver } from '../../topology/names.ts';
import type { Directory } from '../host-spec.ts';
import type { ProbeOutcome, ProbeRequest } from '../runtime.ts';

/**
 * One client request from inside a host (container or namespace), as the user the exec runs
 * as: the probe client of src/client/probe.ts on the host's real network stack, so the
 * origin's identd finds this process's uid in /proc/net/tcp. The same client as the local
 * runtime's. For BIND the peer is another host: `onBound` tells the driver where to have it connect.
 */

export interface ContainerProbeContext {
  readonly net: Net;
  readonly host: string;
  readonly directory: Directory;
  /** This host's own names (its entries and zones, /etc/sockslab/names.json). */
  readonly names?: HostNames;
  /** socks.conf text of this host for `--use-socks-conf`, or null. */
  readonly socksConfText: string | null;
  readonly emit: (event: LabEvent) => void;
  readonly onBound: (bound: Endpoint) => void;
  readonly readFile?: (path: string) => string;
}

/** The address of `target` on a network `from` shares with it, else its first address. */
export const addressIn = addressFrom;

/** The topology's host table as the client's resolver (never real DNS). */
export const directoryResolver = hostsResolver;

function clientConfig(text: string | null): ClientConfig | null {
  if (text === null) return null;
  try {
    return parseSocksConf(text, { file: 'socks.conf' });
  } catch {
    return null;
  }
}

export function containerProbe(ctx: ContainerProbeContext, request: ProbeRequest): Promise<ProbeOutcome> {
  const read = ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  return probeFromHost(
    {
      net: ctx.net,
      origin: ctx.host,
      hosts: {
        address: (name) => addressFrom(ctx.directory, ctx.host, name, ctx.names ?? []),
        serverPort: (name) => findHost(ctx.directory, name)?.serverPort,
      },
      resolver: hostNamesResolver(ctx.directory, ctx.names ?? []),
      // User files named in socks.conf, read from this host's own filesystem.
      userFiles: userFileReader((path) => {
        try {
          return read(path);
        } catch {
          return undefined;
        }
      }),
      socksConf: clientConfig(ctx.socksConfText),
      emit: ctx.emit,
      bindPeer: (bound) => {
        ctx.onBound(bound);
        return {};
      },
    },
    request,
  );
}
