import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { nodeNet } from '../../../src/net/node-net.ts';
import { HostAgent, sendControl } from '../../../src/runtime/agent/host-agent.ts';
import type { AgentLine } from '../../../src/runtime/agent-protocol.ts';
import type { HostSpec } from '../../../src/runtime/host-spec.ts';
import { ensureBuilt, root } from './support.ts';

/**
 * The host agent outside any container, on 127.0.0.1 with high ports: the real sockd CLI as its
 * child, the fake identd answering from this machine's /proc/net/tcp, an echo service, and the
 * control socket. No Docker needed.
 */

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** One SOCKS 4 CONNECT to 127.0.0.1:port as `user`: the reply code, and what came back for `send`. */
function socks4(
  proxy: number,
  port: number,
  user: string,
  send: string,
): Promise<{ code: number; echo: string }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port: proxy });
    let buf = Buffer.alloc(0);
    let code: number | undefined;
    s.on('error', reject);
    s.on('connect', () => {
      const head = Buffer.from([4, 1, port >> 8, port & 255, 127, 0, 0, 1]);
      s.write(Buffer.concat([head, Buffer.from(user), Buffer.from([0])]));
    });
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (code === undefined && buf.length >= 8) {
        code = buf[1] ?? 0;
        buf = buf.subarray(8);
        if (code === 90) s.write(send);
        else s.end();
      }
      if (code === 90 && buf.length >= send.length) s.end();
    });
    s.on('close', () => resolve({ code: code ?? -1, echo: buf.toString() }));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test.serial(
  'the agent runs the server as a child, answers identd from /proc/net/tcp and obeys control',
  async (t) => {
    t.timeout(60_000);
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'sockslab-agent-'));
    const [socksPort, identdPort, echoPort] = [await freePort(), await freePort(), await freePort()];
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const spec: HostSpec = {
      version: 1,
      runId: 'agent-test',
      topology: 'agent-test',
      host: 'B',
      users: [{ name: 'me', uid }],
      files: [
        {
          path: join(dir, 'sockd.conf'),
          text: 'permit ?=I *=me 127.0.0.0 255.0.0.0\ndeny 0.0.0.0 0.0.0.0\n',
          mode: 0o644,
        },
        { path: join(dir, 'hosts'), text: '127.0.0.1 B\n', mode: 0o644 },
      ],
      server: {
        kind: 'sockd',
        owner: 'me',
        uid,
        gid,
        port: socksPort,
        argv: [
          '--standalone',
          '--listen',
          '127.0.0.1',
          '--port',
          String(socksPort),
          '--conf',
          'sockd.conf',
          '--route',
          'sockd.route',
          '--identd-port',
          String(identdPort),
          '--hosts',
          join(dir, 'hosts'),
          '--pidfile',
          join(dir, 'pid'),
          '--log',
          'stderr',
          '--events',
          join(dir, 'events.jsonl'),
          '--timeout-identd',
          // Only granted and mismatch cases here: the timer must never fire, even on a loaded machine.
          '10',
        ],
      },
      identd: { port: identdPort, behaviour: { kind: 'truthful' } },
      echo: [{ port: echoPort, kind: 'echo' }],
      directory: [{ name: 'B', interfaces: [{ network: 'lo', address: '127.0.0.1' }] }],
    };
    const lines: AgentLine[] = [];
    const control = join(dir, 'agent.sock');
    const agent = new HostAgent(spec, {
      net: nodeNet,
      write: (l) => lines.push(l),
      controlPath: control,
      serverScript: (kind) => join(root, 'dist/cli', `${kind}.js`),
      eventsFile: join(dir, 'events.jsonl'),
      configDir: dir,
      listenHost: '127.0.0.1',
    });
    const events = () => lines.flatMap((l) => (l.k === 'event' ? [l.e] : []));
    const waitFor = async (pred: (e: LabEvent) => boolean) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !events().some(pred)) await new Promise((r) => setTimeout(r, 20));
      return events().find(pred);
    };
    try {
      await agent.start();
      t.like(
        lines.find((l) => l.k === 'ready'),
        { k: 'ready', services: ['sockd', 'identd', `echo:${echoPort}`] },
      );

      const granted = await socks4(socksPort, echoPort, 'me', 'hello');
      t.deepEqual(granted, { code: 90, echo: 'hello' });
      const verdict = await waitFor((e) => e.type === 'identd' && e.service === 'sockd');
      t.like(verdict, { host: 'B', verdict: 'confirmed', user: 'me' }, 'identd named the real owner');
      t.truthy(await waitFor((e) => e.type === 'echo' && e.host === 'B' && e.bytes === 5));

      t.deepEqual(
        await sendControl({ op: 'identd', behaviour: { kind: 'lying', user: 'mallory' } }, control),
        {
          ok: true,
        },
      );
      t.is((await socks4(socksPort, echoPort, 'me', 'x')).code, 93);

      const broken = await sendControl(
        { op: 'config', file: 'sockd.conf', text: 'permit ?=X 127.0.0.0 255.0.0.0\n' },
        control,
      );
      t.like(broken, { ok: true, reloaded: false });
      t.regex(broken.ok ? (broken.error ?? '') : '', /\S/, 'the server said why it kept its rules');
      const fixed = await sendControl(
        { op: 'config', file: 'sockd.conf', text: 'deny 0.0.0.0 0.0.0.0\n' },
        control,
      );
      t.deepEqual(fixed, { ok: true, reloaded: true });
      t.is((await socks4(socksPort, echoPort, 'me', 'x')).code, 91, 'the reloaded rules apply');

      t.deepEqual(await sendControl({ op: 'stop' }, control), { ok: true });
      t.true(await refused(socksPort));
      t.true(await refused(echoPort));
      t.true(await refused(identdPort));
      t.deepEqual(await sendControl({ op: 'start' }, control), { ok: true });
      t.false(await refused(socksPort));
      t.false(await refused(echoPort));
    } finally {
      await agent.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
    t.true(await refused(socksPort), 'the server outlived the agent');
  },
);
