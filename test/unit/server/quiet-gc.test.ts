import test from 'ava';
import {
  QuietCollectFill,
  QuietReadEvery,
  quietCollector,
  v8YoungGeneration,
  type YoungGeneration,
} from '../../../src/server/quiet-gc.ts';

/** A young generation whose fill the test sets, counting collections. */
function fakeGeneration(fill: number): YoungGeneration & { fillNow: number; collections: number } {
  const gen = {
    fillNow: fill,
    collections: 0,
    fill: () => gen.fillNow,
    collect: () => {
      gen.collections++;
      gen.fillNow = 0;
    },
  };
  return gen;
}

/** A defer that holds the deferred work until the test runs it (the end of the event-loop turn). */
function heldDefer(): { defer: (run: () => void) => void; runAll: () => void; held: () => number } {
  let queue: (() => void)[] = [];
  return {
    defer: (run) => queue.push(run),
    runAll: () => {
      const q = queue;
      queue = [];
      for (const run of q) run();
    },
    held: () => queue.length,
  };
}

test('a quiet moment with the young generation at least half full collects, at the end of the turn', (t) => {
  const gen = fakeGeneration(QuietCollectFill);
  const turn = heldDefer();
  const onQuiet = quietCollector(gen, QuietCollectFill, turn.defer, 1);
  onQuiet(() => true);
  t.is(gen.collections, 0, 'not inside the turn that replied');
  turn.runAll();
  t.is(gen.collections, 1);
});

test('a quiet moment with the young generation under the threshold collects nothing', (t) => {
  const gen = fakeGeneration(QuietCollectFill - 0.01);
  const turn = heldDefer();
  quietCollector(gen, QuietCollectFill, turn.defer, 1)(() => true);
  t.is(turn.held(), 0);
  t.is(gen.collections, 0);
});

test('the collection is dropped when a client started waiting again before the turn ended', (t) => {
  const gen = fakeGeneration(0.9);
  const turn = heldDefer();
  quietCollector(gen, QuietCollectFill, turn.defer, 1)(() => false);
  turn.runAll();
  t.is(gen.collections, 0);
});

test('quiet moments within one turn schedule one collection', (t) => {
  const gen = fakeGeneration(0.9);
  const turn = heldDefer();
  const onQuiet = quietCollector(gen, QuietCollectFill, turn.defer, 1);
  onQuiet(() => true);
  onQuiet(() => true);
  t.is(turn.held(), 1);
  turn.runAll();
  t.is(gen.collections, 1);
  gen.fillNow = 0.9;
  onQuiet(() => true);
  turn.runAll();
  t.is(gen.collections, 2, 'the next turn may collect again');
});

test('the fill is read at every eighth quiet moment only', (t) => {
  const gen = fakeGeneration(0.9);
  let reads = 0;
  const counted = {
    fill: () => {
      reads++;
      return gen.fill();
    },
    collect: gen.collect,
  };
  const turn = heldDefer();
  const onQuiet = quietCollector(counted, QuietCollectFill, turn.defer);
  for (let i = 0; i < QuietReadEvery - 1; i++) onQuiet(() => true);
  t.is(reads, 0);
  onQuiet(() => true);
  t.is(reads, 1);
  turn.runAll();
  t.is(gen.collections, 1);
});

test("this process's young generation fills with garbage and empties when collected", (t) => {
  const gen = v8YoungGeneration();
  if (gen === null) return t.fail('V8 gave no collection function');
  let keep: unknown[] = [];
  // Short-lived objects, as a connection leaves them, until a quarter of the young generation is used.
  for (let i = 0; i < 1_000_000 && gen.fill() < 0.25; i++) {
    keep.push({ i, text: `garbage ${i}` });
    if (keep.length > 100) keep = [];
  }
  const before = gen.fill();
  t.true(before >= 0.25, `fill ${before}`);
  gen.collect();
  const after = gen.fill();
  t.true(after < before / 2, `fill ${before} → ${after}`);
});
