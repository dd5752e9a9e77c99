import { join, resolve } from 'node:path';
import type { HostModel, ResolvedTopology } from '../../../src/topology/model.ts';

/** Small hand-made topologies for the Docker tests (no ava import: child processes load this too). */

const root = resolve(import.meta.dirname, '../../..');

const users = [
  { name: 'root', uid: 0 },
  { name: 'alice', uid: 1001 },
  { name: 'nobody', uid: 65534 },
];

/** A topology of echo hosts: `count` hosts on net a (10.231.<k>.0/24), the first `dual` also on net b. */
export function echoTopology(name: string, k: number, count: number, dual: number): ResolvedTopology {
  const hosts: HostModel[] = [];
  for (let i = 0; i < count; i++) {
    hosts.push({
      name: `h${i}`,
      role: 'echo',
      interfaces: [
        { network: 'a', address: `10.231.${k}.${10 + i}` },
        ...(i < dual ? [{ network: 'b', address: `10.231.${k + 1}.${10 + i}` }] : []),
      ],
      users,
      echo: [{ port: 7, kind: 'echo' }],
    });
  }
  // One host only on net b: reachable from the dual-homed hosts, not from the others.
  hosts.push({
    name: 'far',
    role: 'echo',
    interfaces: [{ network: 'b', address: `10.231.${k + 1}.99` }],
    users,
    echo: [{ port: 7, kind: 'echo' }],
  });
  return {
    name,
    file: join(root, `${name}.yaml`),
    networks: [
      { name: 'a', subnet: `10.231.${k}.0/24` },
      { name: 'b', subnet: `10.231.${k + 1}.0/24` },
    ],
    hosts,
  };
}
