import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { dockerEngine, ensureBaseImage } from '../../../src/runtime/docker/index.ts';
import { dockerTest, root } from '../docker/support.ts';
import { containerClientScript } from './container-client.ts';
import { packedTarball } from './pack.ts';

/**
 * Issue 18.2: the Dockerfile. Built against the local engine on a base made FROM scratch from this
 * machine's node (no registry is reachable: the lab's own base image stands in for the official
 * Node image through `--build-arg BASE`), then smoke-tested: rsockd from the image, with its rule
 * files mounted read-only, serves one SOCKS 4 and one SOCKS 5 CONNECT from a client container to
 * an echo container, all on an internal network this test creates, and stops cleanly on SIGTERM.
 * Everything is labelled with this run's id and removed by id at the end.
 */

const test = await dockerTest();
const run = randomBytes(4).toString('hex');
const label = `sockslab.ship=${run}`;

async function docker(args: readonly string[], timeout = 120_000) {
  const r = await execa('docker', args, { reject: false, all: true, timeout });
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.exitCode}):\n${r.all}`);
  return r.stdout.trim();
}

/** An internal network with a subnet of its own (retried when another network holds the range). */
async function internalNetwork(t: ExecutionContext): Promise<{ id: string; prefix: string }> {
  for (let attempt = 0; ; attempt++) {
    const prefix = `172.30.${Math.floor(Math.random() * 250) + 2}`;
    const r = await execa(
      'docker',
      [
        'network',
        'create',
        '--internal',
        '--subnet',
        `${prefix}.0/24`,
        '--label',
        label,
        `sockslab-ship-${run}`,
      ],
      { reject: false, all: true },
    );
    if (r.exitCode === 0) {
      const id = r.stdout.trim();
      t.teardown(() => execa('docker', ['network', 'rm', id], { reject: false }).then(() => undefined));
      return { id, prefix };
    }
    if (!/overlap/i.test(r.all ?? '') || attempt > 8)
      throw new Error(`docker network create failed:\n${r.all}`);
  }
}

test('the image built from the Dockerfile serves SOCKS 4 and SOCKS 5 as a non-root user and stops cleanly on SIGTERM', async (t) => {
  t.timeout(15 * 60_000);
  const tarball = await packedTarball();
  const base = await ensureBaseImage(await dockerEngine());

  // The build context as a user has it after `npm pack`: the Dockerfile, .dockerignore, the tarball.
  const context = await fs.mkdtemp(join(tmpdir(), 'sockslab-image-'));
  t.teardown(() => fs.rm(context, { recursive: true, force: true }));
  for (const f of ['Dockerfile', '.dockerignore']) await fs.copyFile(join(root, f), join(context, f));
  await fs.copyFile(tarball, join(context, 'sockslab-0.0.0-test.tgz'));
  const tag = `sockslab/rsockd-smoke:${run}`;
  // The classic builder keeps the first stage as an untagged (dangling) image. Building that stage
  // under a tag of its own first (the full build then reuses it from the cache) leaves nothing
  // untagged, and both tags are removed at the end.
  const stageTag = `sockslab/rsockd-smoke-package:${run}`;
  t.teardown(() => execa('docker', ['rmi', stageTag], { reject: false }).then(() => undefined));
  await docker(
    ['build', '--quiet', '--build-arg', `BASE=${base}`, '--target', 'package', '-t', stageTag, context],
    10 * 60_000,
  );
  await docker(
    ['build', '--quiet', '--build-arg', `BASE=${base}`, '--label', label, '-t', tag, context],
    10 * 60_000,
  );
  const imageId = await docker(['image', 'inspect', '-f', '{{.Id}}', tag]);
  t.teardown(() => execa('docker', ['rmi', tag], { reject: false }).then(() => undefined));
  t.is(await docker(['image', 'inspect', '-f', '{{.Config.User}}', imageId]), '65532:65532');
  // Only the package reached the final stage: no tarball, no sources, no dev dependency.
  const listing = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--label',
    label,
    '--entrypoint',
    'node',
    imageId,
    '-e',
    "const fs=require('fs');console.log(JSON.stringify({app:fs.readdirSync('/opt/sockslab').sort(),unpack:fs.existsSync('/unpack'),ts:fs.existsSync('/opt/sockslab/node_modules/typescript')}))",
  ]);
  const seen = JSON.parse(listing) as { app: string[]; unpack: boolean; ts: boolean };
  t.false(seen.unpack, 'the unpacking stage stays out of the final image');
  t.false(seen.ts, 'no dev dependency in the image');
  t.false(seen.app.includes('src') || seen.app.includes('test'));
  t.true(seen.app.includes('dist') && seen.app.includes('node_modules'));

  const net = await internalNetwork(t);
  const ip = { rsockd: `${net.prefix}.2`, echo: `${net.prefix}.3`, client: `${net.prefix}.4` };
  const echoPort = 7007;
  const conf = await fs.mkdtemp(join(tmpdir(), 'sockslab-image-conf-'));
  t.teardown(() => fs.rm(conf, { recursive: true, force: true }));
  await fs.chmod(conf, 0o755);
  await fs.writeFile(
    join(conf, 'sockd.conf'),
    `permit ?=n ${net.prefix}.0 255.255.255.0 ${ip.echo} 255.255.255.255 eq ${echoPort}\ndeny 0.0.0.0 0.0.0.0\n`,
    { mode: 0o644 },
  );
  await fs.writeFile(join(conf, 'socks.conf'), 'direct 0.0.0.0 0.0.0.0\n', { mode: 0o644 });

  const containers: string[] = [];
  t.teardown(async () => {
    for (const id of containers) await execa('docker', ['rm', '-f', id], { reject: false });
  });
  const start = async (args: readonly string[]) => {
    const id = await docker(['run', '-d', '--label', label, '--network', net.id, ...args]);
    containers.push(id);
    return id;
  };
  await start([
    '--ip',
    ip.echo,
    '--entrypoint',
    'node',
    imageId,
    '-e',
    `require('node:net').createServer({allowHalfOpen:true},(s)=>{s.on('error',()=>{});s.pipe(s)}).listen(${echoPort})`,
  ]);
  const rsockd = await start(['--ip', ip.rsockd, '-v', `${conf}:/etc/rsockd:ro`, imageId]);
  const client = await start([
    '--ip',
    ip.client,
    '--entrypoint',
    'node',
    imageId,
    '-e',
    containerClientScript,
    ip.rsockd,
    ip.echo,
    String(echoPort),
  ]);
  t.is(await docker(['wait', client], 120_000), '0');
  const answer = JSON.parse(await docker(['logs', client])) as {
    socks4: { reply: number[] | null; echo: string | null; error: string | null };
    socks5: { method: number[] | null; reply: number[] | null; echo: string | null; error: string | null };
  };
  const serverLog = async () =>
    (await execa('docker', ['logs', rsockd], { reject: false, all: true })).all ?? '';
  if (answer.socks4.reply === null) t.log(`rsockd's log:\n${await serverLog()}`);
  t.is(answer.socks4.reply?.[1], 90, JSON.stringify(answer));
  t.is(answer.socks4.echo, 'socks4 through the image\n');
  t.deepEqual(answer.socks5.method, [5, 0]);
  t.deepEqual(answer.socks5.reply?.slice(0, 2), [5, 0], JSON.stringify(answer));
  t.is(answer.socks5.echo, 'socks5 through the image\n');

  // docker stop: SIGTERM, then SIGKILL after 30 s. A clean drain exits 0 well before that.
  await docker(['stop', '-t', '30', rsockd], 60_000);
  const state = JSON.parse(await docker(['inspect', '-f', '{{json .State}}', rsockd])) as {
    ExitCode: number;
    OOMKilled: boolean;
  };
  t.is(state.ExitCode, 0, 'rsockd exits 0 on SIGTERM (137 would mean it had to be killed)');
  const logs = await serverLog();
  t.is(logs.match(/connected -- Connect from/g)?.length, 2, logs);
  t.notRegex(logs, /not readable|cannot listen/, 'the mounted rule files were read as uid 65532');
});
