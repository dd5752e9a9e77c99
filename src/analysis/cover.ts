import type { AddrSpec, PortTest, UserList } from '../config/ast.ts';

/**
 * "Rule i covers rule j": every request rule j can match, rule i matches too. Used to find
 * shadowed lines (first match wins, so a covered later line never decides). Conservative:
 * when coverage cannot be decided from the text (user files, names vs numbers), it says no.
 */

/** Does address field `outer` match every host `inner` matches? */
export function addrCovers(outer: AddrSpec, inner: AddrSpec): boolean {
  const o = outer.pattern;
  const i = inner.pattern;
  if (o.kind === 'all' || (o.kind === 'ip' && outer.mask >>> 0 === 0)) return true;
  if (o.kind === 'ip') {
    if (i.kind !== 'ip') return false;
    const om = outer.mask >>> 0;
    const im = inner.mask >>> 0;
    // Every bit outer tests is also fixed by inner, to the same value.
    return (om & ~im) >>> 0 === 0 && (i.addr & om) >>> 0 === (o.addr & om) >>> 0;
  }
  if (o.kind === 'name') return i.kind === 'name' && i.name === o.name;
  // zone: covers the apex, names below it, and narrower zones.
  if (i.kind === 'name' || i.kind === 'zone') {
    const n = i.kind === 'name' ? i.name : i.zone;
    return n === o.zone || n.endsWith(`.${o.zone}`);
  }
  return false;
}

/** Closed port intervals a test accepts (absent = everything). */
function portIntervals(t: PortTest | undefined): [number, number][] {
  if (!t) return [[0, 65535]];
  const p = t.port;
  switch (t.op) {
    case 'eq':
      return [[p, p]];
    case 'neq':
      return [
        [0, p - 1],
        [p + 1, 65535],
      ].filter(([a, b]) => a! <= b!) as [number, number][];
    case 'lt':
      return p > 0 ? [[0, p - 1]] : [];
    case 'le':
      return [[0, p]];
    case 'gt':
      return p < 65535 ? [[p + 1, 65535]] : [];
    case 'ge':
      return [[p, 65535]];
  }
}

export function portCovers(outer: PortTest | undefined, inner: PortTest | undefined): boolean {
  const o = portIntervals(outer);
  return portIntervals(inner).every(([a, b]) => o.some(([c, d]) => c <= a && b <= d));
}

export function usersCover(outer: UserList | undefined, inner: UserList | undefined): boolean {
  if (!outer || outer.elements.length === 0) return true;
  if (!inner || inner.elements.length === 0) return false;
  // A file's contents can change at any time (read at match time, c.8): only literal names count,
  // and an outer list with a file is only trusted for the names written beside it.
  const names = new Set(outer.elements.flatMap((e) => (e.kind === 'name' ? [e.name] : [])));
  if (outer.elements.some((e) => e.kind === 'file')) return false;
  return inner.elements.every((e) => e.kind === 'name' && names.has(e.name));
}
