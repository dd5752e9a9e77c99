import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { missingRequestEvents, requestEvents } from '../../../src/runtime/request-events.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { configText } from '../../helpers/config-text.ts';

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

const missingEvents = missingRequestEvents;

test('a probe that reached a server waits for the first hop to report its request', (t) => {
  t.deepEqual(missingEvents([], topology, outcome), ['first hop from the probe at 10.1.0.10:40000']);
  t.deepEqual(missingEvents([], topology, {}), [], 'a probe that never connected waits for nothing');
  t.deepEqual(
    missingEvents([], topology, { local: probeLocal, clientRoute: { action: 'direct', line: 1 } }),
    [],
    'a direct connection to something that is no lab service has nothing to wait for',
  );
});

test('a hop that connected to the destination waits for its close and for the echo service', (t) => {
  t.deepEqual(missingEvents([request, outbound], topology, outcome), [
    'close of B|sockd|1',
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

/** The same hop serving another probe at the same time: session 2, client port 40001. */
const other = (e: LabEvent): LabEvent =>
  e.type === 'request'
    ? { ...e, session: '2', client: { address: '10.1.0.10', port: 40001 } }
    : e.type === 'outbound'
      ? { ...e, session: '2', local: { address: '10.3.0.1', port: 50001 } }
      : { ...e, session: '2' };

test("another probe's open session on the same hop neither holds this probe up nor joins its events", (t) => {
  const window = [request, other(request), outbound, other(outbound), close, echo];
  t.deepEqual(
    missingEvents(window, topology, outcome),
    [],
    'session 2 never closed, yet this probe is complete',
  );
  const own = requestEvents(window, outcome);
  t.deepEqual(
    own.filter((e) => e.service === 'sockd').map((e) => e.session),
    ['1', '1', '1'],
  );
  t.true(own.includes(echo), 'non-server events stay (stitching matches them by endpoint)');
});

test('a probe that never connected claims no server session, even one from its own host', (t) => {
  t.deepEqual(requestEvents([request, outbound, close, echo], { local: undefined } as never), [echo]);
});

test('the chain follows each hop onward to the next server', (t) => {
  const toNext: LabEvent = { ...outbound, remote: { address: '10.1.0.1', port: 1080 }, via: 'upstream' };
  const next: LabEvent = { ...request, session: '9', client: hopLocal };
  const nextClose: LabEvent = { ...close, session: '9' };
  const own = requestEvents([request, toNext, next, other(request), close, nextClose], outcome);
  t.deepEqual(
    own.map((e) => `${e.session}:${e.type}`),
    ['1:request', '1:outbound', '9:request', '1:close', '9:close'],
  );
});

test('a hop that got an identd answer waits for the identd-served event of the host that gave it', (t) => {
  const asked: LabEvent = {
    ...base,
    type: 'identd',
    queried: { address: '10.1.0.10', port: 113 },
    answer: '40000 , 1080 : USERID : UNIX : x',
    verdict: 'confirmed',
    user: 'x',
  };
  const served: LabEvent = {
    t: 1,
    host: 'C',
    service: 'identd',
    type: 'identd-served',
    peer: { address: '10.1.0.1', port: 50123 },
    query: '40000 , 1080',
    answer: '40000 , 1080 : USERID : UNIX : x',
    behaviour: 'truthful',
  };
  const window = [request, asked, outbound, close, echo];
  t.deepEqual(missingEvents(window, topology, outcome), ['identd-served on 10.1.0.10 for B|sockd|1']);
  t.deepEqual(missingEvents([...window, served], topology, outcome), []);
  const silent: LabEvent = { ...asked, answer: null, verdict: 'unavailable' } as LabEvent;
  t.deepEqual(
    missingEvents([request, silent, outbound, close, echo], topology, outcome),
    [],
    'no answer, nothing served to wait for',
  );
});
