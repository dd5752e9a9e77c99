import test from 'ava';
import fc from 'fast-check';
import { parseDottedQuad, unmapIPv4 } from '../../../src/common/inet-address.ts';
import type { Resolver } from '../../../src/common/resolver.ts';
import { hostsFileResolver, tableResolver } from '../../../src/common/table-resolver.ts';
import type { AddrSpec, HostPattern } from '../../../src/config/ast.ts';
import { inetAton } from '../../../src/config/inet.ts';
import {
  type HostIdentity,
  heldHostFromAddress,
  heldHostFromName,
  hostFromAddress,
  hostFromName,
  hostMatches,
  UnspecifiedHostName,
} from '../../../src/policy/host.ts';

const pos = { file: 't.conf', line: 1, column: 1 };
const spec = (pattern: HostPattern, mask = 0): AddrSpec => ({
  pattern,
  mask,
  text: '',
  maskOmitted: false,
  pos,
});
const ip = (a: string, m: string) => spec({ kind: 'ip', addr: inetAton(a)! }, inetAton(m)!);
const host = (addresses: string[], names: string[]): HostIdentity => ({
  addresses: addresses.map((a) => inetAton(a)!),
  names,
  display: names[0] ?? '',
  dotted: addresses[0] ?? '',
});

const resolver = tableResolver({
  reverse: new Map([
    ['10.9.1.10', ['ws1.eng.example.com', 'alias.example.com']],
    ['10.9.1.11', ['ws2.eng.example.com']],
    ['10.9.9.9', ['boom.example.com']],
  ]),
  forward: new Map([
    ['ws1.eng.example.com', ['10.9.1.10']],
    ['alias.example.com', ['10.1.1.1']],
    ['ws2.eng.example.com', ['10.9.1.99']],
    ['multi.example.com', ['192.0.2.1', '192.0.2.2']],
  ]),
});

test('a reverse name is kept only when its forward lookup contains the address', async (t) => {
  const h = await hostFromAddress(resolver, '10.9.1.10');
  t.deepEqual(h.names, ['ws1.eng.example.com'], 'alias.example.com resolves elsewhere and is dropped');
  t.is(h.display, 'ws1.eng.example.com');
  t.is(h.dotted, '10.9.1.10');
  t.deepEqual(h.addresses, [inetAton('10.9.1.10')]);
});

test('without a confirmed name the name list is the dotted address alone', async (t) => {
  const forged = await hostFromAddress(resolver, '10.9.1.11');
  t.deepEqual(forged.names, ['10.9.1.11']);
  t.is(forged.display, '10.9.1.11');
  const none = await hostFromAddress(resolver, '192.0.2.77');
  t.deepEqual(none.names, ['192.0.2.77']);
});

test('a failing resolver counts as no answer', async (t) => {
  const failing: Resolver = {
    reverse: async () => {
      throw new Error('SERVFAIL');
    },
    forward: async () => {
      throw new Error('timeout');
    },
  };
  t.deepEqual((await hostFromAddress(failing, '10.0.0.1')).names, ['10.0.0.1']);
  t.deepEqual((await hostFromName(failing, 'x.example')).addresses, []);
});

test('the unspecified host 0.0.0.0 has no name for matching and shows as Unspecified.Host', async (t) => {
  const h = await hostFromAddress(resolver, '0.0.0.0');
  t.deepEqual(h.names, []);
  t.deepEqual(h.addresses, [0]);
  t.is(h.display, UnspecifiedHostName);
  t.is(h.dotted, '0.0.0.0');
  t.true(hostMatches(h, ip('10.0.0.0', '0.0.0.0')));
  t.true(hostMatches(h, spec({ kind: 'all' })));
  t.false(hostMatches(h, spec({ kind: 'zone', zone: 'example.com' })));
  t.true(hostMatches(h, ip('0.0.0.0', '255.255.255.255')), 'an exact 0.0.0.0 rule matches it');
  t.false(hostMatches(h, ip('10.0.0.0', '255.0.0.0')));
});

