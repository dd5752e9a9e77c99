import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { Credentials, encodeRfc1929Request } from '../../../src/protocol/rfc1929.ts';
import { encodeSocks5Greeting, encodeSocks5Request } from '../../../src/protocol/socks5.ts';
import { launchRsockd, waitForLines } from './cli-launch.ts';
import { connectTcp, freshAddress, randomPort, readBytes, socks4 } from './helpers.ts';

// Hostile request values against the real rsockd over real sockets: a SOCKS 4 USERID, a SOCKS 4A
// name, an identd answer and RFC 1929 user names carrying newline, CR, ESC, DEL and NUL. The text
// log must keep one line per message with every control character visibly escaped; the JSON events
// must carry the values exactly (JSON escapes them itself).

const forgedLine = '2026-01-01T00:00:00.000Z rsockd[1]: connected -- Connect from root(root)@admin';
const hostileUser = `x\n${forgedLine}\x1b[2J\r`;
const hostileName = `evil\nforged.example\x1b]0;title\x07`;
const hostileIdentd = 'al\x1b[31mice\x7f';
const hostileRfc1929 = 'b\x00o\rb\x1b[1m';
const failedRfc1929 = `eve\n${forgedLine}`;

/** A raw RFC 1413 server on `host:port` answering every query with `user`. */
async function rawIdentd(t: ExecutionContext, host: string, port: number, user: string): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\n');
      if (end < 0) return;
      const ports = buf.slice(0, end).trim();
      s.end(Buffer.from(`${ports} : USERID : UNIX :${user}\r\n`, 'latin1'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
}

async function socks5Auth(
  proxy: { host: string; port: number },
  name: string,
  password: string,
): Promise<{ socket: Socket; status: number }> {
  const socket = await connectTcp(proxy.host, proxy.port);
  socket.on('error', () => {});
  socket.write(encodeSocks5Greeting([2]));
  await readBytes(socket, 2, 30_000);
  socket.write(encodeRfc1929Request(new Credentials(name, password)));
  const st = await readBytes(socket, 2, 30_000);
  return { socket, status: st[1] ?? -1 };
}

const ClassicLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rsockd\[\d+\]: /;
// Line ends excepted, nothing below U+0020, no DEL, no C1 control.
const RawControl = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

test('hostile USERIDs, 4A names, identd answers and RFC 1929 names are escaped in the text log and exact in JSON', async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), 'rsockd-hostile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const identdPort = randomPort();
  const client = freshAddress();
  await rawIdentd(t, client, identdPort, hostileIdentd);
  // 7001: identd must confirm the user; every other port: no rule, refused with the REQDESC.
  await writeFile(join(dir, 'sockd.conf'), 'permit ?=I 127.0.0.0 255.0.0.0 eq 7001\n', 'latin1');
  await writeFile(join(dir, 'passwd'), Buffer.from(`${hostileRfc1929}:{plain}pw\n`, 'latin1'));
  const events = join(dir, 'events.jsonl');
  const s = await launchRsockd(t, dir, [
    '--socks5',
    '--passwd',
    join(dir, 'passwd'),
    '--identd-port',
    String(identdPort),
    '--events',
    events,
  ]);
  const proxy = { host: s.host, port: s.port };
  const dst = freshAddress();

  const byUser = await socks4({ proxy, dst, port: 7003, user: hostileUser, replyTimeoutMs: 30_000 });
  t.is(byUser.reply?.code, 91);
  const byName = await socks4({
    proxy,
    dst,
    port: 7003,
    hostname: hostileName,
    user: 'u',
    replyTimeoutMs: 30_000,
  });
  t.is(byName.reply?.code, 91);
  const byIdentd = await socks4({
    proxy,
    dst,
    port: 7001,
    user: 'alice',
    from: client,
    replyTimeoutMs: 30_000,
  });
  t.is(byIdentd.reply?.code, 93);
  const ok = await socks5Auth(proxy, hostileRfc1929, 'pw');
  t.is(ok.status, 0);
  ok.socket.write(encodeSocks5Request({ command: 'connect', address: dst, port: 7003 }));
  t.is((await readBytes(ok.socket, 2, 30_000))[1], 2, 'refused by the rules');
  const bad = await socks5Auth(proxy, failedRfc1929, 'wrong');
  t.not(bad.status, 0);
  for (const c of [byUser, byName, byIdentd]) c.socket.destroy();
  ok.socket.destroy();
  bad.socket.destroy();

  const esc = (v: string) =>
    v.replace(/[\u0000-\u001f\\\u007f-\u009f]/g, (c) =>
      c === '\n'
        ? '\\n'
        : c === '\r'
          ? '\\r'
          : c === '\\'
            ? '\\\\'
            : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );
  const lines = await waitForLines(
    s.logFile,
    (ls) => ls.filter((l) => l.includes('refused --')).length >= 4 && ls.some((l) => l.includes('*Alert*')),
  );
  const text = await readFile(s.logFile, 'latin1');
  for (const line of lines) t.regex(line, ClassicLine, 'every line is one message of rsockd');
  t.false(RawControl.test(text), 'no raw control character in the text log');
  t.false(text.includes(`\n${forgedLine}`), 'the forged line never starts a line');
  t.true(lines.some((l) => l.includes(`refused -- Connect from ${esc(hostileUser)}(unknown)@`)));
  t.true(lines.some((l) => l.includes(`to ${esc(hostileName)} (7003)`)));
  t.true(lines.some((l) => l.endsWith(`*Alert*: real user is ${esc(hostileIdentd)}, not alice`)));
  t.true(lines.some((l) => l.includes(`refused -- Connect from ${esc(hostileRfc1929)}(unknown)@`)));
  t.true(
    esc(hostileRfc1929).includes('\\x00') && esc(hostileUser).includes('\\x1b'),
    'NUL and ESC are covered',
  );

  // JSON: one event per line, every hostile value exact. The events file is written apart from
  // the text log: wait for all five sessions' close events before reading it.
  await waitForLines(events, (ls) => ls.filter((l) => l.includes('"type":"close"')).length >= 5, 30_000);
  const parsed = (await readFile(events, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LabEvent);
  const requests = parsed.flatMap((e) => (e.type === 'request' ? [e] : []));
  t.true(requests.some((e) => e.user === hostileUser));
  t.true(requests.some((e) => e.dst.name === hostileName));
  t.true(requests.some((e) => e.user === hostileRfc1929));
  t.true(parsed.some((e) => e.type === 'identd' && e.user === hostileIdentd));
  t.true(parsed.some((e) => e.type === 'decision' && e.reason === 'auth-failed' && e.user === failedRfc1929));
});
