import { Socket } from 'node:net';
import test from 'ava';
import { dialByRoute } from '../../../src/client/route-dial.ts';
import { tableResolver } from '../../../src/common/table-resolver.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import type { Conn, ConnectOptions, Net } from '../../../src/net/net.ts';

/** A Net that records dials and answers from a table: `ok` or an errno code. */
function scriptedNet(answers: Record<string, 'ok' | string>) {
  const dials: string[] = [];
  const net: Net = {
    listen: async () => {
      throw new Error('not used');
    },
    connect: async (o: ConnectOptions): Promise<Conn> => {
      const key = `${o.host}:${o.port}`;
      dials.push(key);
      const answer = answers[key] ?? 'ECONNREFUSED';
      if (answer !== 'ok') throw Object.assign(new Error(`connect ${answer} ${key}`), { code: answer });
      return {
        socket: new Socket(),
        local: { address: '10.0.0.5', port: 40000 },
        remote: { address: o.host, port: o.port },
      };
    },
  };
  return { net, dials };
}

const conf = parseSocksConf(
  ['deny *=mallory 0.0.0.0 0.0.0.0', 'direct 10.0.0.0 255.0.0.0', 'sockd @=fw1,10.0.0.3 ALL'].join('\n'),
  { file: 'socks.conf' },
);
const resolver = tableResolver({
  forward: new Map([
    ['fw1', ['10.0.0.2', '198.51.100.2']],
    ['z', ['198.51.100.10']],
  ]),
  reverse: new Map([['198.51.100.10', ['z']]]),
});
const ctx = (net: Net) => ({
  net,
  resolver,
  userFiles: () => ({ ok: false as const, error: 'none' }),
  socksConf: conf,
  serverPort: 1080,
  connectTimeoutMs: 500,
});

test('socks.conf deny for the user dials nothing', async (t) => {
  const { net, dials } = scriptedNet({});
  const r = await dialByRoute(ctx(net), { host: 'z', port: 7 }, 'mallory');
  t.is(r.kind, 'deny');
  t.is(r.decision.rule?.line, 1);
  t.deepEqual(dials, []);
});

test('a direct destination is dialled itself', async (t) => {
  const { net, dials } = scriptedNet({ '10.1.2.3:7': 'ok' });
  const r = await dialByRoute(ctx(net), { host: '10.1.2.3', port: 7 }, 'x');
  t.is(r.kind, 'direct');
  t.deepEqual(dials, ['10.1.2.3:7']);
});

test('sockd tries every address of each listed server in order until one connects (d.7)', async (t) => {
  const { net, dials } = scriptedNet({ '10.0.0.3:1080': 'ok', '198.51.100.2:1080': 'ETIMEDOUT' });
  const r = await dialByRoute(ctx(net), { host: 'z', port: 7 }, 'x');
  t.is(r.kind, 'sockd');
  if (r.kind !== 'sockd') return;
  t.deepEqual(dials, ['10.0.0.2:1080', '198.51.100.2:1080', '10.0.0.3:1080']);
  t.deepEqual(
    r.attempts.map((a) => [a.server, a.address, a.ok, a.error]),
    [
      ['fw1', '10.0.0.2', false, 'ECONNREFUSED'],
      ['fw1', '198.51.100.2', false, 'ETIMEDOUT'],
      ['10.0.0.3', '10.0.0.3', true, undefined],
    ],
  );
  t.deepEqual(r.server, { entry: '10.0.0.3', address: '10.0.0.3', port: 1080 });
});

test('when every server fails the result says so with no connection', async (t) => {
  const { net } = scriptedNet({});
  const r = await dialByRoute(ctx(net), { host: 'z', port: 7 }, 'x');
  t.is(r.kind, 'sockd');
  if (r.kind === 'sockd') {
    t.is(r.conn, null);
    t.is(r.attempts.length, 3);
  }
});
