import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/common/errors.ts';
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
  Socks4Reply,
} from '../../../src/protocol/socks4.ts';
import { feedByteByByte, hex } from './feed.ts';

const aliceBytes = hex('04 01 00 50 C6 33 64 0A 61 6C 69 63 65 00');
const bobBytes = hex('04 01 01 BB 00 00 00 01 62 6F 62 00 77 77 77 2E 65 78 61 6D 70 6C 65 2E 6F 72 67 00');
const d7Bytes = Buffer.concat([
  hex('04 01 00 50 00 00 00 01 75 00'),
  Buffer.from('WWW.EXAMPLE.ORG'),
  hex('00'),
]);

test('the spec b.1 example decodes to alice asking CONNECT 198.51.100.10:80', (t) => {
  t.deepEqual(decodeSocks4Request(aliceBytes), {
    value: {
      version: 4,
      command: 'connect',
      port: 80,
      address: '198.51.100.10',
      user: 'alice',
      userTruncated: false,
      emptyHostname: false,
    },
    consumed: 14,
  });
});

test('the spec b.3 4A example decodes to bob asking for www.example.org:443', (t) => {
  const r = decodeSocks4Request(bobBytes);
  t.deepEqual(r, {
    value: {
      version: 4,
      command: 'connect',
      port: 443,
      address: '0.0.0.1',
      hostname: 'www.example.org',
      emptyHostname: false,
      user: 'bob',
      userTruncated: false,
    },
    consumed: bobBytes.length,
  });
});

test('D7 of sockd.conf.domains decodes with the host name kept as sent (upper case)', (t) => {
  const r = decodeSocks4Request(d7Bytes);
  t.true(
    'value' in r && r.value.hostname === 'WWW.EXAMPLE.ORG' && r.value.user === 'u' && r.value.port === 80,
  );
});

test('the encoder produces the spec example bytes for plain and 4A requests', (t) => {
  t.deepEqual(
    encodeSocks4Request({ command: 'connect', port: 80, address: '198.51.100.10', user: 'alice' }),
    aliceBytes,
  );
  t.deepEqual(
    encodeSocks4Request({ command: 'connect', port: 443, hostname: 'www.example.org', user: 'bob' }),
    bobBytes,
  );
  t.deepEqual(
    encodeSocks4Request({ command: 'connect', port: 80, hostname: 'WWW.EXAMPLE.ORG', user: 'u' }),
    d7Bytes,
  );
});

for (const [name, bytes] of [
  ['plain', aliceBytes],
  ['4A', bobBytes],
] as const) {
  test(`a ${name} request fed one byte at a time decodes once its last NUL arrives`, (t) => {
    const { value } = feedByteByByte(t, decodeSocks4Request, bytes);
    t.deepEqual(value, (decodeSocks4Request(bytes) as { value: unknown }).value);
  });
}

test('bytes after the request terminator are left for the caller as early payload', (t) => {
  const payload = Buffer.from('GET / HTTP/1.0\r\n\r\n');
  for (const req of [aliceBytes, bobBytes]) {
    const r = decodeSocks4Request(Buffer.concat([req, payload]));
    if (!('value' in r)) return t.fail('expected a value');
    t.is(r.consumed, req.length);
    t.deepEqual(Buffer.concat([req, payload]).subarray(r.consumed), payload);
  }
});

test('a plain request followed by bytes is not mistaken for 4A: 0.0.0.0 reads no host name', (t) => {
  const req = hex('04 02 00 15 00 00 00 00 7A 65 64 00');
  const r = decodeSocks4Request(Buffer.concat([req, Buffer.from('xyz\0')]));
  if (!('value' in r)) return t.fail('expected a value');
  t.is(r.consumed, req.length);
  t.is(r.value.command, 'bind');
  t.is(r.value.address, '0.0.0.0');
  t.false('hostname' in r.value);
});

test('DSTIP 0.0.0.255 is 4A, 0.0.1.1 is not', (t) => {
  const a = decodeSocks4Request(hex('04 01 00 50 00 00 00 FF 00 68 00'));
  t.true('value' in a && a.value.hostname === 'h');
  const b = decodeSocks4Request(hex('04 01 00 50 00 00 01 01 00 68 00'));
  t.true('value' in b && b.value.hostname === undefined && b.consumed === 9);
});

