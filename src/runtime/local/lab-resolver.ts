import { parseUserFile } from '../../policy/match.ts';
import type { Resolver, UserFileReader } from '../../policy/resolver.ts';
import { tableResolver } from '../../policy/table-resolver.ts';
import type { ResolvedTopology, ServerModel } from '../../topology/model.ts';

/**
 * Name service of a lab: the topology's host table (host name ↔ its addresses), so configs may
 * use host names. Never real DNS.
 */
export function labResolver(topology: ResolvedTopology): Resolver {
  const forward = new Map<string, string[]>();
  const reverse = new Map<string, string[]>();
  for (const host of topology.hosts) {
    forward.set(
      host.name,
      host.interfaces.map((i) => i.address),
    );
    for (const i of host.interfaces) reverse.set(i.address, [host.name]);
  }
  return tableResolver({ forward, reverse });
}

/** User files named by absolute path in a server's configs, served from the topology's texts. */
export function labUserFiles(server: ServerModel | undefined): UserFileReader {
  const files = new Map((server?.userFiles ?? []).map((f) => [f.path, f.text]));
  return (path) => {
    const text = files.get(path);
    return text === undefined
      ? { ok: false, error: 'No such file or directory' }
      : { ok: true, names: parseUserFile(text) };
  };
}
