import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test, { type TestFn } from 'ava';
import {
  type DockerEngine,
  dockerEngine,
  ImageLabel,
  LabLabel,
  listRuns,
} from '../../../src/runtime/docker/index.ts';
import { type SecondEngine, secondEngineUnavailable, startSecondEngine } from './second-engine.ts';
import { dockerTest, requireAll, root } from './support.ts';

/**
 * Issue 18.5, remote engines: with DOCKER_HOST naming another engine (a second dockerd this file
 * starts on its own socket, reached as unix:// and as tcp://127.0.0.1), `sockslab up`, `run`,
 * `probe`, `reap` build the image there (FROM scratch, on an engine that has nothing), put every
 * container and network there and nothing on the machine's engine, and sweep by label there.
 */

const docker = (await dockerTest()) as TestFn<{ second: SecondEngine }>;
const missing = secondEngineUnavailable();
const it: TestFn<{ second: SecondEngine }> = (() => {
  if (missing === null) return docker;
  if (requireAll) {
    test('a second Docker engine can be started here (SOCKSLAB_REQUIRE_ALL=1)', (t) => {
      t.fail(`cannot start a second dockerd: ${missing}`);
    });
  } else console.log(`skipping remote engine tests: ${missing}`);
  return test.skip as unknown as TestFn<{ second: SecondEngine }>;
})();

const run = promisify(execFile);
const topologyName = `remote-${process.pid}`;
const yaml = `name: ${topologyName}
networks:
  lan: { subnet: 10.231.40.0/24 }
  out: { subnet: 10.231.41.0/24 }
hosts:
  C:
    role: client
    addresses: { lan: 10.231.40.10 }
    users: { x: 1001, y: 1002 }
    identd: truthful
    socks.conf: |
      sockd @=10.231.40.1 0.0.0.0 0.0.0.0
  S:
    role: sockd
    addresses: { lan: 10.231.40.1, out: 10.231.41.1 }
    server:
      user: nobody
      sockd.conf: |
        permit ?=I *=x 10.231.40.0 255.255.255.0
        deny 0.0.0.0 0.0.0.0
  z:
    role: echo
    addresses: { out: 10.231.41.10 }
    echo: [7]
`;
const scenario = `topology: ${topologyName}
defaults: { timeout: 10s }
cases:
  - name: x reaches z through S, confirmed by identd on C
    from: C
    user: x
    connect: z:7
    send: "over the other engine\\n"
    expect:
      reply: granted
      path: [C, S, z]
      rules: [{ host: S, file: sockd.conf, line: 1, action: permit }]
      identd: { S: { queried: C, user: x, verdict: confirmed } }
      echo: true
  - name: y is refused by S's last line
    from: C
    user: y
    connect: z:7
    expect:
      reply: rejected
      path: [C, S]
      rules: [{ host: S, file: sockd.conf, line: 2, action: deny }]
`;

let dir = '';

it.before(async (t) => {
  dir = mkdtempSync(join(tmpdir(), 'sockslab-remote-'));
  writeFileSync(join(dir, 'remote.yaml'), yaml);
  writeFileSync(join(dir, 'remote.scenario.yaml'), scenario);
  t.context.second = await startSecondEngine();
});

