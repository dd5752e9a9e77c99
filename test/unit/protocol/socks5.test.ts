import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/common/errors.ts';
import {
  chooseSocks5Method,
  decodeSocks5Greeting,
  decodeSocks5MethodChoice,
  decodeSocks5Reply,
  decodeSocks5Request,
  decodeSocks5UdpDatagram,
  encodeSocks5Greeting,
  encodeSocks5MethodChoice,
  encodeSocks5Reply,
  encodeSocks5Request,
  encodeSocks5UdpDatagram,
  Socks5Method,
  Socks5Reply,
} from '../../../src/protocol/socks5.ts';
import { feedByteByByte, hex } from './feed.ts';

test('a greeting offering no-auth and username/password decodes in order, byte by byte', (t) => {
  const bytes = hex('05 02 00 02');
  const { value } = feedByteByByte(t, decodeSocks5Greeting, bytes);
  t.deepEqual(value, { version: 5, methods: [0, 2] });
  t.deepEqual(encodeSocks5Greeting([0, 2]), bytes);
});

test('a greeting with NMETHODS 0 decodes to no methods (the server answers 0xFF)', (t) => {
  t.deepEqual(decodeSocks5Greeting(hex('05 00')), { value: { version: 5, methods: [] }, consumed: 2 });
});

test('the method choice, including "no acceptable method", is two bytes', (t) => {
  t.deepEqual(encodeSocks5MethodChoice(Socks5Method.UserPass), hex('05 02'));
  t.deepEqual(encodeSocks5MethodChoice(Socks5Method.NoAcceptable), hex('05 FF'));
  t.deepEqual(decodeSocks5MethodChoice(hex('05 FF')), { value: { method: 0xff }, consumed: 2 });
});

test('a greeting with another version is E_S5_VERSION carrying the byte', (t) => {
  const err = t.throws(() => decodeSocks5Greeting(Buffer.of(4)), { instanceOf: ProtocolError });
  t.is(err?.code, 'E_S5_VERSION');
  t.is((err as ProtocolError & { byte: number }).byte, 4);
});

const requests = [
  [
    'an IPv4 CONNECT',
    '05 01 00 01 C6 33 64 0A 00 50',
    { command: 'connect', addressType: 'ipv4', address: '198.51.100.10', port: 80 },
  ],
  [
    'a domain CONNECT',
    '05 01 00 03 0F 77 77 77 2E 65 78 61 6D 70 6C 65 2E 6F 72 67 01 BB',
    { command: 'connect', addressType: 'domain', address: 'www.example.org', port: 443 },
  ],
  [
    'an IPv6 BIND',
    '05 02 00 04 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 15',
    { command: 'bind', addressType: 'ipv6', address: '2001:db8::1', port: 21 },
  ],
  [
    'a UDP ASSOCIATE',
    '05 03 00 01 00 00 00 00 00 00',
    { command: 'udp', addressType: 'ipv4', address: '0.0.0.0', port: 0 },
  ],
] as const;

for (const [name, wire, fields] of requests) {
  test(`${name} request decodes byte by byte and encodes to the same bytes`, (t) => {
    const bytes = hex(wire);
    const { value } = feedByteByByte(t, decodeSocks5Request, bytes);
    t.deepEqual(value, { version: 5, ...fields });
    t.deepEqual(encodeSocks5Request(fields), bytes);
  });
}

test('bytes after a SOCKS 5 request are left for the caller', (t) => {
  const r = decodeSocks5Request(Buffer.concat([hex('05 01 00 01 7F 00 00 01 00 50'), Buffer.from('early')]));
  t.true('value' in r && r.consumed === 10);
});

for (const [name, wire, code, byte] of [
  ['an unknown command', '05 09', 'E_S5_COMMAND', 9],
  ['a non-zero reserved byte', '05 01 01', 'E_S5_RESERVED', 1],
  ['an unknown address type', '05 01 00 02', 'E_S5_ATYP', 2],
  ['a wrong version', '04', 'E_S5_VERSION', 4],
] as const) {
  test(`${name} in a request is ${code}`, (t) => {
    const err = t.throws(() => decodeSocks5Request(hex(wire)), { instanceOf: ProtocolError });
    t.is(err?.code, code);
    t.is((err as ProtocolError & { byte: number }).byte, byte);
  });
}

