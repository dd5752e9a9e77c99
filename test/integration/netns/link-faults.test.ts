import { execa } from 'execa';
import { netnsRuntime } from '../../../src/runtime/netns/index.ts';
import type { NetnsLab } from '../../../src/runtime/netns/netns-lab.ts';
import { resolveLinkFault } from '../../../src/topology/link-faults.ts';
import { eventually } from '../../helpers/eventually.ts';
import { faultKindCases, loadFaultTopology, runFaultKinds } from '../../helpers/link-fault-kinds.ts';
import { namespacesWith, netnsTest, shortTimeouts } from './support.ts';

/**
 * Link faults on real kernel namespaces: every kind over real sockets (plain TCP from inside a
 * host), the delay by NFQUEUE on this kernel (no netem), and nothing left behind — no rule in
 * the lab's chains and no delayer process after a fault is healed or the lab is down.
 * Run under the heavy lock: `flock /work/wt/heavy.lock npx ava test/integration/netns/link-faults.test.ts`.
 */

const test = await netnsTest();
const topology = await loadFaultTopology();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function chainRules(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const chain of ['SOCKSLAB-IN', 'SOCKSLAB-OUT']) {
    const r = await execa('ip', ['netns', 'exec', ns, 'iptables', '-w', '-S', chain], { reject: false });
    out.push(
      ...String(r.stdout)
        .split('\n')
        .filter((l) => l.startsWith('-A ')),
    );
  }
  return out;
}

test.serial(
  'every kind of link fault acts on real connections between namespaces, and leaves nothing when healed',
  async (t) => {
    t.timeout(240_000);
    const lab = (await netnsRuntime.up(topology, { timeouts: shortTimeouts })) as NetnsLab;
    try {
      const support = await lab.faultSupport();
      t.log(support.notes.join(', '));
      t.truthy(support.delay, 'a delay mechanism on this kernel');
      // The standing loss of the topology is in z's chains from the start, one rule each way.
      t.is((await chainRules(lab.namespaceOf('z'))).length, 2);
      await runFaultKinds(
        t,
        lab,
        (from, request) => lab.dial(from, 'root', request),
        async () => {
          for (const h of topology.hosts)
            t.deepEqual(await chainRules(lab.namespaceOf(h.name)), [], `${h.name}'s chains after healing`);
          t.deepEqual(lab.linkFaults.delayerPids(), [], 'no delayer after healing');
        },
      );
      t.true(faultKindCases.length >= 10);
      // A delay in force while the lab goes down: its delayer goes with it.
      await lab.setFaults([resolveLinkFault({ host: 'z', delay: 50 }, topology.hosts)]);
      const pids = lab.linkFaults.delayerPids();
      t.is(pids.length, 2, 'one delayer per direction');
      t.true(pids.every(alive));
      await lab.down();
      // They are signalled as the lab goes down and exit on their own time: a loaded machine
      // may take longer than any fixed pause.
      await eventually(() => !pids.some(alive), 'delayers end with the lab', 10_000).catch(() => {});
      t.deepEqual(pids.filter(alive), [], 'delayers end with the lab');
      t.deepEqual(await namespacesWith(lab.plan.prefix), []);
    } finally {
      await lab.down();
    }
  },
);
