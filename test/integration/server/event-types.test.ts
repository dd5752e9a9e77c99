import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { teeSinks } from '../../../src/server/log-sinks.ts';
import { closedWithin, echoThrough, socks4, startEcho, startServer, waitFor, waitForLog } from './helpers.ts';

// A sink that names the event types it reads (the --metrics counters) is given only those, so the
// engine builds no log event per log line for it; the classic log is written all the same.

test('a sink that names its event types receives only those, and the text log is complete', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: 'permit 127.0.0.0 255.0.0.0\n',
    eventTypes: ['request', 'close'],
  });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'alice' });
  t.is(r.reply?.code, 90);
  const msg = Buffer.from('typed sink');
  t.deepEqual(await echoThrough(r.socket, msg), msg);
  r.socket.end();
  t.true(await closedWithin(r.socket, 10_000));
  await waitForLog(s, (l) => / bytes from /.test(l));
  await waitFor(() => s.events.some((e) => e.type === 'close'));
  t.deepEqual([...new Set(s.events.map((e) => e.type))].sort(), ['close', 'request']);
  t.true(s.logs.some((l) => l.startsWith('connected -- Connect from alice(unknown)@')));
});

test('a tee reads what any of its sinks reads, and passes each sink only its own types', (t) => {
  const got: Record<string, string[]> = { typed: [], all: [] };
  const typed = {
    types: new Set<LabEvent['type']>(['close']),
    emit: (e: LabEvent) => got.typed!.push(e.type),
  };
  const all = { emit: (e: LabEvent) => got.all!.push(e.type) };
  const log = {
    t: 0,
    service: 'sockd',
    pid: 1,
    type: 'log',
    level: 'notice',
    message: 'm',
  } as unknown as LabEvent;
  const tee = teeSinks([typed, all]);
  t.is(tee.types, undefined, 'one sink reads every type, so the tee does');
  tee.emit(log);
  t.deepEqual(got, { typed: [], all: ['log'] });
  const typedTee = teeSinks([typed, { types: new Set<LabEvent['type']>(['request']), emit() {} }]);
  t.deepEqual([...(typedTee.types ?? [])].sort(), ['close', 'request']);
});
