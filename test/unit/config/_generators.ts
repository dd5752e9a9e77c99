/**
 * fast-check generators of config text built from field tokens, so property tests reach valid
 * rules (not only rejected noise).
 */
import fc from 'fast-check';

const addr = fc.oneof(
  fc.constantFrom(
    'ALL',
    'all',
    '.Zone.example',
    'host.Example.com',
    '10.0.0.0',
    '010.1',
    '0x0a.1.2.3',
    '192.168.1',
  ),
  fc.integer({ min: 0, max: 0xffffffff }).map(String),
);
const mask = fc.constantFrom('255.0.0.0', '0', '0.0.0.0', '255.255.255.128', '0xffffff00');
const fullPair = fc.tuple(addr, mask).map(([a, m]) => `${a} ${m}`);
/** A pair whose mask may be omitted: only valid where nothing but an operator may follow. */
const pair = fc.oneof(fullPair, fc.constantFrom('ALL', '.lonely.zone', 'name.only'));
const op = fc.constantFrom('eq', 'NEQ', 'lt', 'Gt', 'le', 'ge');
const port = fc.oneof(
  fc.constantFrom('telnet', 'www', 'socks', '80abc', '0', '65535'),
  fc.nat(65535).map(String),
);
const portTest = fc.option(
  fc.tuple(op, port).map(([o, p]) => `${o} ${p}`),
  { nil: '' },
);
const users = fc.option(fc.constantFrom('*=', '*=a', '*=a,,b', '*=/etc/u,c,', '*=x,/f/g'), { nil: '' });
const command = fc.option(
  fc.stringMatching(/^[ a-zA-Z0-9#%":;|]{0,30}$/).map((c) => `:${c}`),
  { nil: '' },
);
const comment = fc.option(fc.constantFrom('# comment', '#: not a command'), { nil: '' });
const blanks = fc.constantFrom(' ', '  ', '\t', ' \t ');

function join(fields: readonly string[], sep: string): string {
  return fields.filter((f) => f !== '').join(sep);
}

export const serverLine = fc
  .tuple(
    fc.constantFrom('permit', 'deny', 'DENY', 'Permit'),
    fc.option(fc.constantFrom('?=I', '?=i', '?=n', '?='), { nil: '' }),
    users,
    fullPair,
    fc.option(pair, { nil: '' }),
    portTest,
    fc.oneof(command, comment),
    blanks,
  )
  .map(([action, identd, u, src, dst, p, tail, sep]) => join([action, identd, u, src, dst, p, tail], sep));

export const clientLine = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('deny', 'direct', 'Direct', 'sockd', 'SOCKD'),
      fc.constantFrom('sockd @=', 'sockd @=10.0.0.1', 'sockd @=a,b,,c', 'sockd@', 'sockd@x.example,1.2.3.4'),
    ),
    users,
    pair,
    portTest,
    fc.oneof(command, comment),
    blanks,
  )
  .map(([action, u, dst, p, tail, sep]) => join([action, u, dst, p, tail], sep));

export const routeLine = fc
  .tuple(fc.constantFrom('10.0.0.1', '192.168.1', '0x7f000001'), pair, comment, blanks)
  .map(([iface, dst, tail, sep]) => join([iface, dst, tail], sep));

export const specialLine = fc.constantFrom(
  '#NO_IDENTD: echo %u',
  '#BAD_ID:x',
  '#NO_IDENTD:',
  ' #BAD_ID: not special',
);

/** A file of generated lines mixed with blank and comment lines. */
export function fileOf(line: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof({ weight: 5, arbitrary: line }, fc.constantFrom('', '# c', '   ')), { maxLength: 12 })
    .map((lines) => lines.join('\n'));
}