test('an empty 4A host name is a value flagged for a 91 reply, not an error', (t) => {
  const r = decodeSocks4Request(hex('04 01 00 50 00 00 00 07 75 00 00'));
  t.true('value' in r && r.value.hostname === '' && r.value.emptyHostname);
});

test('USERID keeps 127 bytes and reads the rest up to the NUL', (t) => {
  const user = 'x'.repeat(127) + 'y'.repeat(500);
  const bytes = Buffer.concat([hex('04 01 00 50 7F 00 00 01'), Buffer.from(user), hex('00 41 42')]);
  const r = decodeSocks4Request(bytes);
  if (!('value' in r)) return t.fail('expected a value');
  t.is(r.value.user, 'x'.repeat(127));
  t.true(r.value.userTruncated);
  t.is(r.consumed, bytes.length - 2);
});

test('a USERID of exactly 127 bytes is not marked truncated', (t) => {
  const bytes = encodeSocks4Request({
    command: 'connect',
    port: 1,
    address: '127.0.0.1',
    user: 'z'.repeat(127),
  });
  const r = decodeSocks4Request(bytes);
  t.true('value' in r && r.value.user.length === 127 && !r.value.userTruncated);
});

test('1024 USERID bytes without a NUL end the request with E_S4_USERID_TOO_LONG; 1023 and a NUL pass', (t) => {
  const head = hex('04 01 00 50 7F 00 00 01');
  const ok = Buffer.concat([head, Buffer.alloc(1023, 0x61), hex('00')]);
  t.true('value' in decodeSocks4Request(ok));
  const waiting = Buffer.concat([head, Buffer.alloc(1023, 0x61)]);
  t.deepEqual(decodeSocks4Request(waiting), { need: 1 });
  const tooLong = Buffer.concat([head, Buffer.alloc(1024, 0x61)]);
  const err = t.throws(() => decodeSocks4Request(tooLong), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_S4_USERID_TOO_LONG');
});

test('a 64 KiB USERID with no NUL is refused with E_S4_USERID_TOO_LONG', (t) => {
  const bytes = Buffer.concat([hex('04 01 00 50 7F 00 00 01'), Buffer.alloc(64 * 1024, 0x62)]);
  const err = t.throws(() => decodeSocks4Request(bytes), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_S4_USERID_TOO_LONG');
});

test('a 4A host name of 255 bytes passes; 256 bytes without a NUL is E_S4_HOSTNAME_TOO_LONG', (t) => {
  const head = hex('04 01 00 50 00 00 00 01 75 00');
  const ok = Buffer.concat([head, Buffer.alloc(255, 0x68), hex('00')]);
  const r = decodeSocks4Request(ok);
  t.true('value' in r && r.value.hostname?.length === 255);
  t.deepEqual(decodeSocks4Request(Buffer.concat([head, Buffer.alloc(255, 0x68)])), { need: 1 });
  const err = t.throws(() => decodeSocks4Request(Buffer.concat([head, Buffer.alloc(256, 0x68)])), {
    instanceOf: ProtocolError,
  });
  t.is(err?.code, 'E_S4_HOSTNAME_TOO_LONG');
});

test('a wrong version is refused from its first byte and carries the byte', (t) => {
  const err = t.throws(() => decodeSocks4Request(Buffer.of(0x05)), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_S4_VERSION');
  t.is((err as ProtocolError & { byte: number }).byte, 5);
  t.regex(err?.message ?? '', /0x 5/);
});

test('an undefined command is refused from the second byte and carries the byte', (t) => {
  const err = t.throws(() => decodeSocks4Request(Buffer.of(0x04, 0x03)), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_S4_COMMAND');
  t.is((err as ProtocolError & { byte: number }).byte, 3);
  t.regex(err?.message ?? '', /0x 3/);
});

test('USERID bytes round-trip exactly, including bytes above 0x7F', (t) => {
  const raw = Buffer.from([0xc3, 0xa9, 0xff, 0x80, 0x41]);
  const bytes = Buffer.concat([hex('04 01 00 50 7F 00 00 01'), raw, hex('00')]);
  const r = decodeSocks4Request(bytes);
  if (!('value' in r)) return t.fail('expected a value');
  t.deepEqual(Buffer.from(r.value.user, 'latin1'), raw);
  t.deepEqual(encodeSocks4Request(r.value), bytes);
});

test('replies always carry VN 0 and zero address bytes unless given (b.2, b.5)', (t) => {
  t.deepEqual(encodeSocks4Reply(Socks4Reply.Granted), hex('00 5A 00 00 00 00 00 00'));
  t.deepEqual(encodeSocks4Reply(Socks4Reply.NoIdentd), hex('00 5C 00 00 00 00 00 00'));
  t.deepEqual(encodeSocks4Reply(Socks4Reply.BadId), hex('00 5D 00 00 00 00 00 00'));
  t.deepEqual(encodeSocks4Reply(Socks4Reply.Granted, 0x1234, '10.2.0.1'), hex('00 5A 12 34 0A 02 00 01'));
});

test('a reply decodes incrementally; an Original VN 4 reply is accepted, VN 7 is not', (t) => {
  const bytes = encodeSocks4Reply(Socks4Reply.Rejected, 21, '198.51.100.10');
  const { value } = feedByteByByte(t, decodeSocks4Reply, bytes);
  t.deepEqual(value, { version: 0, code: 91, port: 21, address: '198.51.100.10' });
  const original = decodeSocks4Reply(hex('04 5D 00 50 C6 33 64 0A'));
  t.true('value' in original && original.value.code === 93 && original.value.version === 4);
  t.throws(() => decodeSocks4Reply(Buffer.of(7)), { instanceOf: ProtocolError });
});

test('the encoder refuses a NUL inside USERID and a 4A request with a non-4A address', (t) => {
  t.throws(() => encodeSocks4Request({ command: 'connect', port: 1, address: '1.2.3.4', user: 'a\0b' }), {
    instanceOf: ProtocolError,
  });
  t.throws(
    () => encodeSocks4Request({ command: 'connect', port: 1, address: '1.2.3.4', hostname: 'x', user: 'a' }),
    { instanceOf: ProtocolError },
  );
});

const latin1NoNul = (max: number) =>
  fc
    .uint8Array({ minLength: 0, maxLength: max })
    .map((a) => Buffer.from(a.map((b) => (b === 0 ? 1 : b))).toString('latin1'));

test('property: any request encodes and decodes back to itself', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom('connect' as const, 'bind' as const),
      fc.integer({ min: 0, max: 65535 }),
      fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.')),
      latin1NoNul(127),
      fc.option(latin1NoNul(255), { nil: undefined }),
      (command, port, address, user, hostname) => {
        const init =
          hostname === undefined
            ? { command, port, address, user }
            : { command, port, address: `0.0.0.${(port % 255) + 1}`, user, hostname };
        const bytes = encodeSocks4Request(init);
        const r = decodeSocks4Request(bytes);
        if (!('value' in r)) return false;
        const v = r.value;
        const is4a = hostname !== undefined || /^0\.0\.0\.[1-9]/.test(address);
        return (
          r.consumed === bytes.length &&
          v.command === command &&
          v.port === port &&
          v.address === init.address &&
          v.user === user &&
          (hostname === undefined || v.hostname === hostname) &&
          (is4a || v.hostname === undefined)
        );
      },
    ),
  );
  t.pass();
});

test('property: on arbitrary bytes the decoders ask for more, decode, or throw only ProtocolError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1400 }), fc.boolean(), (bytes, forceHeader) => {
      const buf = Buffer.from(bytes);
      if (forceHeader && buf.length >= 2) {
        buf[0] = 4;
        buf[1] = 1 + ((buf[1] as number) % 2);
      }
      for (const decode of [decodeSocks4Request, decodeSocks4Reply]) {
        try {
          const r = decode(buf);
          if ('need' in r ? r.need < 1 : r.consumed < 1 || r.consumed > buf.length) return false;
        } catch (err) {
          if (!(err instanceof ProtocolError)) return false;
        }
      }
      return true;
    }),
  );
  t.pass();
});

test('property: a reply round-trips for every code, port and address', (t) => {
  fc.assert(
    fc.property(fc.nat(255), fc.integer({ min: 0, max: 65535 }), fc.ipV4(), (code, port, address) => {
      const r = decodeSocks4Reply(encodeSocks4Reply(code, port, address));
      return 'value' in r && r.value.code === code && r.value.port === port && r.value.address === address;
    }),
  );
  t.pass();
});
