import type { ResolvedTopology } from '../topology/model.ts';
import { type LoadedScenario, scenarioError, type YamlPath } from './load.ts';

/**
 * What every step of resolving a scenario against a topology needs: the loaded file (for located
 * errors), the topology's names, and the checks that turn a bad name into an error at its YAML node.
 */
export interface ResolveCtx {
  readonly loaded: LoadedScenario;
  readonly topology: ResolvedTopology;
  readonly hosts: ReadonlySet<string>;
  /** The case timeout when a case sets none (the file's `defaults.timeout`, else the built-in). */
  readonly defaultTimeout: number;
  fail(path: YamlPath, what: string, code?: string): never;
  /** `name` when it is a host of the topology, else an error at `path`. */
  host(name: string, path: YamlPath): string;
  /**
   * The owner of a socket must be an account of the host it runs on (it is what that host's
   * identd names); a claimed USERID (`claim:`) may be anything and is not checked here.
   */
  account(hostName: string, user: string, path: YamlPath): string;
  network(name: string, path: YamlPath): string;
}

export function resolveCtx(
  loaded: LoadedScenario,
  topology: ResolvedTopology,
  defaultTimeout: number,
): ResolveCtx {
  const hosts = new Set(topology.hosts.map((h) => h.name));
  const networks = new Set(topology.networks.map((n) => n.name));
  const fail = (path: YamlPath, what: string, code = 'E_SCENARIO_REF'): never => {
    throw scenarioError(code, loaded, path, what);
  };
  return {
    loaded,
    topology,
    hosts,
    defaultTimeout,
    fail,
    host(name, path) {
      if (!hosts.has(name)) fail(path, `unknown host "${name}"; hosts: ${[...hosts].sort().join(', ')}`);
      return name;
    },
    account(hostName, user, path) {
      const users = topology.hosts.find((h) => h.name === hostName)?.users ?? [];
      if (!users.some((u) => u.name === user)) {
        fail(
          path,
          `user "${user}" is not an account of host ${hostName}; its users: ${users.map((u) => u.name).join(', ')}` +
            ' (to send another USERID, use claim:)',
          'E_SCENARIO_USER',
        );
      }
      return user;
    },
    network(name, path) {
      if (!networks.has(name))
        fail(path, `unknown network "${name}"; networks: ${[...networks].sort().join(', ')}`);
      return name;
    },
  };
}
