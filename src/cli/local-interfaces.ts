import { networkInterfaces } from 'node:os';
import { inetAton } from '../config/inet.ts';

/**
 * What counts as a local IPv4 address of this host, for sockd.route's interface check (e): every
 * address an interface carries, and on a loopback interface its whole network (Linux answers on
 * all of 127.0.0.0/8 while listing only 127.0.0.1). Read once when asked: interfaces can change.
 */
export function localAddressTest(): {
  readonly addresses: readonly string[];
  readonly isLocal: (addr: number) => boolean;
} {
  const addresses: string[] = [];
  const loopbackNets: { net: number; mask: number }[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4') continue;
      addresses.push(a.address);
      const addr = inetAton(a.address);
      const mask = inetAton(a.netmask);
      if (a.internal && addr !== undefined && mask !== undefined)
        loopbackNets.push({ net: (addr & mask) >>> 0, mask });
    }
  }
  return {
    addresses,
    isLocal: (addr) => loopbackNets.some(({ net, mask }) => (addr & mask) >>> 0 === net),
  };
}
