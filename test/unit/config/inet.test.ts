import test from 'ava';
import fc from 'fast-check';
import { dottedOf as dotted } from '../../../src/common/inet-address.ts';
import { inetAton } from '../../../src/config/inet.ts';

const numeric: [string, string][] = [
  ['10.1.2.3', '10.1.2.3'],
  ['010.1.2.3', '8.1.2.3'],
  ['0x0a.1.2.3', '10.1.2.3'],
  ['0X0A.1.2.3', '10.1.2.3'],
  ['192.168.1', '192.168.0.1'],
  ['10.1', '10.0.0.1'],
  ['10', '0.0.0.10'],
  ['167772161', '10.0.0.1'],
  ['255.255.255.255', '255.255.255.255'],
  ['0x', '0.0.0.0'],
  ['0', '0.0.0.0'],
  ['0xffffffff', '255.255.255.255'],
  ['1.0xffffff', '1.255.255.255'],
  ['1.2.0xffff', '1.2.255.255'],
  ['012.0.0.0', '10.0.0.0'],
];
for (const [text, expected] of numeric) {
  test(`inet_aton reads ${text} as ${expected}`, (t) => {
    const value = inetAton(text);
    t.not(value, undefined);
    t.is(dotted(value ?? -1), expected);
  });
}

const notNumeric = [
  '1.2.3.256',
  '1.2.3.4.5',
  '',
  '1..2',
  '1.2.3.',
  '.1.2.3',
  '08',
  '0x1g',
  '-1',
  '+1',
  ' 1',
  '1.2.65536',
  '1.16777216',
  '4294967296',
  'ALL',
  'host.example.com',
  '255.0.0.0.0',
];
for (const text of notNumeric) {
  test(`inet_aton rejects ${JSON.stringify(text)} as not numeric`, (t) => {
    t.is(inetAton(text), undefined);
  });
}

test('dotted output of any 32-bit address reads back as the same address', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      return inetAton(dotted(n)) === n;
    }),
  );
  t.pass();
});
