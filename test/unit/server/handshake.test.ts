import test from 'ava';
import { parsePasswdFile } from '../../../src/protocol/passwd-file.ts';
import { Credentials, encodeRfc1929Request } from '../../../src/protocol/rfc1929.ts';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import { encodeSocks5Greeting, encodeSocks5Request } from '../../../src/protocol/socks5.ts';
import { Handshake, type HandshakeOptions } from '../../../src/server/handshake.ts';

// The request phase as bytes in / bytes out (b.1, b.3, i.1–i.3).

const passwd = parsePasswdFile('alice:{plain}secret\n', 'passwd');
const opts = (o: Partial<HandshakeOptions> = {}): HandshakeOptions => ({
  socks5: true,
  socks5Auth: 'optional',
  passwd: null,
  ...o,
});

test('a SOCKS 4 request fed byte by byte completes only at its NUL, keeping early payload', (t) => {
  const h = new Handshake(opts());
  const req = Buffer.concat([
    encodeSocks4Request({ command: 'connect', port: 80, address: '10.1.2.3', user: 'alice' }),
    Buffer.from('GET'),
  ]);
  let buf = Buffer.alloc(0);
  let last = h.advance(buf);
  for (let i = 0; i < req.length - 3; i++) {
    t.is(last.outcome.kind, 'more');
    buf = Buffer.concat([buf, req.subarray(i, i + 1)]);
    last = h.advance(buf);
  }
  t.is(last.outcome.kind, 'request');
  t.is(last.consumed, req.length - 3);
  t.like(last.outcome, {
    request: { version: 4, command: 'connect', port: 80, address: '10.1.2.3', user: 'alice' },
  });
});

test('the header counts as incomplete until 8 bytes of a SOCKS 4 request arrived', (t) => {
  const h = new Handshake(opts());
  t.true(h.headerIncomplete(0));
  h.advance(Buffer.from([4, 1, 0]));
  t.true(h.headerIncomplete(3));
  t.false(h.headerIncomplete(8));
});

test('a wrong version and an undefined command are dropped with the offending byte', (t) => {
  t.like(new Handshake(opts({ socks5: false })).advance(Buffer.from([5, 1, 0])).outcome, {
    kind: 'drop',
    code: 'E_S4_VERSION',
    byte: 5,
  });
  t.like(new Handshake(opts()).advance(Buffer.from([4, 3])).outcome, {
    kind: 'drop',
    code: 'E_S4_COMMAND',
    byte: 3,
  });
});

test('SOCKS 5 without auth: method 0x00, then the request with an empty user', (t) => {
  const h = new Handshake(opts());
  const g = h.advance(encodeSocks5Greeting([0x00]));
  t.deepEqual(g.send, [Buffer.from([5, 0])]);
  t.is(g.outcome.kind, 'more');
  const r = h.advance(encodeSocks5Request({ command: 'connect', address: 'example.org', port: 443 }));
  t.like(r.outcome, {
    kind: 'request',
    request: { version: 5, hostname: 'example.org', user: '', emptyName: false },
  });
});

test('SOCKS 5 with a passwd file chooses 0x02 and the RFC 1929 name becomes the user', (t) => {
  const h = new Handshake(opts({ passwd }));
  const bytes = Buffer.concat([
    encodeSocks5Greeting([0x00, 0x02]),
    encodeRfc1929Request(new Credentials('alice', 'secret')),
    encodeSocks5Request({ command: 'bind', address: '::1', port: 21 }),
  ]);
  const step = h.advance(bytes);
  t.deepEqual(step.send, [Buffer.from([5, 2]), Buffer.from([1, 0])]);
  t.like(step.outcome, { kind: 'request', request: { command: 'bind', address: '::1', user: 'alice' } });
  t.is(step.consumed, bytes.length);
});

test('a wrong password refuses with status 1 and names the user', (t) => {
  const h = new Handshake(opts({ passwd }));
  const step = h.advance(
    Buffer.concat([encodeSocks5Greeting([0x02]), encodeRfc1929Request(new Credentials('alice', 'nope'))]),
  );
  t.deepEqual(step.send, [Buffer.from([5, 2]), Buffer.from([1, 1])]);
  t.deepEqual(step.outcome, { kind: 'refuse', reason: 'auth-failed', authFailedUser: 'alice' });
});

test('required auth without a usable method answers 0xFF', (t) => {
  const step = new Handshake(opts({ socks5Auth: 'required', passwd })).advance(encodeSocks5Greeting([0x00]));
  t.deepEqual(step.send, [Buffer.from([5, 0xff])]);
  t.is(step.outcome.kind, 'refuse');
});

test('UDP ASSOCIATE and an unknown address type are refused with 0x07 and 0x08', (t) => {
  const udp = new Handshake(opts());
  udp.advance(encodeSocks5Greeting([0]));
  const u = udp.advance(encodeSocks5Request({ command: 'udp', address: '0.0.0.0', port: 0 }));
  t.is(u.send[0]![1], 0x07);
  const atyp = new Handshake(opts());
  atyp.advance(encodeSocks5Greeting([0]));
  const a = atyp.advance(Buffer.from([5, 1, 0, 9]));
  t.is(a.send[0]![1], 0x08);
  t.is(a.outcome.kind, 'refuse');
});
