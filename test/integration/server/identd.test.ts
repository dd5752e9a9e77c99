import test from 'ava';
import { startFakeIdentd } from '../../../src/identd/fake-identd.ts';
import type { IdentdBehaviour } from '../../../src/topology/model.ts';
import {
  assertServes,
  closedWithin,
  echoThrough,
  freshAddress,
  randomPort,
  serverNet,
  socks4,
  startEcho,
  startServer,
  waitForLog,
} from './helpers.ts';

// identd verification (g.5, c.10 command table, h.6 order) with a fake identd on the client's
// own loopback address: the server asks the client's address at the identd port.

const identdPort = randomPort();

async function clientWithIdentd(
  t: import('ava').ExecutionContext,
  behaviour: IdentdBehaviour,
  owner = 'alice',
): Promise<string> {
  const host = freshAddress();
  const identd = await startFakeIdentd({
    net: serverNet,
    host,
    port: identdPort,
    behaviour,
    lookup: () => owner,
    readTimeoutMs: 5000,
  });
  t.teardown(() => identd.close());
  return host;
}

const conf = `#NO_IDENTD: echo noid %A %U
#BAD_ID: echo bad %U claims %u
permit ?=I 127.0.0.0 255.0.0.0 eq 7001 : echo strict %u %U
permit ?=i 127.0.0.0 255.0.0.0 eq 7002 : echo lenient %u %U
permit 127.0.0.0 255.0.0.0
`;

test('strict identd confirming the user grants and runs the line command with %U', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'truthful' }, 'alice');
  const echo = await startEcho(t, freshAddress(), 7001);
  const s = await startServer(t, { sockdConf: conf, identdPort });
  const r = await socks4({ proxy: s, dst: echo.host, port: 7001, user: 'alice', from: client });
  t.is(r.reply?.code, 90);
  t.deepEqual(await echoThrough(r.socket, Buffer.from('x')), Buffer.from('x'));
  r.socket.destroy();
  t.deepEqual(s.commands, ['echo strict alice alice']);
  await waitForLog(s, (l) => l.startsWith(`connected -- Connect from alice(alice)@${client} `));
  const ev = s.events.find((e) => e.type === 'identd');
  t.is(ev?.type === 'identd' ? ev.verdict : undefined, 'confirmed');
});

test('strict identd that is down refuses with 92: NO_IDENTD command, refused, cannot connect', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'down' });
  const echo = await startEcho(t, freshAddress(), 7001);
  const s = await startServer(t, { sockdConf: conf, identdPort });
  const r = await socks4({ proxy: s, dst: echo.host, port: 7001, user: 'alice', from: client });
  t.deepEqual(r.reply, { code: 92, port: 0, address: '0.0.0.0' });
  t.true(await closedWithin(r.socket, 10_000));
  t.deepEqual(s.commands, [`echo noid ${client} unknown`]);
  const i = s.logs.findIndex((l) => l.startsWith('refused -- Connect from alice(unknown)@'));
  t.true(i >= 0);
  t.is(s.logs[i + 1], `cannot connect to identd on ${client}`);
  const other = await startEcho(t);
  await assertServes(t, s, other);
});

test('an identd that never answers is cut off by the identd timer and counts as unavailable', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'silent' });
  const echo = await startEcho(t, freshAddress(), 7001);
  const s = await startServer(t, { sockdConf: conf, identdPort, timers: { identd: 300 } });
  const started = Date.now();
  const pending = socks4({ proxy: s, dst: echo.host, port: 7001, user: 'alice', from: client });
  const other = await startEcho(t);
  await assertServes(t, s, other); // served while the first waits on identd
  const r = await pending;
  t.is(r.reply?.code, 92);
  t.true(Date.now() - started >= 250);
  await waitForLog(s, (l) => l === `cannot connect to identd on ${client}`);
  await assertServes(t, s, other);
});

test('identd naming another user refuses with 93: BAD_ID command, refused, *Alert* line', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'truthful' }, 'mallory');
  const echo = await startEcho(t, freshAddress(), 7002);
  const s = await startServer(t, { sockdConf: conf, identdPort });
  const r = await socks4({ proxy: s, dst: echo.host, port: 7002, user: 'alice', from: client });
  t.is(r.reply?.code, 93);
  t.deepEqual(s.commands, ['echo bad mallory claims alice']);
  const i = s.logs.findIndex((l) => l.startsWith('refused -- Connect from alice(mallory)@'));
  t.true(i >= 0);
  t.is(s.logs[i + 1], '*Alert*: real user is mallory, not alice');
  const other = await startEcho(t);
  await assertServes(t, s, other);
});

test('lenient identd that answers ERROR continues: NO_IDENTD then the line command, granted', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'error', error: 'NO-USER' });
  const echo = await startEcho(t, freshAddress(), 7002);
  const s = await startServer(t, { sockdConf: conf, identdPort });
  const r = await socks4({ proxy: s, dst: echo.host, port: 7002, user: 'alice', from: client });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  t.deepEqual(s.commands, [`echo noid ${client} unknown`, 'echo lenient alice unknown']);
  await waitForLog(s, (l) => l === `cannot connect to identd on ${client}`);
});

test('the global -I default applies to lines without ?= and never to deny lines', async (t) => {
  const client = await clientWithIdentd(t, { kind: 'down' });
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: 'deny *=eve ALL\npermit ALL\n',
    identdPort,
    identdDefault: 'strict',
  });
  const denied = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'eve', from: client });
  t.is(denied.reply?.code, 91);
  t.false(s.events.some((e) => e.type === 'identd'));
  const strict = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'bob', from: client });
  t.is(strict.reply?.code, 92);
});

test('an over-long expanded command is logged and skipped; the request continues', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: `permit ALL : echo ${'%u'.repeat(100)}\n` });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'x'.repeat(127) });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  await waitForLog(s, (l) => l === `shell command too long: echo ${'x'.repeat(25)}...`);
  t.deepEqual(s.commands, []);
});

test('a command without letters or digits is logged and not run', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL : ; |\n' });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  await waitForLog(s, (l) => l === 'error -- shell command "; |" contains no alphanumeric characters.');
});

test('a shell that cannot start is logged; a slow command stops being waited for after the timer', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: 'permit ALL eq 7004 : sleep 5\npermit ALL : true\n',
    timers: { shellCommand: 200 },
    commands: {
      run: async (cmd, o) => {
        if (cmd.startsWith('sleep')) {
          await new Promise((r) => setTimeout(r, o.timeoutMs));
          return { status: 'timeout' };
        }
        return { status: 'spawn-failed' };
      },
    },
  });
  const slowEcho = await startEcho(t, freshAddress(), 7004);
  const slow = await socks4({ proxy: s, dst: slowEcho.host, port: 7004 });
  t.is(slow.reply?.code, 90);
  await waitForLog(s, (l) => l === `shell command for pid ${process.pid} still running after 0.2 s`);
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 90);
  await waitForLog(s, (l) => l === `Cannot execute shell command for pid ${process.pid}`);
  slow.socket.destroy();
  r.socket.destroy();
});
