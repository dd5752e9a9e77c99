import { Socket } from 'node:net';
import test from 'ava';
import { dialWithFailover, type ServerAttempt } from '../../../src/client/failover.ts';
import type { Conn, ConnectOptions, Net } from '../../../src/net/net.ts';

// d.7 with a scripted Net: which addresses are dialled, in which order, and what is logged.

function scriptedNet(outcomes: Record<string, string | 'ok'>, dialled: ConnectOptions[]): Net {
  return {
    listen: () => Promise.reject(new Error('not used')),
    connect: async (o) => {
      dialled.push(o);
      const r = outcomes[o.host] ?? 'ECONNREFUSED';
      if (r === 'ok') {
        const conn: Conn = {
          socket: new Socket(),
          local: { address: '10.0.0.9', port: 40000 },
          remote: { address: o.host, port: o.port },
        };
        return conn;
      }
      throw Object.assign(new Error(r), { code: r });
    },
  };
}

const resolver = {
  reverse: async () => [],
  forward: async (n: string) => (n === 'fw.example' ? ['10.0.0.5', '10.0.0.6'] : []),
};

test('entries are tried in order, each address of a name in turn, until one TCP connect succeeds', async (t) => {
  const dialled: ConnectOptions[] = [];
  const logs: string[] = [];
  const attempts: ServerAttempt[] = [];
  const net = scriptedNet({ '10.0.0.6': 'ok', '10.0.0.1': 'ETIMEDOUT' }, dialled);
  const r = await dialWithFailover(
    net,
    resolver,
    ['10.0.0.1', 'gone.example', 'fw.example', '10.0.0.7'],
    1080,
    30_000,
    {
      log: (m) => logs.push(m),
      attempt: (a) => attempts.push(a),
      cancelled: () => false,
    },
  );
  t.is(r.kind, 'connected');
  t.is(r.kind === 'connected' ? r.entry : '', 'fw.example');
  t.deepEqual(
    dialled.map((d) => [d.host, d.port, d.timeoutMs]),
    [
      ['10.0.0.1', 1080, 30_000],
      ['10.0.0.5', 1080, 30_000],
      ['10.0.0.6', 1080, 30_000],
    ],
  );
  t.deepEqual(logs, [
    'Failed to connect to sockd at 10.0.0.1: Connection timed out',
    'Failed to connect to sockd at gone.example: host not found',
  ]);
  t.deepEqual(
    attempts.map((a) => [a.server, a.address, a.ok]),
    [
      ['10.0.0.1', '10.0.0.1', false],
      ['gone.example', null, false],
      ['fw.example', '10.0.0.5', false],
      ['fw.example', '10.0.0.6', true],
    ],
  );
  if (r.kind === 'connected') r.conn.socket.destroy();
});

test('when every entry fails the result carries the last error text', async (t) => {
  const r = await dialWithFailover(
    scriptedNet({ '10.0.0.2': 'EHOSTUNREACH' }, []),
    resolver,
    ['10.0.0.1', '10.0.0.2'],
    1080,
    1,
    {
      log: () => {},
      attempt: () => {},
      cancelled: () => false,
    },
  );
  t.deepEqual(r, { kind: 'exhausted', lastError: 'No route to host' });
});

test('a cancelled session stops dialling', async (t) => {
  const dialled: ConnectOptions[] = [];
  const r = await dialWithFailover(scriptedNet({}, dialled), resolver, ['10.0.0.1'], 1080, 1, {
    log: () => {},
    attempt: () => {},
    cancelled: () => true,
  });
  t.is(r.kind, 'cancelled');
  t.deepEqual(dialled, []);
});