test('IPv4-mapped IPv6 peers are converted to dotted IPv4 before anything else', async (t) => {
  const h = await hostFromAddress(resolver, '::ffff:10.9.1.10');
  t.is(h.dotted, '10.9.1.10');
  t.deepEqual(h.names, ['ws1.eng.example.com']);
});

test('a native IPv6 peer has no IPv4 address, so only mask-0 rules, ALL or its text match', async (t) => {
  const h = await hostFromAddress(resolver, '2001:db8::1');
  t.deepEqual(h.addresses, []);
  t.true(hostMatches(h, ip('10.0.0.0', '0.0.0.0')));
  t.true(hostMatches(h, spec({ kind: 'all' })));
  t.false(hostMatches(h, ip('0.0.0.0', '0.0.0.1')));
});

test('a 4A name keeps the name as sent first and takes all resolved addresses', async (t) => {
  const h = await hostFromName(resolver, 'MULTI.example.com', { wireAddress: 7 });
  t.deepEqual(h.names, ['MULTI.example.com']);
  t.is(h.display, 'MULTI.example.com');
  t.is(h.dotted, '192.0.2.1');
  t.deepEqual(h.addresses, [inetAton('192.0.2.1'), inetAton('192.0.2.2')]);
  const lost = await hostFromName(resolver, 'nosuch.invalid', { wireAddress: 7 });
  t.deepEqual(lost.addresses, []);
  t.is(lost.dotted, '0.0.0.7', '%z is the received 0.0.0.x when nothing resolved');
});

test('numeric matching compares any of the first 19 addresses under the mask, masks need not be contiguous', (t) => {
  const many = host(
    Array.from({ length: 20 }, (_, i) => `192.0.2.${i + 1}`),
    ['many.example'],
  );
  t.true(hostMatches(many, ip('192.0.2.19', '255.255.255.255')));
  t.false(hostMatches(many, ip('192.0.2.20', '255.255.255.255')), 'the 20th address is not looked at');
  const h = host(['10.1.2.3'], ['x']);
  t.true(hostMatches(h, ip('10.0.2.0', '255.0.255.0')));
  t.false(hostMatches(h, ip('10.0.3.0', '255.0.255.0')));
  t.true(hostMatches(host([], []), ip('1.2.3.4', '0.0.0.0')), 'mask 0 matches even a host without address');
  t.false(hostMatches(host([], []), ip('1.2.3.4', '255.0.0.0')));
});

test('name patterns compare case-insensitively; zones match the apex and below a dot boundary', (t) => {
  const www = host(['198.51.100.7'], ['WWW.Example.ORG']);
  t.true(hostMatches(www, spec({ kind: 'name', name: 'www.example.org' })));
  t.false(hostMatches(www, spec({ kind: 'name', name: 'example.org' })));
  const zone = spec({ kind: 'zone', zone: 'example.org' });
  t.true(hostMatches(www, zone));
  t.true(hostMatches(host([], ['example.org']), zone), 'apex');
  t.true(hostMatches(host([], ['p.q.example.org']), zone));
  t.false(hostMatches(host([], ['badexample.org']), zone), 'no dot boundary');
  t.false(hostMatches(host([], ['www.badexample.org']), zone));
});

test('a hosts-style fixture answers reverse and forward lookups from the same lines', async (t) => {
  const r = hostsFileResolver(
    '# fixture\n10.0.0.5 fw3.corp.example.com fw3\n10.0.0.6 fw3.corp.example.com\nbad line\n',
  );
  t.deepEqual(await r.reverse('10.0.0.5'), ['fw3.corp.example.com', 'fw3']);
  t.deepEqual(await r.forward('FW3.corp.example.com'), ['10.0.0.5', '10.0.0.6']);
  t.deepEqual(await r.forward('nosuch'), []);
  t.deepEqual((await hostFromAddress(r, '10.0.0.5')).names, ['fw3.corp.example.com', 'fw3']);
});

