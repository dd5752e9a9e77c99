import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { requestClasses } from '../../../src/analysis/classes.ts';
import { buildMatrix, verdictOf } from '../../../src/analysis/matrix.ts';
import { predictRequest } from '../../../src/analysis/predict.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { memberArbitrary, requestArbitrary } from '../../helpers/class-requests.ts';
import { topologiesDir, upReference } from './lab-helpers.ts';

/**
 * The request classes against real sockets: random requests of each reference topology (a
 * bounded number, fixed seeds), each sent on the local runtime; the reply the origin gets and
 * its socks.conf route must be what the request's class predicts (its witness, through
 * predictRequest). Some requests are drawn from the whole space, the others are random members
 * of classes drawn verdict by verdict (granted classes are few, and must be seen live too).
 * Claims stay honest: on this branch the runtimes send the owner's USERID.
 */

const Runs = 24;
const PerVerdict = 4;
const References = ['seed-cascade', 'campus', 'failover', 'multihomed-bind'] as const;

for (const name of References) {
  test.serial(
    `${name}: what the local runtime observes is what each random request's class predicts`,
    async (t) => {
      t.timeout(180_000);
      const { topology, configs } = await loadTopologyWithConfigs(path.join(topologiesDir, `${name}.yaml`));
      const world = new LabWorld(topology, configs);
      const space = requestClasses(world);
      const rows = (await buildMatrix(world)).rows.filter((r) => r.user.kind !== 'forged');
      const byVerdict = new Map<string, string[]>();
      for (const r of rows) byVerdict.set(r.verdict, [...(byVerdict.get(r.verdict) ?? []), r.id]);
      const picked = new Set(
        [...byVerdict.values()].flatMap((ids) =>
          fc.sample(fc.constantFrom(...ids), { numRuns: PerVerdict, seed: 113 }),
        ),
      );
      const classes = [...space.classes()].filter((c) => picked.has(c.id));
      const requests = [
        ...fc.sample(requestArbitrary(space, world), { numRuns: Runs, seed: 1413 }),
        ...fc
          .sample(memberArbitrary(space, world, classes), { numRuns: classes.length * 2, seed: 1928 })
          .map((m) => m.request),
      ].map((r): ProbeRequest => {
        const { claim: _claim, ...honest } = r;
        return { ...honest, timeoutMs: 5000 };
      });
      const lab = await upReference(name);
      const verdicts = new Set<string>();
      try {
        for (const request of requests) {
          const c = space.classOf(request);
          if (!c) {
            t.fail(`no class for ${JSON.stringify(request)}`);
            continue;
          }
          const predicted = await predictRequest(world, c.witness);
          verdicts.add(verdictOf(predicted));
          const observed = await lab.probe(request);
          const what = `${request.user}@${request.from} ${request.protocol} ${request.target.host}:${request.target.port} (class ${c.id})`;
          t.is(observed.reply, predicted.reply, `${what}: reply`);
          if (observed.clientRoute)
            t.deepEqual(observed.clientRoute, predicted.clientRoute, `${what}: socks.conf route`);
          else {
            // The probe drops its route when a direct dial fails (client/probe.ts: dialByRoute throws);
            // the class must then predict exactly that: a direct route that reaches nothing.
            t.is(predicted.clientRoute?.action, 'direct', `${what}: route of a failed dial`);
            t.false(predicted.reached, `${what}: a failed direct dial reaches nothing`);
          }
        }
      } finally {
        await lab.down();
      }
      t.true(
        verdicts.has('granted') && verdicts.size >= 3,
        'the requests meet every verdict the honest classes have',
      );
    },
  );
}
