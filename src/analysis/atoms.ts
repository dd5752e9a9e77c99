import { dottedOf } from '../common/inet-address.ts';
import type { PortTest } from '../config/ast.ts';
import { portMatches } from '../policy/match.ts';

/**
 * The two numeric partitions behind the request classes, pure and independent of topologies:
 *
 * - IPv4 space cut by (address, mask) pairs. Masks need not be contiguous (CSTC configs allow
 *   `255.0.255.0`), so a region is a set of *cubes*: a value and a care-mask, every address that
 *   agrees with the value on the care bits. Intersection and difference of cubes are exact, so
 *   the atoms are exactly the sets of addresses with one membership vector over all pairs.
 * - Port space [0, 65535] cut by every port operator (c.9) and by the listening ports of a
 *   destination, merged by the answers every test gives (so `≠ 7, 80` is one atom, not three
 *   intervals).
 */

/** Every address a with (a & mask) === value (value has no bits outside mask). */
export interface Cube {
  readonly value: number;
  readonly mask: number;
}

export function cubeOf(addr: number, mask: number): Cube {
  return { value: (addr & mask) >>> 0, mask: mask >>> 0 };
}

export function cubeHas(c: Cube, addr: number): boolean {
  return (addr & c.mask) >>> 0 === c.value;
}

function intersect(a: Cube, b: Cube): Cube | null {
  if (((a.value ^ b.value) & a.mask & b.mask) >>> 0 !== 0) return null;
  return { value: (a.value | b.value) >>> 0, mask: (a.mask | b.mask) >>> 0 };
}

/** a ∖ b as disjoint cubes: fix b's care bits one at a time, flipping the one fixed last. */
function subtract(a: Cube, b: Cube): Cube[] {
  if (intersect(a, b) === null) return [a];
  const free = (b.mask & ~a.mask) >>> 0;
  const out: Cube[] = [];
  let cur = a;
  for (let bit = 31; bit >= 0; bit--) {
    const m = (1 << bit) >>> 0;
    if ((free & m) === 0) continue;
    const want = (b.value & m) >>> 0;
    out.push({ value: ((cur.value & ~m) | (want ^ m)) >>> 0, mask: (cur.mask | m) >>> 0 });
    cur = { value: ((cur.value & ~m) | want) >>> 0, mask: (cur.mask | m) >>> 0 };
  }
  return out;
}

/** One region of the address partition: its cubes and, per cutting pair, inside or not. */
export interface AddressRegion {
  readonly cubes: readonly Cube[];
  /** Index-aligned with the `cuts` given to partitionAddresses. */
  readonly inside: readonly boolean[];
  /** Set when the region is one of the `singles` addresses. */
  readonly single?: number;
}

/**
 * Partition of the IPv4 space: first by every cut (a region per reachable membership vector),
 * then every `singles` address split out as a region of its own (topology hosts, 0.0.0.0,
 * 127.0.0.1: the engine treats each of them apart). Regions left empty are dropped.
 */
export function partitionAddresses(cuts: readonly Cube[], singles: readonly number[]): AddressRegion[] {
  let regions: { cubes: Cube[]; inside: boolean[] }[] = [{ cubes: [{ value: 0, mask: 0 }], inside: [] }];
  for (const cut of cuts) {
    const next: typeof regions = [];
    for (const r of regions) {
      const inPart = r.cubes.flatMap((c) => {
        const i = intersect(c, cut);
        return i ? [i] : [];
      });
      const outPart = r.cubes.flatMap((c) => subtract(c, cut));
      if (inPart.length > 0) next.push({ cubes: inPart, inside: [...r.inside, true] });
      if (outPart.length > 0) next.push({ cubes: outPart, inside: [...r.inside, false] });
    }
    regions = next;
  }
  const out: AddressRegion[] = [];
  const split = new Map<number, AddressRegion>();
  for (const addr of new Set(singles.map((a) => a >>> 0))) {
    const point = cubeOf(addr, 0xffffffff);
    const r = regions.find((x) => x.cubes.some((c) => cubeHas(c, addr)));
    if (!r) continue;
    r.cubes = r.cubes.flatMap((c) => subtract(c, point));
    split.set(addr, { cubes: [point], inside: r.inside, single: addr });
  }
  for (const r of regions) if (r.cubes.length > 0) out.push({ cubes: r.cubes, inside: r.inside });
  return [...out, ...[...split.values()].sort((a, b) => (a.single ?? 0) - (b.single ?? 0))];
}

