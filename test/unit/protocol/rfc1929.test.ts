import { inspect } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/common/errors.ts';
import {
  Credentials,
  decodeRfc1929Request,
  decodeRfc1929Status,
  encodeRfc1929Request,
  encodeRfc1929Status,
  Rfc1929Status,
} from '../../../src/protocol/rfc1929.ts';
import { feedByteByByte, hex } from './feed.ts';

const wire = hex('01 05 61 6C 69 63 65 06 73 33 63 72 33 74');

test('a username/password request decodes byte by byte and encodes to the same bytes', (t) => {
  const { value } = feedByteByByte(t, decodeRfc1929Request, wire);
  t.is(value.username, 'alice');
  t.is(value.revealPassword(), 's3cr3t');
  t.deepEqual(encodeRfc1929Request(value), wire);
});

test('a sub-negotiation version other than 1 is E_1929_VERSION', (t) => {
  const err = t.throws(() => decodeRfc1929Request(hex('05 01')), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_1929_VERSION');
});

test('the status reply is VER 1 then STATUS; only 0 is success', (t) => {
  t.deepEqual(encodeRfc1929Status(Rfc1929Status.Success), hex('01 00'));
  t.deepEqual(encodeRfc1929Status(Rfc1929Status.Failure), hex('01 01'));
  t.deepEqual(decodeRfc1929Status(hex('01 00')), { value: { status: 0, ok: true }, consumed: 2 });
  t.deepEqual(decodeRfc1929Status(hex('01 07')), { value: { status: 7, ok: false }, consumed: 2 });
  t.deepEqual(decodeRfc1929Status(hex('01')), { need: 1 });
});

test('credentials never show their password in JSON, strings or inspect output', (t) => {
  const c = new Credentials('alice', 'hunter2-secret');
  t.false(JSON.stringify(c).includes('hunter2'));
  t.false(String(c).includes('hunter2'));
  t.false(inspect(c, { depth: 5, showHidden: true }).includes('hunter2'));
  t.false(Object.values(c).includes('hunter2-secret'));
});

test('serialising an error that carries credentials does not leak the password', (t) => {
  const credentials = new Credentials('alice', 'hunter2-secret');
  const err = Object.assign(new ProtocolError('E_UPSTREAM_AUTH', 'upstream refused the credentials'), {
    credentials,
  });
  const wrapped = new Error('rsockd: upstream failed', { cause: err });
  for (const text of [
    JSON.stringify(err),
    JSON.stringify({ err }),
    inspect(wrapped, { depth: 10 }),
    inspect(err),
  ]) {
    t.true(text.includes('alice'), 'the user name is kept for diagnosis');
    t.false(text.includes('hunter2'), text);
  }
});

test('property: any username and password round-trip through the wire form', (t) => {
  const field = fc.uint8Array({ minLength: 0, maxLength: 255 }).map((a) => Buffer.from(a).toString('latin1'));
  fc.assert(
    fc.property(field, field, (u, p) => {
      const r = decodeRfc1929Request(encodeRfc1929Request(new Credentials(u, p)));
      return 'value' in r && r.value.username === u && r.value.revealPassword() === p;
    }),
  );
  t.pass();
});

test('property: on arbitrary bytes the decoder asks for more, decodes, or throws only ProtocolError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        const r = decodeRfc1929Request(Buffer.from(bytes));
        return 'need' in r ? r.need >= 1 : r.consumed <= bytes.length;
      } catch (err) {
        return err instanceof ProtocolError;
      }
    }),
  );
  t.pass();
});