/** `resolver` with every answer also held, as a cache that has seen them answers. */
const holding: Resolver = {
  reverse: (a) => resolver.reverse(a),
  forward: (n) => resolver.forward(n),
  held: (kind, key) => {
    const table = kind === 'reverse' ? reverseTable : forwardTable;
    return table.get(kind === 'forward' ? key.toLowerCase() : key) ?? [];
  },
};
const reverseTable = new Map([
  ['10.9.1.10', ['ws1.eng.example.com', 'alias.example.com']],
  ['10.9.1.11', ['ws2.eng.example.com']],
]);
const forwardTable = new Map([
  ['ws1.eng.example.com', ['10.9.1.10']],
  ['alias.example.com', ['10.1.1.1']],
  ['ws2.eng.example.com', ['10.9.1.99']],
  ['multi.example.com', ['192.0.2.1', '192.0.2.2']],
]);

test('with every answer held the identity is known at once and equals the looked-up one', async (t) => {
  for (const a of ['10.9.1.10', '10.9.1.11', '192.0.2.77', '0.0.0.0', '::ffff:10.9.1.10', '2001:db8::1']) {
    t.deepEqual(heldHostFromAddress(holding, a), await hostFromAddress(resolver, a), a);
  }
  t.deepEqual(
    heldHostFromName(holding, 'multi.example.com'),
    await hostFromName(resolver, 'multi.example.com'),
  );
});

test('a missing held answer means "look it up", never a guess', (t) => {
  const partial: Resolver = {
    ...holding,
    held: (kind, key) => (kind === 'reverse' ? holding.held?.(kind, key) : undefined),
  };
  t.is(heldHostFromAddress(partial, '10.9.1.10'), undefined, 'the PTR name still needs its forward check');
  t.is(heldHostFromName(partial, 'multi.example.com'), undefined);
  t.is(heldHostFromAddress({ reverse: resolver.reverse, forward: resolver.forward }, '10.9.1.10'), undefined);
  // No name lookup is needed for these, held or not.
  t.is(heldHostFromAddress(partial, '0.0.0.0')?.display, UnspecifiedHostName);
});

test('a held identity is built once while its answers stay the same, and again when one changes', (t) => {
  const reverse = new Map([['10.7.0.1', ['gw.lab']]]);
  const forward = new Map([['gw.lab', ['10.7.0.1']]]);
  const changing: Resolver = {
    reverse: async (a) => reverse.get(a) ?? [],
    forward: async (n) => forward.get(n) ?? [],
    held: (kind, key) => (kind === 'reverse' ? reverse : forward).get(key) ?? [],
  };
  const first = heldHostFromAddress(changing, '10.7.0.1');
  t.is(first?.display, 'gw.lab');
  t.is(heldHostFromAddress(changing, '10.7.0.1'), first, 'the same answers give the same identity');
  forward.set('gw.lab', ['10.7.0.2']);
  const moved = heldHostFromAddress(changing, '10.7.0.1');
  t.is(moved?.display, '10.7.0.1', 'the PTR name no longer confirms: the address is shown');
  t.deepEqual(moved?.names, ['10.7.0.1']);
  reverse.set('10.7.0.1', ['other.lab']);
  forward.set('other.lab', ['10.7.0.1']);
  t.is(heldHostFromAddress(changing, '10.7.0.1')?.display, 'other.lab', 'a new PTR answer is seen');
});

/** The regular-expression readings the hand-scanned parsers replaced, as references. */
function referenceDottedQuad(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (const part of m.slice(1)) {
    if (Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}
function referenceUnmap(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1]! : address;
}
const addressLike = fc.oneof(
  fc.stringMatching(/^[0-9.:fFx ]{0,18}$/),
  fc
    .tuple(
      fc.nat(300),
      fc.nat(300),
      fc.nat(300),
      fc.nat(1000),
      fc.constantFrom('', '0', '::ffff:', '::FFFF:0'),
    )
    .map(([a, b, c, d, prefix]) => `${prefix}${a}.${b}.${c}.${d}`),
);

test('dotted quads and IPv4-mapped IPv6 are read exactly as the regular-expression reference reads them', (t) => {
  fc.assert(
    fc.property(addressLike, (text) => {
      t.is(parseDottedQuad(text), referenceDottedQuad(text), text);
      t.is(unmapIPv4(text), referenceUnmap(text), text);
    }),
    { numRuns: 3000 },
  );
  t.is(parseDottedQuad('010.1.1.1'), 0x0a010101, 'leading zeros are decimal here, not octal');
});
