import { stringify } from 'yaml';
import { type LoadedTopology, parseTopologyText } from '../../src/topology/load.ts';

/**
 * A generated estate for scale tests and benchmarks of the design analysis (matrix, diff,
 * mutation): departments whose clients go through three servers each —
 *
 *   client (lan d) → rsockd dept<d> → rsockd mid<d> → sockd edge<d> (or the backup edge) → dest
 *
 * With the defaults: 3 departments, 10 servers (3 dept + 3 mid + 3 edges + 1 backup edge, edge1
 * stopped so department 1 fails over), 8 destinations and 32 clients = 50 hosts. Every
 * department's clients share one user directory (alice<d>, bob<d>, admin<d>), as under NIS;
 * one client per department has a faulty identd (lying, down) to break the symmetry. The
 * configs use every kind of atom: masks, host names in server lists, user lists and user
 * files, port operators, identd modes.
 */

export interface GeneratedOptions {
  /** Number of departments (cascades); default 3. */
  readonly departments?: number;
  /** Total hosts; clients fill what the servers and destinations leave; default 50. */
  readonly hosts?: number;
  /** Destinations on the internet; default 6 (plus 2 in the dmz). */
  readonly destinations?: number;
}

export function generatedTopologyText(options: GeneratedOptions = {}): string {
  const departments = options.departments ?? 3;
  const total = options.hosts ?? 50;
  const internetDests = options.destinations ?? 6;
  const dmzDests = 2;
  const servers = departments * 3 + 1;
  const clients = total - servers - internetDests - dmzDests;
  if (clients < departments) throw new Error(`${total} hosts leave fewer clients than departments`);

  const networks: Record<string, { subnet: string; description?: string }> = {
    core: { subnet: '10.100.0.0/24', description: 'department servers and the mid tier' },
    dmz: { subnet: '172.16.0.0/24', description: 'mid tier, edges and dmz services' },
    internet: { subnet: '198.51.100.0/24', description: 'the outside (TEST-NET-2)' },
  };
  const hosts: Record<string, unknown> = {};
  const edges = [...Array.from({ length: departments }, (_, i) => `edge${i + 1}`), 'edge-backup'];

  for (let d = 1; d <= departments; d++) {
    networks[`lan${d}`] = { subnet: `10.${d}.0.0/24` };
    hosts[`dept${d}`] = {
      role: 'rsockd',
      addresses: { [`lan${d}`]: `10.${d}.0.1`, core: `10.100.0.${d}` },
      identd: 'truthful',
      server: {
        user: 'nobody',
        'sockd.conf': [
          `# staff of department ${d}, verified by identd; admins may use any port`,
          `permit ?=I *=/etc/sockd/staff.users 10.${d}.0.0 255.255.255.0 0.0.0.0 0.0.0.0 lt 1024`,
          `permit ?=I *=admin${d} 10.${d}.0.0 255.255.255.0`,
          'deny 0.0.0.0 0.0.0.0',
          '',
        ].join('\n'),
        'socks.conf': [
          'deny 10.0.0.0 255.0.0.0 eq 23',
          `direct 10.${d}.0.0 255.255.255.0`,
          `sockd @=10.100.0.${10 + d} 0.0.0.0 0.0.0.0`,
          '',
        ].join('\n'),
        'user-files': { '/etc/sockd/staff.users': `alice${d} bob${d}\n` },
      },
    };
    hosts[`mid${d}`] = {
      role: 'rsockd',
      addresses: { core: `10.100.0.${10 + d}`, dmz: `172.16.0.${10 + d}` },
      identd: 'truthful',
      server: {
        user: 'nobody',
        'sockd.conf': [`permit 10.100.0.${d} 255.255.255.255`, 'deny 0.0.0.0 0.0.0.0', ''].join('\n'),
        'socks.conf': [
          'direct 172.16.0.0 255.255.255.0',
          `sockd @=edge${d},edge-backup 0.0.0.0 0.0.0.0`,
          '',
        ].join('\n'),
      },
    };
  }
  edges.forEach((name, i) => {
    hosts[name] = {
      role: 'sockd',
      addresses: { dmz: `172.16.0.${100 + i}`, internet: `198.51.100.${1 + i}` },
      ...(name === 'edge1' ? { stopped: true } : {}),
      server: {
        user: 'root',
        'sockd.conf': [
          '# the mid tier has checked its users; web for all, high ports for ops only',
          'permit ?=n 172.16.0.0 255.255.255.0 198.51.100.0 255.255.255.0 eq 80',
          ...(i % 2 === 1 ? ['permit ?=n 172.16.0.0 255.255.255.0 198.51.100.0 255.255.255.0 eq 443'] : []),
          'permit ?=n *=/etc/sockd/ops.users 172.16.0.0 255.255.255.0 198.51.100.0 255.255.255.0 ge 1024',
          'deny 0.0.0.0 0.0.0.0',
          '',
        ].join('\n'),
        'user-files': {
          '/etc/sockd/ops.users': `${Array.from({ length: departments }, (_, k) => `admin${k + 1}`).join(' ')}\n`,
        },
      },
    };
  });
  for (let i = 1; i <= internetDests; i++)
    hosts[`www${i}`] = {
      role: 'echo',
      addresses: { internet: `198.51.100.${100 + i}` },
      echo: i % 3 === 0 ? [7, 8080] : [{ port: 80, kind: 'http-ok' }, 443],
    };
  for (let i = 1; i <= dmzDests; i++)
    hosts[`svc${i}`] = { role: 'echo', addresses: { dmz: `172.16.0.${200 + i}` }, echo: [514] };
  for (let c = 0; c < clients; c++) {
    const d = (c % departments) + 1;
    const index = Math.floor(c / departments);
    const users = { [`alice${d}`]: 1001, [`bob${d}`]: 1002, [`admin${d}`]: 1003 };
    hosts[`ws${d}-${index + 1}`] = {
      role: 'client',
      addresses: { [`lan${d}`]: `10.${d}.0.${10 + index}` },
      users,
      // One faulty identd per department, the rest truthful.
      identd: index === 1 ? (d % 2 === 0 ? 'down' : `lying:bob${d}`) : 'truthful',
      'socks.conf': `sockd @=10.${d}.0.1 0.0.0.0 0.0.0.0\n`,
    };
  }
  return stringify({
    name: 'generated',
    description: `${total} hosts: ${departments} departments through 3-hop cascades, ${servers} servers`,
    networks,
    hosts,
  });
}

/** The generated topology, loaded and validated exactly as a file would be. */
export function generatedTopology(options: GeneratedOptions = {}): Promise<LoadedTopology> {
  return parseTopologyText(generatedTopologyText(options), '/generated/generated.yaml');
}
