import { readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import {
  encodeIdentAnswer,
  encodeIdentQuery,
  type IdentAnswer,
  parseIdentAnswer,
  parseIdentQuery,
} from '../../../src/protocol/ident.ts';

test('the query is the client port, blank comma blank, the server port, CR LF', (t) => {
  t.is(encodeIdentQuery(6191, 1080), '6191 , 1080\r\n');
});

const user = (u: string, opsys: string, charset?: string): IdentAnswer =>
  charset === undefined ? { kind: 'user', user: u, opsys } : { kind: 'user', user: u, opsys, charset };
const malformed = { kind: 'malformed' } as const;

// [answer line, expected] — the g.3 grammar, one row per rule.
const table: [string, IdentAnswer | typeof malformed][] = [
  ['6191 , 1080 : USERID : UNIX : alice', user('alice', 'UNIX')],
  ['6191,1080:USERID:UNIX:alice', user('alice', 'UNIX')],
  ['4711 , 1080 : USERID : UNIX,US-ASCII :   gina   ', user('gina', 'UNIX', 'US-ASCII')],
  ['1,2 : USERID : OTHER , UTF-8 , extra, more : bob', user('bob', 'OTHER', 'UTF-8')],
  ['1 , 2 : USERID : UNIX : Gina', user('Gina', 'UNIX')],
  ['1 , 2 : USERID : UNIX : two words ', user('two words', 'UNIX')],
  ['1 , 2 : USERID : UNIX : a:b', user('a:b', 'UNIX')],
  ['1 , 2 : USERID : UNIX,OCTET :  spaced  ', user('  spaced  ', 'UNIX', 'OCTET')],
  ['\t1\t,\t2\t:\tUSERID\t:\tUNIX\t:\ttabbed\t', user('tabbed', 'UNIX')],
  ['1 , 2 : USERID : UNIX : root\r\nsecond line', user('root', 'UNIX')],
  ['1 , 2 : USERID : UNIX : root\rrest', user('root', 'UNIX')],
  ['99999 , 0 : USERID : UNIX : x', user('x', 'UNIX')],
  ['1 , 2 : ERROR : NO-USER', { kind: 'error', error: 'NO-USER' }],
  ['1 , 2 : ERROR : HIDDEN-USER ', { kind: 'error', error: 'HIDDEN-USER' }],
  ['1 , 2 : ERROR : INVALID-PORT', { kind: 'error', error: 'INVALID-PORT' }],
  ['1 , 2 : ERROR : UNKNOWN-ERROR', { kind: 'error', error: 'UNKNOWN-ERROR' }],
  ['1 , 2 : ERROR : X-DEBUG', { kind: 'error', error: 'X-DEBUG' }],
  ['1 , 2 : USERID : UNIX :    ', malformed],
  ['1 , 2 : USERID : UNIX,OCTET :', malformed],
  ['1 , 2 : USERID : UNIX', malformed],
  ['1 , 2 : USERID : UNIX,ASCII', malformed],
  ['1 , 2 : USERID', malformed],
  ['1 , 2 : userid : UNIX : alice', malformed],
  ['1 , 2 : USER ID : UNIX : alice', malformed],
  ['1 2 : USERID : UNIX : alice', malformed],
  ['a , 2 : USERID : UNIX : alice', malformed],
  [' , 2 : USERID : UNIX : alice', malformed],
  ['1 , 2 , 3 : USERID : UNIX : alice', malformed],
  ['-1 , 2 : USERID : UNIX : alice', malformed],
  ['USERID : UNIX : alice', malformed],
  ['', malformed],
  ['\r\n1 , 2 : USERID : UNIX : alice', malformed],
];

for (const [line, expected] of table) {
  test(`identd answer ${JSON.stringify(line)} reads as ${expected.kind}${'user' in expected ? ` ${JSON.stringify(expected.user)}` : ''}`, (t) => {
    const got = parseIdentAnswer(line);
    if (expected.kind === 'malformed') {
      t.is(got.kind, 'malformed');
      t.true('reason' in got && got.reason.length > 0);
    } else {
      t.deepEqual(got, expected);
    }
  });
}

test('row 34 of sockd.conf.expect.md: the quoted answer yields gina', (t) => {
  const md = readFileSync(new URL('../../fixtures/spec/sockd.conf.expect.md', import.meta.url), 'utf8');
  const row = md.split('\n').find((l) => l.startsWith('| 34 |'));
  const answer = /answer `([^`]*)`/.exec(row ?? '')?.[1];
  t.truthy(answer, 'row 34 quotes an identd answer');
  const got = parseIdentAnswer(answer as string);
  t.true(got.kind === 'user' && got.user === 'gina');
});

test('the port pair is not compared with any query ((j) 39)', (t) => {
  t.deepEqual(
    parseIdentAnswer('1 , 1 : USERID : UNIX : x'),
    parseIdentAnswer('65535 , 80 : USERID : UNIX : x'),
  );
});

test('the fake server answers in the form the parser reads back', (t) => {
  const ports = { localPort: 6191, remotePort: 1080 };
  t.is(encodeIdentAnswer(ports, { kind: 'user', user: 'alice' }), '6191 , 1080 : USERID : UNIX : alice\r\n');
  t.is(encodeIdentAnswer(ports, { kind: 'error', error: 'NO-USER' }), '6191 , 1080 : ERROR : NO-USER\r\n');
  t.is(
    encodeIdentAnswer(ports, { kind: 'user', user: 'x', opsys: 'OTHER', charset: 'US-ASCII' }),
    '6191 , 1080 : USERID : OTHER,US-ASCII : x\r\n',
  );
});

test('property: any user-id without surrounding blanks or CR/LF round-trips', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 65535 }),
      fc.integer({ min: 1, max: 65535 }),
      fc
        .uint8Array({ minLength: 1, maxLength: 60 })
        .map((a) =>
          Buffer.from(a)
            .toString('latin1')
            .replace(/[\r\n]/g, 'x')
            .replace(/^[ \t]+|[ \t]+$/g, ''),
        )
        .filter((s) => s.length > 0),
      (localPort, remotePort, u) => {
        const line = encodeIdentAnswer({ localPort, remotePort }, { kind: 'user', user: u });
        const got = parseIdentAnswer(line);
        return got.kind === 'user' && got.user === u && got.opsys === 'UNIX';
      },
    ),
  );
  t.pass();
});

test('property: parsing never throws on arbitrary text', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      const got = parseIdentAnswer(s);
      return ['user', 'error', 'malformed'].includes(got.kind);
    }),
  );
  t.pass();
});

test('the fake server reads a query as its own port then the asker’s port', (t) => {
  t.deepEqual(parseIdentQuery('6191 , 1080\r\n'), { kind: 'query', localPort: 6191, remotePort: 1080 });
  t.deepEqual(parseIdentQuery('6191,1080'), { kind: 'query', localPort: 6191, remotePort: 1080 });
  t.deepEqual(parseIdentQuery('0 , 1080'), { kind: 'invalid-port', localPort: 0, remotePort: 1080 });
  t.deepEqual(parseIdentQuery('70000 , 1080'), { kind: 'invalid-port', localPort: 70000, remotePort: 1080 });
  t.is(parseIdentQuery('hello').kind, 'malformed');
  t.is(parseIdentQuery('1 , 2 , 3').kind, 'malformed');
});

test('a query the client encodes is the query the server parses', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (c, s) => {
      const q = parseIdentQuery(encodeIdentQuery(c, s));
      return q.kind === 'query' && q.localPort === c && q.remotePort === s;
    }),
  );
  t.pass();
});