/** A member of a region chosen to read well: an odd last octet where a cube leaves bit 0 free. */
export function regionWitness(r: AddressRegion): number {
  if (r.single !== undefined) return r.single;
  const c = r.cubes[0]!;
  const free = ~c.mask >>> 0;
  return (c.value | (free & 1)) >>> 0;
}

/** `10.2.0.0/24` for a contiguous mask, `10.0.5.0 mask 255.0.255.0` otherwise. */
export function cubeText(c: Cube): string {
  const inv = ~c.mask >>> 0;
  // Contiguous: the host part is a run of low ones (inv + 1 is a power of two).
  if ((inv & (inv + 1)) >>> 0 !== 0) return `${dottedOf(c.value)} mask ${dottedOf(c.mask)}`;
  return `${dottedOf(c.value)}/${inv === 0 ? 32 : Math.clz32(inv)}`;
}

export function regionHas(r: AddressRegion, addr: number): boolean {
  return r.cubes.some((c) => cubeHas(c, addr));
}

/** A set of ports that every port test and the listening set answer alike. */
export interface PortRegion {
  /** Closed intervals, ascending. */
  readonly intervals: readonly (readonly [number, number])[];
  readonly witness: number;
  /** Some host of the destination listens on these ports (then the region is one port). */
  readonly listening: boolean;
}

/**
 * Port partition for one destination: elementary intervals between every boundary a test or a
 * listening port makes, merged by the vector of answers (each test, then "listens here").
 */
export function partitionPorts(tests: readonly PortTest[], listening: readonly number[]): PortRegion[] {
  const starts = new Set<number>([0]);
  const cut = (p: number) => {
    if (p >= 0 && p <= 65535) starts.add(p);
  };
  for (const t of tests) {
    if (t.op === 'eq' || t.op === 'neq') {
      cut(t.port);
      cut(t.port + 1);
    } else if (t.op === 'lt' || t.op === 'ge') cut(t.port);
    else cut(t.port + 1); // le, gt
  }
  const listen = new Set(listening);
  for (const p of listen) {
    cut(p);
    cut(p + 1);
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const groups = new Map<string, { intervals: [number, number][]; listening: boolean }>();
  for (let i = 0; i < sorted.length; i++) {
    const lo = sorted[i]!;
    const hi = (sorted[i + 1] ?? 65536) - 1;
    const l = listen.has(lo);
    const key = `${tests.map((t) => (portMatches(t, lo) ? 1 : 0)).join('')}${l ? 'L' : '-'}${l ? lo : ''}`;
    const g = groups.get(key) ?? { intervals: [], listening: l };
    g.intervals.push([lo, hi]);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const [lo, hi] = g.intervals[0]!;
    return { intervals: g.intervals, listening: g.listening, witness: lo === 0 && hi >= 1 ? 1 : lo };
  });
}

export function portRegionHas(r: PortRegion, port: number): boolean {
  return r.intervals.some(([lo, hi]) => lo <= port && port <= hi);
}

/** `7`, `1-1023`, or for a complement of a few single ports `other (not 7, 80)`. */
export function portRegionText(r: PortRegion): string {
  if (r.intervals.length === 1) {
    const [lo, hi] = r.intervals[0]!;
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  }
  const gaps: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of r.intervals) {
    if (lo > next) gaps.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 65535) gaps.push([next, 65535]);
  const text = (g: [number, number]) => (g[0] === g[1] ? String(g[0]) : `${g[0]}-${g[1]}`);
  if (gaps.length <= 6) return `not ${gaps.map(text).join('/')}`;
  return r.intervals.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}
