import test from 'ava';
import { type RequestClass, requestClasses } from '../../../src/analysis/classes.ts';
import type { Design } from '../../../src/analysis/design-hosts.ts';
import { type DesignDiff, diffDesigns } from '../../../src/analysis/diff.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import { inetAton } from '../../../src/config/inet.ts';
import { renderDiffMarkdown, renderDiffText } from '../../../src/report/diff-text.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot, seedCascadeFile } from '../../helpers/seed-topology.ts';

/**
 * `sockslab diff` against seed-cascade copies with one planted change each
 * (test/fixtures/diff/*.yaml). The expected classes are derived by hand from the configs:
 *
 *   C (users x, root, nobody; truthful identd) → B (rsockd: permit ?=I *=x from the lan, then
 *   dmz direct, the rest @=A) → A (sockd: ?=n dept.users to 198.51.100.0/24 eq 7; dept.users
 *   to 198.51.100.0/24 eq 80 with -i; deny) → z (198.51.100.10, echo 7 and 80).
 *
 * Only honest x gets past B; B forwards everything outside the dmz to A; only A's two permit
 * lines concern the internet. A name stands for all its host's addresses in patterns (B's name
 * is in the dmz), and is connected at its first one (`A` is 10.2.0.1, on the dmz).
 * Each predicate below says which classes a planted change must touch, in those terms.
 */

const fixture = (name: string) => `${projectRoot}test/fixtures/diff/${name}.yaml`;

async function design(file: string): Promise<Design> {
  return { ...(await loadTopologyWithConfigs(file)), label: file };
}

const seed = () => design(seedCascadeFile);

/**
 * The addresses a class's witness destination stands for, as the hand derivation reads them: a
 * numeric one, or every address of the host a name names (a pattern matches a name when it
 * matches any of its addresses); none for an unresolved name.
 */
function destination(c: RequestClass): number[] {
  const host = c.witness.target.host;
  if (/^\d/.test(host)) return [inetAton(host)!];
  const byName: Record<string, string[]> = {
    C: ['10.1.0.10'],
    B: ['10.1.0.1', '10.2.0.2'],
    A: ['10.2.0.1', '198.51.100.1'],
    z: ['198.51.100.10'],
  };
  return (byName[host] ?? []).map((a) => inetAton(a)!);
}
/** The first address: where a name's connection goes (the probe's and the servers' choice). */
const first = (c: RequestClass) => destination(c)[0];
const inNet = (a: number | undefined, net: string) =>
  a !== undefined && (a & 0xffffff00) >>> 0 === inetAton(net);
const anyInNet = (c: RequestClass, net: string) => destination(c).some((a) => inNet(a, net));
/** C's own client library goes direct to 0.0.0.0 and 127.0.0.1 (d.3.1): B never sees those. */
const sentToB = (c: RequestClass) => !['0.0.0.0', '127.0.0.1'].includes(c.witness.target.host);
const honestX = (c: RequestClass) =>
  c.user.kind === 'honest' && c.user.owners.includes('x') && c.protocol !== 'socks5';

async function diffWithExpected(
  t: import('ava').ExecutionContext,
  planted: string,
  expected: (c: RequestClass) => boolean,
) {
  const before = await seed();
  const after = await design(fixture(planted));
  const diff = await diffDesigns(before, after);
  // The same joint space the diff is built on; the predicate picks the classes by hand.
  const space = requestClasses(new LabWorld(before.topology, before.configs), {
    joint: [new LabWorld(after.topology, after.configs)],
  });
  const want = [...space.classes()].filter(expected).map((c) => c.id);
  t.deepEqual(diff.changes.map((c) => c.id).sort(), want.sort());
  t.is(diff.compared, space.count);
  t.is(diff.classes, space.count);
  return diff;
}

test('a changed port operator changes exactly the internet classes of x on the old and the new port', async (t) => {
  const diff = await diffWithExpected(
    t,
    'port',
    (c) => honestX(c) && inNet(first(c), '198.51.100.0') && [7, 9].includes(c.witness.target.port),
  );
  t.is(diff.changes.length, 8);
  const z7 = diff.changes.find(
    (c) => c.witness.target.host === '198.51.100.10' && c.witness.target.port === 7,
  )!;
  t.deepEqual(z7.differences, [
    'verdict: granted → refused',
    'reply: 90 (granted) → 91 (rejected)',
    'path: C → B → A → z ⇒ C → B → A',
    'A: sockd.conf:2 permit → sockd.conf:5 deny',
  ]);
});

test('a ?= flag changed on one line changes exactly the classes that line decides', async (t) => {
  const diff = await diffWithExpected(
    t,
    'identd-flag',
    (c) => honestX(c) && inNet(first(c), '198.51.100.0') && c.witness.target.port === 80,
  );
  t.is(diff.changes.length, 4);
  const z80 = diff.changes.find((c) => c.witness.target.host === '198.51.100.10')!;
  t.true(z80.differences.includes('A identd: B says nobody (mismatch) → none'));
  t.is(z80.before.verdict, 'identd');
  t.is(z80.after.verdict, 'granted');
});