it.after.always(async (t) => {
  await t.context.second?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** sockslab with DOCKER_HOST set to `host` (or unset with null). */
function sockslab(host: string | null, args: readonly string[], timeout = 150_000) {
  const env = { ...process.env };
  if (host === null) delete env.DOCKER_HOST;
  else env.DOCKER_HOST = host;
  return run(process.execPath, ['--import=tsx', 'src/cli/sockslab.ts', ...args], { cwd: root, env, timeout });
}

async function labelled(engine: DockerEngine, label: string) {
  const filters = { label: [label] };
  const [containers, networks] = await Promise.all([
    engine.dockerode.listContainers({ all: true, filters }),
    engine.dockerode.listNetworks({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length };
}

it.serial(
  'sockslab up on DOCKER_HOST=unix://… builds the image there and puts the whole lab there, none of it on the default engine; reap finds it by the state file',
  async (t) => {
    t.timeout(240_000);
    const { second } = t.context;
    const builtBefore = await second.engine.dockerode.listImages({ filters: { label: [ImageLabel] } });
    t.deepEqual(builtBefore, [], 'the second engine should start without images');
    const up = spawn(
      process.execPath,
      [
        '--import=tsx',
        'src/cli/sockslab.ts',
        'up',
        join(dir, 'remote.yaml'),
        '--runtime',
        'docker',
        '--state-dir',
        dir,
      ],
      { cwd: root, env: { ...process.env, DOCKER_HOST: second.unixHost }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    up.stdout.on('data', (b: Buffer) => (output += b.toString()));
    up.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (!output.includes(' is up (runtime docker')) return;
          clearInterval(timer);
          resolve();
        }, 100);
        void exited.then((code) => {
          clearInterval(timer);
          reject(new Error(`sockslab up exited ${code}: ${output}`));
        });
      });
      const runId = /run ([0-9a-f]+)\)/.exec(output)?.[1] ?? '';
      t.regex(output, new RegExp(`on engine ${second.unixHost.replaceAll('/', '\\/')};`));
      const state = JSON.parse(readFileSync(join(dir, `${topologyName}.json`), 'utf8')) as {
        engine?: string;
      };
      t.is(state.engine, second.unixHost, 'the state file records the engine the lab lives on');

      const run = `${LabLabel.run}=${runId}`;
      t.deepEqual(await labelled(second.engine, run), { containers: 3, networks: 2 });
      t.deepEqual(await labelled(await dockerEngine(), run), { containers: 0, networks: 0 });
      const images = await second.engine.dockerode.listImages({ filters: { label: [ImageLabel] } });
      t.deepEqual(
        images
          .flatMap((i) => i.RepoTags ?? [])
          .map((tag) => tag.split(':')[0])
          .sort(),
        ['sockslab/base', 'sockslab/host'],
        'the base and host images are built on the second engine',
      );

      // A probe through the served lab (control endpoint on 127.0.0.1, containers on the second engine).
      const probe = await sockslab(null, [
        'probe',
        join(dir, 'remote.yaml'),
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
      ]);
      t.like((JSON.parse(probe.stdout) as { outcome: unknown }).outcome, { reply: 90, received: 'hi' });

      // The `up` process dies without tearing down: its state file still names the engine, so a
      // reap from a shell without DOCKER_HOST looks there too.
      up.kill('SIGKILL');
      await exited;
      t.deepEqual(await labelled(second.engine, run), { containers: 3, networks: 2 });
      const dry = await sockslab(null, ['reap', '--dry-run', '--state-dir', dir]);
      t.regex(
        dry.stdout,
        new RegExp(
          `would remove docker run ${runId} on ${second.unixHost.replaceAll('/', '\\/')} \\(${topologyName}, owner pid \\d+\\): 3 containers, 2 networks`,
        ),
      );
      // The real sweep only on the second engine (DOCKER_HOST there): the default engine holds
      // other people's labs.
      const reaped = await sockslab(second.unixHost, ['reap', '--state-dir', dir]);
      t.regex(reaped.stdout, new RegExp(`removed docker run ${runId} on `));
      t.deepEqual(await labelled(second.engine, `${LabLabel.lab}=true`), { containers: 0, networks: 0 });
    } finally {
      up.kill('SIGKILL');
    }
  },
);

it.serial(
  'sockslab run on DOCKER_HOST=tcp://127.0.0.1:… runs the cases on the second engine and sweeps it clean by label',
  async (t) => {
    t.timeout(180_000);
    const { second } = t.context;
    const since = Math.floor(Date.now() / 1000) - 1;
    const reports = join(dir, 'reports');
    const result = await sockslab(second.tcpHost, [
      'run',
      join(dir, 'remote.yaml'),
      '--runtime',
      'docker',
      '--report-dir',
      reports,
    ]);
    const report = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8')) as {
      cases: { name: string; verdict: string }[];
    };
    t.deepEqual(
      report.cases.map((c) => [c.name, c.verdict]),
      [
        ['x reaches z through S, confirmed by identd on C', 'pass'],
        ["y is refused by S's last line", 'pass'],
      ],
      result.stdout,
    );
    const until = Math.floor(Date.now() / 1000) + 1;
    const created = async (engine: DockerEngine) => {
      const stream = await engine.dockerode.getEvents({
        since,
        until,
        filters: { type: ['container'], event: ['create'], label: [`${LabLabel.topology}=${topologyName}`] },
      });
      const text = await new Promise<string>((resolve) => {
        let all = '';
        stream.on('data', (b: Buffer) => (all += b.toString()));
        stream.on('end', () => resolve(all));
      });
      return text.split('\n').filter((l) => l.trim()).length;
    };
    t.is(await created(second.engine), 3, 'the three hosts were created on the second engine');
    t.is(await created(await dockerEngine()), 0, 'nothing of the lab was created on the default engine');
    t.deepEqual(await labelled(second.engine, `${LabLabel.lab}=true`), { containers: 0, networks: 0 });
    t.deepEqual(
      (await listRuns(await dockerEngine())).filter((r) => r.topology === topologyName),
      [],
    );
  },
);
