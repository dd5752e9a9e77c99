import { randomInt } from 'node:crypto';
import type { ResolvedTopology } from '../../topology/model.ts';

/**
 * Which loopback address stands for which topology interface. Each lab draws a random base
 * 127.<r1>.<r2>.0 so labs in parallel test processes do not collide; interfaces follow in
 * host order from base+1. Nothing outside 127.0.0.0/8 is ever used.
 */
export interface LoopbackInterface {
  readonly host: string;
  readonly network: string;
  /** Topology address, e.g. 10.2.0.1 */
  readonly address: string;
  /** Real loopback address, e.g. 127.83.17.4 */
  readonly real: string;
}

export interface LoopbackPlan {
  readonly interfaces: readonly LoopbackInterface[];
  byTopology(address: string): LoopbackInterface | undefined;
  byReal(address: string): LoopbackInterface | undefined;
  ofHost(host: string): readonly LoopbackInterface[];
}

function dotted(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A random base 127.r1.r2.0 with room for `count` addresses below 127.255.255.255. */
export function randomLoopbackBase(count: number): number {
  const blocks = Math.ceil((count + 2) / 256);
  // r1 from 16: keep clear of 127.0.x.x, which other tools like to use.
  const first = 16 * 256;
  const last = 254 * 256 - blocks;
  return (127 * 2 ** 24 + randomInt(first, last) * 256) >>> 0;
}

export function planLoopback(topology: ResolvedTopology, base?: number): LoopbackPlan {
  const count = topology.hosts.reduce((n, h) => n + h.interfaces.length, 0);
  const start = base ?? randomLoopbackBase(count);
  if (start >>> 24 !== 127) throw new RangeError(`loopback base ${dotted(start)} is outside 127.0.0.0/8`);
  const interfaces: LoopbackInterface[] = [];
  let next = start + 1;
  for (const host of topology.hosts) {
    for (const iface of host.interfaces) {
      // Skip .0 and .255 of each /24 so no address looks like a network or broadcast address.
      while ((next & 255) === 0 || (next & 255) === 255) next++;
      if (next >>> 24 !== 127) throw new RangeError('too many interfaces for 127.0.0.0/8');
      interfaces.push({
        host: host.name,
        network: iface.network,
        address: iface.address,
        real: dotted(next),
      });
      next++;
    }
  }
  const byTopology = new Map(interfaces.map((i) => [i.address, i]));
  const byReal = new Map(interfaces.map((i) => [i.real, i]));
  const byHost = new Map<string, LoopbackInterface[]>();
  for (const i of interfaces) byHost.set(i.host, [...(byHost.get(i.host) ?? []), i]);
  return {
    interfaces,
    byTopology: (a) => byTopology.get(a),
    byReal: (a) => byReal.get(a),
    ofHost: (h) => byHost.get(h) ?? [],
  };
}
