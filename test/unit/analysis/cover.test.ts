import test from 'ava';
import { addrCovers, portCovers, usersCover } from '../../../src/analysis/cover.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';

/** Rule fields from real sockd.conf lines, so the table reads like configs. */
function rule(line: string) {
  const r = parseSockdConf(`${line}\n`, { file: 'sockd.conf' }).rules[0];
  if (!r) throw new Error(`no rule in ${line}`);
  return r;
}

const covers = (outer: string, inner: string) => {
  const o = rule(outer);
  const i = rule(inner);
  return (
    addrCovers(o.src, i.src) &&
    addrCovers(o.dst, i.dst) &&
    usersCover(o.users, i.users) &&
    portCovers(o.port, i.port)
  );
};

const table: [string, string, boolean][] = [
  ['permit 10.0.0.0 255.0.0.0', 'permit 10.1.2.3 255.255.255.255', true],
  ['permit 10.1.2.3 255.255.255.255', 'permit 10.0.0.0 255.0.0.0', false],
  ['permit 10.0.0.0 255.0.0.0', 'permit 11.0.0.0 255.0.0.0', false],
  ['permit ALL', 'permit .example.com', true],
  ['permit .example.com', 'permit .lab.example.com', true],
  ['permit .example.com', 'permit www.example.com', true],
  ['permit .example.com', 'permit www.example.net', false],
  ['permit .example.com', 'permit 10.0.0.1 255.255.255.255', false],
  ['permit 0.0.0.0 0.0.0.0', 'permit *=x 10.0.0.0 255.0.0.0 eq 80', true],
  ['permit *=x,y 10.0.0.0 255.0.0.0', 'permit *=x 10.0.0.0 255.0.0.0', true],
  ['permit *=x 10.0.0.0 255.0.0.0', 'permit *=x,y 10.0.0.0 255.0.0.0', false],
  ['permit *=x 10.0.0.0 255.0.0.0', 'permit 10.0.0.0 255.0.0.0', false],
  ['permit *=/etc/staff 10.0.0.0 255.0.0.0', 'permit *=x 10.0.0.0 255.0.0.0', false],
  ['permit 10.0.0.0 255.0.0.0 lt 1024', 'permit 10.0.0.0 255.0.0.0 eq 80', true],
  ['permit 10.0.0.0 255.0.0.0 eq 80', 'permit 10.0.0.0 255.0.0.0 lt 1024', false],
  ['permit 10.0.0.0 255.0.0.0 neq 23', 'permit 10.0.0.0 255.0.0.0 gt 1023', true],
  ['permit 10.0.0.0 255.0.0.0 neq 23', 'permit 10.0.0.0 255.0.0.0 le 23', false],
  ['permit 10.0.0.0 255.0.0.0 10.2.0.0 255.255.0.0', 'permit 10.0.0.0 255.0.0.0', false],
];

for (const [outer, inner, expected] of table) {
  test(`\`${outer}\` ${expected ? 'covers' : 'does not cover'} \`${inner}\``, (t) => {
    t.is(covers(outer, inner), expected);
  });
}
