import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  allCases,
  scenarioDirectory,
  scenarioPlace,
  selectScenarios,
} from '../../../src/scenario/discover.ts';
import { seedCascade } from '../../helpers/seed-topology.ts';

const file = (topology: string, cases: string) =>
  `# yaml-language-server: $schema=scenario.schema.json\ntopology: ${topology}\ncases:\n${cases}`;
const seedCase = (name: string, tags: string) =>
  `  - { name: ${name}, tags: [${tags}], from: C, user: x, connect: "z:7", expect: {} }\n`;

async function scratch(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-discover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'a-seed.yaml'),
    file('seed-cascade', seedCase('one', 'granted') + seedCase('two', 'denial, identd')),
  );
  await writeFile(
    join(dir, 'b-other.yaml'),
    file('campus', '  - { name: x, from: nowhere, user: y, connect: "q:1", expect: {} }\n'),
  );
  await writeFile(join(dir, 'c-seed.yml'), file('seed-cascade.yaml', seedCase('three', 'identd')));
  return dir;
}

test('without scenario arguments, every file in the directory naming the topology is used, named relative to cwd', async (t) => {
  const dir = await scratch(t);
  const scenarios = await selectScenarios(await seedCascade(), { directory: dir, cwd: dir });
  t.deepEqual(
    scenarios.map((s) => s.file),
    ['a-seed.yaml', 'c-seed.yml'],
  );
  t.deepEqual(
    allCases(scenarios).map((c) => c.name),
    ['one', 'two', 'three'],
  );
});

test('--tags keeps only cases carrying one of the tags', async (t) => {
  const dir = await scratch(t);
  const scenarios = await selectScenarios(await seedCascade(), {
    directory: dir,
    cwd: dir,
    tags: ['identd'],
  });
  t.deepEqual(
    allCases(scenarios).map((c) => c.name),
    ['two', 'three'],
  );
});

test('a directory with no scenario for the topology is invalid input', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-discover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(selectScenarios(await seedCascade(), { directory: dir, cwd: dir }));
  t.is((err as { code?: string }).code, 'E_SCENARIO_NONE');
});

test('a topology in a topologies/ directory has its scenarios in the sibling scenarios/, wherever the command runs', (t) => {
  t.deepEqual(scenarioPlace('/opt/lab/topologies/seed-cascade.yaml'), {
    directory: '/opt/lab/scenarios',
    pattern: /\.ya?ml$/,
  });
});

test('any other topology has its scenarios beside it as *.scenario.yaml, so its sibling topologies are not read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-discover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const place = scenarioPlace(join(dir, 'lab.yaml'));
  t.is(place.directory, dir);
  await writeFile(join(dir, 'lab.yaml'), 'name: seed-cascade\nnot: a scenario\n');
  await writeFile(join(dir, 'lab.scenario.yaml'), file('seed-cascade', seedCase('beside', 'granted')));
  const scenarios = await selectScenarios(await seedCascade(), { ...place, cwd: dir });
  t.deepEqual(
    scenarios.map((s) => s.file),
    ['lab.scenario.yaml'],
  );
});

test('--scenario-dir, when given, is taken relative to the current directory and every YAML file in it counts', (t) => {
  t.deepEqual(scenarioDirectory('/opt/lab/topologies/x.yaml', 'mine', '/home/u'), {
    directory: '/home/u/mine',
    pattern: /\.ya?ml$/,
  });
  t.is(scenarioDirectory('/opt/lab/topologies/x.yaml', undefined, '/home/u').directory, '/opt/lab/scenarios');
});
