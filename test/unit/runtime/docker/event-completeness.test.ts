import test from 'ava';
import type { LabEvent } from '../../../../src/common/events.ts';
import { missingEvents } from '../../../../src/runtime/docker/event-completeness.ts';
import type { ResolvedTopology } from '../../../../src/topology/model.ts';
import { configText } from '../../../helpers/config-text.ts';

const conf = configText('sockd.conf', '', { file: 't', line: 1, column: 1, inline: true });
const users = [{ name: 'root', uid: 0 }];
const topology: ResolvedTopology = {
  name: 't',
  file: '/t.yaml',
  networks: [],
  hosts: [
    { name: 'C', role: 'client', interfaces: [{ network: 'lan', address: '10.1.0.10' }], users },
    {
      name: 'B',
      role: 'sockd',
      interfaces: [
        { network: 'lan', address: '10.1.0.1' },
        { network: 'out', address: '10.3.0.1' },
      ],
      users,
      server: {
        kind: 'sockd',
        owner: 'root',
        port: 1080,
        identdDefault: 'off',
        identdPort: 113,
        socks5: false,
        sockdConf: conf,
        userFiles: [],
        upstreamPort: 1080,
      },
    },
    {
      name: 'z',
      role: 'echo',
      interfaces: [{ network: 'out', address: '10.3.0.10' }],
      users,
      echo: [{ port: 7, kind: 'echo' }],
    },
  ],
};

const probeLocal = { address: '10.1.0.10', port: 40000 };
const hopLocal = { address: '10.3.0.1', port: 50000 };
const base = { t: 1, host: 'B', service: 'sockd' as const, session: '1' };
const request: LabEvent = {
  ...base,
  type: 'request',
  client: probeLocal,
  local: { address: '10.1.0.1', port: 1080 },
  version: 4,
  command: 'connect',
  dst: { host: '10.3.0.10', port: 7 },
  user: 'x',
};
const outbound: LabEvent = {
  ...base,
  type: 'outbound',
  local: hopLocal,
  remote: { address: '10.3.0.10', port: 7 },
  via: 'direct',
};
const close: LabEvent = {
  ...base,
  type: 'close',
  bytesFromClient: 1,
  bytesFromRemote: 1,
  durationMs: 5,
  reason: 'eof',
};
const echo: LabEvent = {
  t: 1,
  host: 'z',
  service: 'echo',
  type: 'echo',
  peer: hopLocal,
  local: { address: '10.3.0.10', port: 7 },
  kind: 'echo',
  bytes: 1,
};
const outcome = { reply: 90, local: probeLocal };

test('a probe that got a reply waits for the first hop to report its request', (t) => {
  t.deepEqual(missingEvents([], topology, outcome), ['request from the probe at 10.1.0.10:40000']);
  t.deepEqual(missingEvents([], topology, { reply: null, local: probeLocal }), []);
});

test('a hop that connected to the destination waits for its close and for the echo service', (t) => {
  t.deepEqual(missingEvents([request, outbound], topology, outcome), [
    'close of B/sockd/1 (client 10.1.0.10:40000)',
    'echo on z from 10.3.0.1:50000',
  ]);
  t.deepEqual(missingEvents([request, outbound, close, echo], topology, outcome), []);
});

test('an outbound connection to another server waits for that server to report the request', (t) => {
  const toServer: LabEvent = { ...outbound, remote: { address: '10.1.0.1', port: 1080 }, via: 'upstream' };
  t.deepEqual(missingEvents([request, toServer, close], topology, outcome), [
    'request on B from 10.3.0.1:50000',
  ]);
});
