import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newId } from '../../../src/common/ids.ts';
import {
  dockerEngine,
  dockerRuntime,
  ensureImage,
  ImageLabel,
  listRuns,
  reapRuns,
} from '../../../src/runtime/docker/index.ts';
import { assertNothingLeft, dockerTest, echoTopology, root } from './support.ts';

const run = promisify(execFile);
const test = await dockerTest();

async function leftovers(runId: string) {
  return (await listRuns(await dockerEngine())).filter((r) => r.runId === runId);
}

async function iptablesMentions(runId: string): Promise<boolean | null> {
  try {
    const { stdout } = await run('iptables', ['-w', '-S']);
    return stdout.includes(`sockslab:${runId}`);
  } catch {
    return null; // no iptables here: nothing to check
  }
}

test.serial(
  'the host image is built locally under a content-hash tag and found again without a rebuild',
  async (t) => {
    const engine = await dockerEngine();
    const first = await ensureImage(engine);
    t.regex(first, /^sockslab\/host:[0-9a-f]{16}$/);
    const before = await engine.dockerode.getImage(first).inspect();
    const started = Date.now();
    t.is(await ensureImage(engine), first);
    // A lookup is a hash of dist/ and one inspect; a build is minutes. 15 s, not less: the engine
    // is shared with other labs' builds on a loaded machine.
    t.true(Date.now() - started < 15_000, 'a cached image took as long as a build');
    const info = await engine.dockerode.getImage(first).inspect();
    t.is(info.Id, before.Id, 'the tag still names the same image');
    t.is(info.Config.Labels?.[ImageLabel], 'host');
    t.deepEqual(info.Config.Entrypoint, ['/usr/bin/node', '/app/dist/cli/host-agent.js']);
  },
);

test.serial('a start that fails half-way removes every container and network it had created', async (t) => {
  const topology = echoTopology('dk-failed-start', 20, 2, 0);
  // Two hosts on one address: Docker refuses the second container after the first started.
  const clash = {
    ...topology,
    hosts: topology.hosts.map((h) =>
      h.name === 'h1' ? { ...h, interfaces: [{ network: 'a', address: '10.231.20.10' }] } : h,
    ),
  };
  const runId = `t${newId(5)}`;
  await t.throwsAsync(() => dockerRuntime.up(clash, { runId }));
  t.deepEqual(await leftovers(runId), []);
  t.not(await iptablesMentions(runId), true, 'iptables rules of the failed run were left behind');
});

