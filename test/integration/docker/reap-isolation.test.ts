import type { TestFn } from 'ava';
import { execa } from 'execa';
import { removeIsolation } from '../../../src/runtime/docker/firewall.ts';
import type { DockerLab } from '../../../src/runtime/docker/index.ts';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';
import { assertNothingLeft, dockerTest, echoTopology } from './support.ts';

/**
 * The isolation rules of a lab that is up are not swept by a reap that does not know the lab: a
 * `reap` against another engine (DOCKER_HOST) lists only that engine's runs, and it used to
 * delete every other tagged rule on the machine, so a lab running on the default engine lost its
 * isolation mid-run (CI: a cut network answered ETIMEDOUT instead of ENETUNREACH).
 */
const test = (await dockerTest()) as TestFn;

async function rulesOf(runId: string): Promise<number> {
  let n = 0;
  for (const chain of ['DOCKER-USER', 'INPUT']) {
    const { stdout } = await execa('iptables', ['-w', '-S', chain]);
    n += stdout.split('\n').filter((l) => l.includes(`sockslab:${runId}`)).length;
  }
  return n;
}

test('a sweep of orphaned isolation rules leaves those of a lab whose networks are still up', async (t) => {
  const lab = (await dockerRuntime.up(echoTopology('dk-reap-iso', 28, 1, 0))) as DockerLab;
  try {
    const before = await rulesOf(lab.runId);
    t.true(before > 0, 'the lab installed isolation rules');
    // What a reap of an engine that does not list this run does: no run of its own to keep.
    await removeIsolation(null, () => false);
    t.is(await rulesOf(lab.runId), before, "the running lab's rules are still there");
  } finally {
    await lab.down();
  }
  t.is(await rulesOf(lab.runId), 0, 'down removed them');
  await assertNothingLeft(t);
});