test('replies carry a bound address of any type', (t) => {
  t.deepEqual(
    encodeSocks5Reply(Socks5Reply.Succeeded, { address: '10.2.0.1', port: 1080 }),
    hex('05 00 00 01 0A 02 00 01 04 38'),
  );
  t.deepEqual(encodeSocks5Reply(Socks5Reply.NotAllowed), hex('05 02 00 01 00 00 00 00 00 00'));
  t.deepEqual(
    encodeSocks5Reply(Socks5Reply.Succeeded, { address: '::1', port: 80 }),
    hex('05 00 00 04 00000000000000000000000000000001 00 50'),
  );
  t.deepEqual(
    encodeSocks5Reply(Socks5Reply.HostUnreachable, { address: 'a.b', port: 1 }),
    hex('05 04 00 03 03 61 2E 62 00 01'),
  );
});

test('a reply decodes byte by byte', (t) => {
  const bytes = encodeSocks5Reply(Socks5Reply.ConnectionRefused, { address: 'proxy.example', port: 1080 });
  const { value } = feedByteByByte(t, decodeSocks5Reply, bytes);
  t.deepEqual(value, { version: 5, code: 5, addressType: 'domain', address: 'proxy.example', port: 1080 });
});

test('the reply table follows RFC 1928 numbering', (t) => {
  t.deepEqual(Object.values(Socks5Reply), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a UDP datagram header round-trips and keeps FRAG and the payload', (t) => {
  const bytes = encodeSocks5UdpDatagram({
    frag: 2,
    address: '198.51.100.10',
    port: 53,
    data: Buffer.from('q'),
  });
  t.deepEqual(bytes, hex('00 00 02 01 C6 33 64 0A 00 35 71'));
  t.deepEqual(decodeSocks5UdpDatagram(bytes), {
    frag: 2,
    addressType: 'ipv4',
    address: '198.51.100.10',
    port: 53,
    data: Buffer.from('q'),
  });
});

test('a UDP datagram cut inside its header is E_S5_UDP_SHORT', (t) => {
  const err = t.throws(() => decodeSocks5UdpDatagram(hex('00 00 00 03 09 61')), {
    instanceOf: ProtocolError,
  });
  t.is(err?.code, 'E_S5_UDP_SHORT');
});

const addressArb = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,60}$/).filter((s) => !/^[0-9.]+$/.test(s)),
);

test('property: requests, replies and datagrams round-trip for any address type', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom('connect' as const, 'bind' as const, 'udp' as const),
      addressArb,
      fc.integer({ min: 0, max: 65535 }),
      fc.nat(255),
      (command, address, port, code) => {
        const req = decodeSocks5Request(encodeSocks5Request({ command, address, port }));
        const rep = decodeSocks5Reply(encodeSocks5Reply(code, { address, port }));
        const udp = decodeSocks5UdpDatagram(
          encodeSocks5UdpDatagram({ address, port, data: Buffer.of(1, 2) }),
        );
        if (!('value' in req) || !('value' in rep)) return false;
        // IPv6 text comes back canonical; compare through a second round trip.
        const canon = req.value.address;
        const again = decodeSocks5Request(encodeSocks5Request({ command, address: canon, port }));
        return (
          req.value.command === command &&
          req.value.port === port &&
          rep.value.code === code &&
          rep.value.address === canon &&
          udp.address === canon &&
          'value' in again &&
          again.value.address === canon &&
          (req.value.addressType !== 'ipv4' || canon === address)
        );
      },
    ),
  );
  t.pass();
});

test('property: on arbitrary bytes the decoders ask for more, decode, or throw only ProtocolError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const buf = Buffer.from(bytes);
      for (const decode of [
        decodeSocks5Greeting,
        decodeSocks5Request,
        decodeSocks5Reply,
        decodeSocks5MethodChoice,
      ]) {
        try {
          const r = decode(buf);
          if ('need' in r ? r.need < 1 : r.consumed > buf.length) return false;
        } catch (err) {
          if (!(err instanceof ProtocolError)) return false;
        }
      }
      try {
        decodeSocks5UdpDatagram(buf);
      } catch (err) {
        if (!(err instanceof ProtocolError)) return false;
      }
      return true;
    }),
  );
  t.pass();
});

for (const [offered, passwd, authRequired, chosen] of [
  [[0, 2], true, false, 2],
  [[0], true, false, 0],
  [[0], true, true, 0xff],
  [[2], false, false, 0xff],
  [[0, 2], false, false, 0],
  [[1], true, false, 0xff],
  [[], false, false, 0xff],
] as const) {
  test(`offered [${offered}] with passwd=${passwd} and auth required=${authRequired}, the server chooses 0x${chosen.toString(16)}`, (t) => {
    t.is(chooseSocks5Method(offered, { passwd, authRequired }), chosen);
  });
}
