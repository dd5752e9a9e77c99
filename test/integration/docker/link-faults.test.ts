import type { TestFn } from 'ava';
import { execa } from 'execa';
import type { DockerLab } from '../../../src/runtime/docker/docker-lab.ts';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';
import { resolveLinkFault } from '../../../src/topology/link-faults.ts';
import { eventually } from '../../helpers/eventually.ts';
import { loadFaultTopology, runFaultKinds } from '../../helpers/link-fault-kinds.ts';
import { dockerTest } from './support.ts';

/**
 * Link faults in containers: the same table of fault kinds as local and netns, over real
 * sockets between containers, applied in each container's own network namespace; after each
 * heal its chains are empty and no delayer runs, and none outlives the lab.
 * Run under the heavy lock: `flock /work/wt/heavy.lock npx ava test/integration/docker/link-faults.test.ts`.
 */

const test = (await dockerTest()) as TestFn;
const topology = await loadFaultTopology();
const timeouts = {
  identd: 1500,
  upstreamConnect: 1500,
  establish: 8000,
  requestRead: 8000,
  identdRead: 1500,
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function chainRules(lab: DockerLab, host: string): Promise<string[]> {
  const pid = String(
    (await execa('docker', ['inspect', '-f', '{{.State.Pid}}', lab.containerId(host)])).stdout,
  ).trim();
  const out: string[] = [];
  for (const chain of ['SOCKSLAB-IN', 'SOCKSLAB-OUT']) {
    const r = await execa('nsenter', ['-t', pid, '-n', 'iptables', '-w', '-S', chain], { reject: false });
    out.push(
      ...String(r.stdout)
        .split('\n')
        .filter((l) => l.startsWith('-A ')),
    );
  }
  return out;
}

test.serial(
  'every kind of link fault acts on real connections between containers, and leaves nothing when healed',
  async (t) => {
    t.timeout(300_000);
    const lab = (await dockerRuntime.up(topology, { timeouts })) as DockerLab;
    try {
      t.log((await lab.faultSupport()).notes.join(', '));
      t.is((await chainRules(lab, 'z')).length, 2, "the topology's standing loss, one rule each way");
      await runFaultKinds(
        t,
        lab,
        (from, request) => lab.dial(from, 'root', request),
        async () => {
          for (const h of ['A1', 'A2', 'z'])
            t.deepEqual(await chainRules(lab, h), [], `${h}'s chains after healing`);
          t.deepEqual(lab.linkFaults.delayerPids(), [], 'no delayer after healing');
        },
      );
      await lab.setFaults([resolveLinkFault({ host: 'z', delay: 50 }, topology.hosts)]);
      const pids = lab.linkFaults.delayerPids();
      t.is(pids.length, 2);
      await lab.down();
      // They are signalled as the lab goes down and exit on their own time: a loaded machine
      // may take longer than any fixed pause.
      await eventually(() => !pids.some(alive), 'delayers end with the lab', 10_000).catch(() => {});
      t.deepEqual(pids.filter(alive), [], 'delayers end with the lab');
    } finally {
      await lab.down();
    }
  },
);
