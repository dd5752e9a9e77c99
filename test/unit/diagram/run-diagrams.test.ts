import test from 'ava';
import { defaultMakers, runDiagrams } from '../../../src/diagram/run-diagrams.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import { seedCascade } from './topologies.ts';
import { grantedWithFailover, refusedByIdentdMismatch } from './traces.ts';

/** A refused trace whose identd at A answered raw garbage: NUL, 0xFF, DEL, a quote, a backslash. */
function garbageAnswer(): Trace {
  const base = refusedByIdentdMismatch();
  const [b, a] = base.hops;
  const garbage = '\u0000\u00ff\u007f"}\\';
  return {
    ...base,
    hops: [
      b!,
      { ...a!, user: garbage, identd: { queried: 'B', answer: garbage, user: null, verdict: 'unavailable' } },
    ],
  };
}

test('a garbage identd answer leaves every diagram of the run drawn', async (t) => {
  const d = await runDiagrams(seedCascade(), [
    { name: 'granted', trace: grantedWithFailover() },
    { name: 'garbage', trace: garbageAnswer() },
  ]);
  t.deepEqual(d.failures, []);
  t.true(d.topologySvg?.includes('</svg>'));
  t.deepEqual([...d.caseSvgs.keys()], ['granted', 'garbage']);
  t.true(d.caseSvgs.get('garbage')!.includes('</svg>'));
  t.deepEqual([...d.sequenceSvgs.keys()], ['granted', 'garbage']);
  t.true(d.sequenceSvgs.get('garbage')!.includes('</svg>'));
  t.deepEqual([...d.mermaid.keys()], ['granted', 'garbage']);
});

test('one diagram that cannot be drawn is reported and the others are still drawn', async (t) => {
  const d = await runDiagrams(
    seedCascade(),
    [
      { name: 'first', trace: grantedWithFailover() },
      { name: 'broken', trace: refusedByIdentdMismatch() },
      { name: 'last', trace: grantedWithFailover() },
    ],
    {
      ...defaultMakers,
      traceSvg: (topology, trace) =>
        trace.reply === 91
          ? Promise.reject(new Error('layout failed'))
          : defaultMakers.traceSvg(topology, trace),
    },
  );
  t.deepEqual(d.failures, [{ diagram: 'broken (svg)', error: 'layout failed' }]);
  t.true(d.topologySvg?.includes('</svg>'));
  t.deepEqual([...d.caseSvgs.keys()], ['first', 'last']);
  t.deepEqual([...d.sequenceSvgs.keys()], ['first', 'broken', 'last']);
  t.deepEqual([...d.mermaid.keys()], ['first', 'broken', 'last']);
});

test('a topology diagram that fails does not take the case diagrams with it', async (t) => {
  const d = await runDiagrams(seedCascade(), [{ name: 'only', trace: grantedWithFailover() }], {
    ...defaultMakers,
    topologySvg: () => Promise.reject(new Error('no layout')),
  });
  t.is(d.topologySvg, undefined);
  t.deepEqual(d.failures, [{ diagram: 'topology.svg', error: 'no layout' }]);
  t.deepEqual([...d.caseSvgs.keys()], ['only']);
});

test('a sequence view that fails is reported by name and the case map is still drawn', async (t) => {
  const d = await runDiagrams(seedCascade(), [{ name: 'only', trace: grantedWithFailover() }], {
    ...defaultMakers,
    sequenceSvg: () => Promise.reject(new Error('no rows')),
  });
  t.deepEqual(d.failures, [{ diagram: 'only (sequence svg)', error: 'no rows' }]);
  t.deepEqual([...d.caseSvgs.keys()], ['only']);
  t.deepEqual([...d.sequenceSvgs.keys()], []);
});