test('an @= list with a dead entry first changes the route of every class B forwards to A, and nothing else', async (t) => {
  const diff = await diffWithExpected(
    t,
    'server-order',
    (c) => honestX(c) && sentToB(c) && !anyInNet(c, '10.2.0.0'),
  );
  for (const c of diff.changes) {
    t.deepEqual(c.differences, [
      'B route: socks.conf:3 sockd → 10.2.0.1 (A) → socks.conf:3 sockd → 198.51.100.1 (A) failed, 10.2.0.1 (A)',
    ]);
  }
});

test('a user added to a list changes its honest classes and the forged claims of its name — a joint class', async (t) => {
  const diff = await diffWithExpected(
    t,
    'user-list',
    (c) =>
      c.protocol !== 'socks5' &&
      sentToB(c) &&
      ((c.user.kind === 'honest' && c.user.owners.includes('root')) ||
        (c.user.kind === 'forged' && c.witness.claim === 'root')),
  );
  const forged = diff.changes.find((c) => c.witness.user === 'x' && c.witness.claim === 'root')!;
  t.true(forged.differences.includes('verdict: refused → identd'));
});

test('a name written nowhere before is split out of "any other claim" by the joint space, and its forged claims change', async (t) => {
  const diff = await diffWithExpected(
    t,
    'user-list-new-name',
    (c) => c.protocol !== 'socks5' && sentToB(c) && c.user.kind === 'forged' && c.witness.claim === 'bob',
  );
  t.true(diff.changes.length > 0);
  // x claiming bob: refused by B's deny line before, identd names x instead after (93).
  const xBob = diff.changes.find((c) => c.witness.user === 'x')!;
  t.true(xBob.differences.includes('verdict: refused → identd'));
  // The before design alone has no class for bob: it is one of "any other" claim.
  const s = await seed();
  const beforeOnly = requestClasses(new LabWorld(s.topology, s.configs));
  t.false(beforeOnly.users.includes('bob'));
  const lumped = [...beforeOnly.classes()].find(
    (c) => c.user.kind === 'forged' && c.user.claims.includes('*'),
  );
  t.truthy(lumped);
});

test('a design against itself has no change and compares every class', async (t) => {
  const diff = await diffDesigns(await seed(), await seed());
  t.deepEqual(diff.changes, []);
  t.is(diff.compared, diff.classes);
  t.regex(renderDiffText(diff), /472 classes in the joint space of both designs, 472 compared: no change/);
});

function hostsOf(d: DesignDiff) {
  return d.hosts;
}

test('a renamed host and an added host are listed, and the classes both designs share are compared', async (t) => {
  const diff = await diffDesigns(await seed(), await design(fixture('renamed-added')));
  t.deepEqual(hostsOf(diff), {
    added: ['y'],
    removed: [],
    renamed: [{ before: 'z', after: 'w' }],
    networksAdded: [],
    networksRemoved: [],
  });
  // z's name and address mean w afterwards: same outcomes. y's classes exist only after.
  t.deepEqual(diff.changes, []);
  t.true(diff.notShared > 0);
  t.is(diff.compared + diff.notShared, diff.classes);
  t.regex(renderDiffText(diff), /added y; renamed z → w/);
});

test('a removed host is listed and its classes are not compared', async (t) => {
  const diff = await diffDesigns(await seed(), await design(fixture('removed')));
  t.deepEqual(diff.hosts.removed, ['z']);
  t.deepEqual(diff.changes, []);
  // z's address and name, each with its ports, from every user of C.
  t.is(diff.notShared, 48);
  t.regex(renderDiffText(diff), /48 not compared \(they involve a host only one design has\)/);
});

test('a renamed host keeps its classes comparable: a change behind it is still found', async (t) => {
  // renamed-added → port: z is back under its old name and A's echo line moved to port 9.
  const diff = await diffDesigns(await design(fixture('renamed-added')), await design(fixture('port')));
  t.deepEqual(diff.hosts.renamed, [{ before: 'w', after: 'z' }]);
  t.deepEqual(diff.hosts.removed, ['y']);
  const w7 = diff.changes.find((c) => c.witness.target.host === 'w' && c.witness.target.port === 7)!;
  t.is(w7.witnessAfter.target.host, 'z');
  t.true(w7.differences.includes('A: sockd.conf:2 permit → sockd.conf:5 deny'));
});

test('past the list limit, changes are grouped by what changed and the text says so', async (t) => {
  const diff = await diffDesigns(await seed(), await design(fixture('user-list')));
  const text = renderDiffText(diff);
  t.regex(text, /grouped: more than 40 changes/);
  const md = renderDiffMarkdown(diff);
  t.regex(md, /Grouped: 106 changes \(more than 40\)/);
  // Every changed class is still named, in groups.
  for (const c of diff.changes) t.true(md.includes(c.witness.target.host));
  const all = renderDiffText(diff, { listLimit: Number.POSITIVE_INFINITY });
  t.false(/grouped/.test(all));
  t.is((all.match(/^\d+\. /gm) ?? []).length, diff.changes.length);
});

test('skipping the after prediction where no touched host changed gives the diff that predicts everything twice', async (t) => {
  for (const planted of ['port', 'identd-flag', 'server-order', 'user-list', 'user-list-new-name']) {
    const before = await seed();
    const after = await design(fixture(planted));
    const quick = await diffDesigns(before, after);
    const full = await diffDesigns(before, after, { exhaustive: true });
    t.deepEqual(quick, full, planted);
  }
});
