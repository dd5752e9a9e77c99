/**
 * Hand-built resolved topologies for the diagram tests (the same shapes as the reference
 * topologies, but independent of the loader so a loader change cannot move these goldens).
 */
import type { ConfigName, ConfigOfName } from '../../../src/topology/config-parsers.ts';
import type {
  HostModel,
  ParsedConfigText,
  ResolvedTopology,
  ServerModel,
} from '../../../src/topology/model.ts';
import { configText } from '../../helpers/config-text.ts';

export function conf<K extends ConfigName>(name: K, text: string): ParsedConfigText<ConfigOfName[K]> {
  return configText(name, text);
}

export function server(kind: 'rsockd' | 'sockd', extra: Partial<ServerModel> = {}): ServerModel {
  return {
    kind,
    owner: 'nobody',
    port: 1080,
    identdDefault: 'off',
    socks5: false,
    sockdConf: conf('sockd.conf', 'permit ALL\n'),
    userFiles: [],
    upstreamPort: 1080,
    identdPort: 113,
    ...extra,
  };
}

const truthful = { behaviour: { kind: 'truthful' }, port: 113 } as const;

/** user x on C -> rsockd on B -> sockd on A -> echo on Z (the rsockd(8) manual's cascade). */
export function seedCascade(): ResolvedTopology {
  const hosts: HostModel[] = [
    {
      name: 'C',
      role: 'client',
      interfaces: [{ network: 'inside', address: '10.1.0.10' }],
      users: [{ name: 'x', uid: 1000 }],
      identd: truthful,
      clientSocksConf: conf('socks.conf', 'sockd @=10.1.0.1 ALL\n'),
    },
    {
      name: 'B',
      role: 'rsockd',
      interfaces: [
        { network: 'inside', address: '10.1.0.1' },
        { network: 'dmz', address: '10.2.0.2' },
      ],
      users: [{ name: 'nobody', uid: 65534 }],
      identd: truthful,
      server: server('rsockd', {
        identdDefault: 'strict',
        socksConf: conf('socks.conf', 'direct 10.1.0.0 255.255.255.0\nsockd @=10.2.0.1 ALL\n'),
      }),
    },
    {
      name: 'A',
      role: 'sockd',
      interfaces: [
        { network: 'dmz', address: '10.2.0.1' },
        { network: 'outside', address: '10.3.0.1' },
      ],
      users: [{ name: 'nobody', uid: 65534 }],
      server: server('sockd'),
    },
    {
      name: 'Z',
      role: 'echo',
      interfaces: [{ network: 'outside', address: '10.3.0.10' }],
      users: [],
      echo: [{ port: 7, kind: 'echo' }],
    },
  ];
  return {
    name: 'seed-cascade',
    file: '/lab/seed-cascade.yaml',
    description: 'user x on C reaches Z through rsockd on B and sockd on A',
    networks: [
      { name: 'inside', subnet: '10.1.0.0/24' },
      { name: 'dmz', subnet: '10.2.0.0/24' },
      { name: 'outside', subnet: '10.3.0.0/24' },
    ],
    hosts,
  };
}

/**
 * The spec's socks.conf example (d.5, d.6) on an rsockd with awkward names: a four-entry `@=`
 * list (two servers in the topology by address, one by name, one unknown), a one-field
 * `sockd@` line, and default-server lines; plus a host whose socks.conf does not parse.
 */
export function awkwardFailover(socksConfText: string): ResolvedTopology {
  const hosts: HostModel[] = [
    {
      name: '<ops> & "co"',
      role: 'client',
      interfaces: [{ network: 'corp net', address: '192.168.1.50' }],
      users: [{ name: 'alice', uid: 1000 }],
      identd: { behaviour: { kind: 'lying', user: 'mallory' }, port: 113 },
    },
    {
      name: 'gw\\east',
      role: 'rsockd',
      description: 'fails over through four servers',
      interfaces: [
        { network: 'corp net', address: '192.168.1.1' },
        { network: 'edge', address: '10.0.0.1' },
      ],
      users: [{ name: 'nobody', uid: 65534 }],
      server: server('rsockd', { socksConf: conf('socks.conf', socksConfText), defaultServer: '10.0.0.9' }),
    },
    {
      name: 'fw2',
      role: 'sockd',
      interfaces: [{ network: 'edge', address: '10.0.0.2' }],
      users: [],
      server: server('sockd'),
    },
    {
      name: 'fw-old.corp.example.com',
      role: 'sockd',
      interfaces: [{ network: 'edge', address: '10.0.0.5' }],
      users: [],
      server: server('sockd'),
    },
    {
      name: 'fw3',
      role: 'sockd',
      interfaces: [{ network: 'edge', address: '10.0.0.3' }],
      users: [],
      server: server('sockd'),
    },
    {
      name: 'default-fw',
      role: 'sockd',
      interfaces: [{ network: 'edge', address: '10.0.0.9' }],
      users: [],
      server: server('sockd'),
    },
    {
      name: 'broken',
      role: 'rsockd',
      interfaces: [{ network: 'edge', address: '10.0.0.7' }],
      users: [],
      server: server('rsockd', { socksConf: conf('socks.conf', 'direct ALL\nallow 10.0.0.0 255.0.0.0\n') }),
    },
    {
      name: 'end',
      role: 'identd-only',
      interfaces: [],
      users: [],
      identd: { behaviour: { kind: 'error', error: 'HIDDEN-USER' }, port: 113 },
    },
  ];
  return {
    name: 'awkward "failover"',
    file: '/lab/awkward.yaml',
    networks: [
      { name: 'corp net', subnet: '192.168.1.0/24', description: 'a & b <c>' },
      { name: 'edge', subnet: '10.0.0.0/24' },
    ],
    hosts,
  };
}
