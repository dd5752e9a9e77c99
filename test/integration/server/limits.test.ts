import test from 'ava';
import {
  assertServes,
  closedWithin,
  connectTcp,
  socks4,
  startEcho,
  startServer,
  waitFor,
  waitForLog,
} from './helpers.ts';

// --max-sessions: connections beyond the bound are closed at once, logged at most once a second.

const permitAll = 'permit 127.0.0.0 255.0.0.0\n';

test('beyond the session bound a connection is closed without a reply; freed room serves again', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll, maxSessions: 2 });
  const a = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  const b = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(a.reply?.code, 90);
  t.is(b.reply?.code, 90);
  t.is(s.server.activeSessions, 2);

  const extra = await connectTcp(s.host, s.port);
  extra.on('error', () => {});
  const bytes: Buffer[] = [];
  extra.on('data', (c: Buffer) => bytes.push(c));
  t.true(await closedWithin(extra, 2000), 'closed at once');
  t.is(Buffer.concat(bytes).length, 0, 'no reply');
  await waitForLog(s, (l) => l === 'too many sessions (limit 2): closed 1 connection without a reply');

  // A burst within the same second is reported once, a second later, with its count.
  const burst = await Promise.all([connectTcp(s.host, s.port), connectTcp(s.host, s.port)]);
  for (const c of burst) {
    c.on('error', () => {});
    t.true(await closedWithin(c, 2000));
  }
  const line = await waitFor(
    () => s.logs.find((l) => l.includes('closed 2 connections without a reply')),
    3000,
  );
  t.is(line, 'too many sessions (limit 2): closed 2 connections without a reply');
  t.is(s.logs.filter((l) => l.startsWith('too many sessions')).length, 2);

  a.socket.destroy();
  await waitFor(() => s.server.activeSessions < 2);
  await assertServes(t, s, echo);
  b.socket.destroy();
});
