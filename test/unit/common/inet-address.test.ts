import test from 'ava';
import fc from 'fast-check';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../../src/common/inet-address.ts';
import { encodeSocks5Address } from '../../../src/protocol/socks5.ts';

test('dotted IPv4 is strict: four decimal parts 0..255 without leading zeros', (t) => {
  t.deepEqual(parseIPv4('198.51.100.10'), Uint8Array.of(198, 51, 100, 10));
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '1.2.3.-1', ' 1.2.3.4', '0x1.2.3.4']) {
    t.is(parseIPv4(bad), null, bad);
  }
});

test('IPv6 text is written in RFC 5952 form', (t) => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:10.2.0.1', '::ffff:10.2.0.1'],
    ['fe80::1:2', 'fe80::1:2'],
  ];
  for (const [input, canon] of cases) {
    const bytes = parseIPv6(input);
    t.truthy(bytes, input);
    t.is(formatIPv6(bytes as Uint8Array), canon, input);
  }
  for (const bad of ['1::2::3', ':::', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1.2.3.4', '::1.2.3']) {
    t.is(parseIPv6(bad), null, bad);
  }
});

test('property: IPv6 formatting agrees with the WHATWG URL parser and parses back', (t) => {
  fc.assert(
    fc.property(fc.ipV6(), (addr) => {
      const bytes = parseIPv6(addr);
      if (!bytes) return false;
      const text = formatIPv6(bytes);
      const back = parseIPv6(text);
      if (!back || Buffer.compare(Buffer.from(back), Buffer.from(bytes)) !== 0) return false;
      if (text.startsWith('::ffff:')) return true; // URL writes mapped addresses in hex
      return new URL(`http://[${addr}]/`).hostname === `[${text}]`;
    }),
  );
  t.pass();
});

test('address kinds on the wire: dotted is IPv4, a colon means IPv6, anything else is a name', (t) => {
  const atyp = (address: string) => encodeSocks5Address(address, 80)[0];
  t.is(atyp('10.0.0.1'), 0x01);
  t.is(atyp('::1'), 0x04);
  t.is(atyp('www.example.org'), 0x03);
  t.is(atyp('010.0.0.1'), 0x03);
});

test('dotted IPv4 is read exactly as a part-by-part reference reads it', (t) => {
  const reference = (text: string): Uint8Array | null => {
    const parts = text.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255))
      return null;
    return Uint8Array.from(parts.map(Number));
  };
  const text = fc.oneof(
    fc.stringMatching(/^[0-9.]{0,16}$/),
    fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((p) => p.join('.')),
  );
  fc.assert(
    fc.property(text, (s) => {
      t.deepEqual(parseIPv4(s), reference(s), s);
    }),
    { numRuns: 3000 },
  );
});