test.serial('reap removes what a killed run left behind and spares a lab whose owner is alive', async (t) => {
  t.timeout(90_000);
  const liveTopology = echoTopology('dk-reap-live', 22, 1, 0);
  const live = await dockerRuntime.up(liveTopology);
  // Not under .docker-img: a parallel image build may be replacing that folder (seen in CI).
  const scriptDir = mkdtempSync(join(tmpdir(), 'sockslab-reap-'));
  try {
    const killedRun = `k${newId(5)}`;
    const script = join(scriptDir, 'reap-child.mts');
    writeFileSync(
      script,
      `import { dockerRuntime } from ${JSON.stringify(join(root, 'src/runtime/docker/index.ts'))};
import { echoTopology } from ${JSON.stringify(join(root, 'test/integration/docker/topologies.ts'))};
await dockerRuntime.up(echoTopology('dk-reap-killed', 24, 2, 1), { runId: ${JSON.stringify(killedRun)} });
console.log('up');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import=tsx', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('up') && resolve());
      child.once('exit', (code) =>
        reject(new Error(`the lab process exited with ${code} before its lab was up`)),
      );
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    t.is((await leftovers(killedRun)).length, 1, 'the killed run should have left its lab behind');

    const dry = await run(process.execPath, ['--import=tsx', 'src/cli/sockslab.ts', 'reap', '--dry-run'], {
      cwd: root,
    });
    t.regex(
      dry.stdout,
      new RegExp(
        `would remove docker run ${killedRun} \\(dk-reap-killed, owner pid \\d+\\): 3 containers, 2 networks`,
      ),
    );
    t.notRegex(dry.stdout, new RegExp(live.runId));
    t.is((await leftovers(killedRun)).length, 1, 'a dry run removed something');

    const reaped = await reapRuns(await dockerEngine());
    t.true(reaped.some((r) => r.runId === killedRun));
    t.false(
      reaped.some((r) => r.runId === live.runId),
      'reap removed a lab whose owner is alive',
    );
    t.deepEqual(await leftovers(killedRun), []);
    t.not(await iptablesMentions(killedRun), true);
    t.is((await leftovers(live.runId)).length, 1);
  } finally {
    await live.down();
    rmSync(scriptDir, { recursive: true, force: true });
  }
  t.deepEqual(await leftovers(live.runId), []);
});

test.serial('sockslab down removes a lab by its run id', async (t) => {
  const lab = await dockerRuntime.up(echoTopology('dk-down', 26, 1, 0));
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import=tsx', 'src/cli/sockslab.ts', 'down', lab.runId],
      {
        cwd: root,
      },
    );
    t.regex(stdout, new RegExp(`down ${lab.runId}: 2 containers, 2 networks removed`));
    t.deepEqual(await leftovers(lab.runId), []);
  } finally {
    await lab.down();
  }
});

const servedYaml = `name: dk-served
networks:
  lan: { subnet: 10.231.28.0/24 }
  out: { subnet: 10.231.29.0/24 }
hosts:
  C:
    role: client
    addresses: { lan: 10.231.28.10 }
    users: { x: 1001 }
    identd: truthful
    socks.conf: |
      sockd @=10.231.28.1 0.0.0.0 0.0.0.0
  S:
    role: sockd
    addresses: { lan: 10.231.28.1, out: 10.231.29.1 }
    server:
      user: nobody
      sockd.conf: |
        permit ?=I *=x 10.231.28.0 255.255.255.0
        deny 0.0.0.0 0.0.0.0
  z:
    role: echo
    addresses: { out: 10.231.29.10 }
    echo: [7]
`;

test.serial(
  'a lab that sockslab up serves on Docker answers sockslab probe and goes away with sockslab down',
  async (t) => {
    t.timeout(90_000);
    const dir = mkdtempSync(join(tmpdir(), 'sockslab-served-'));
    const yaml = join(dir, 'served.yaml');
    writeFileSync(yaml, servedYaml);
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import=tsx', 'src/cli/sockslab.ts', ...args], { cwd: root, timeout: 60_000 });
    const up = spawn(
      process.execPath,
      ['--import=tsx', 'src/cli/sockslab.ts', 'up', yaml, '--runtime', 'docker', '--state-dir', dir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    up.stdout.on('data', (b: Buffer) => (output += b.toString()));
    up.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (!output.includes('is up (runtime docker')) return;
          clearInterval(timer);
          resolve();
        }, 100);
        void exited.then((code) => {
          clearInterval(timer);
          reject(new Error(`sockslab up exited ${code}: ${output}`));
        });
      });
      const runId = /run ([0-9a-f]+)\)/.exec(output)?.[1] ?? '';
      t.is((await leftovers(runId)).length, 1);

      const probe = await cli(
        'probe',
        yaml,
        '--state-dir',
        dir,
        '--from',
        'C',
        '--user',
        'x',
        '--connect',
        'z:7',
        '--send',
        'hi',
        '--json',
      );
      const result = JSON.parse(probe.stdout) as { outcome: { reply: number; received: string } };
      t.like(result.outcome, { reply: 90, received: 'hi' });

      const down = await cli('down', '--state-dir', dir);
      t.regex(down.stdout, new RegExp(`down dk-served \\(runtime docker, run ${runId}\\)`));
      t.is(await exited, 0);
      t.deepEqual(await leftovers(runId), []);
    } finally {
      up.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.after.always(
  'nothing this file created is left behind: containers, networks, dangling images',
  async (t) => {
    await assertNothingLeft(t);
    const dangling = await (await dockerEngine()).dockerode.listImages({
      filters: { dangling: ['true'], label: [ImageLabel] },
    });
    t.deepEqual(
      dangling.map((i) => i.Id),
      [],
      'image builds left untagged images',
    );
  },
);
