import test from 'ava';
import { type Failure, socks4CodeFor, socks5RepFor, systemErrorText } from '../../../src/server/replies.ts';

// One table maps every failure to its SOCKS 4 code (b.2) and SOCKS 5 REP (i.3).

const rows: [Failure, number, number][] = [
  [{ kind: 'refused' }, 91, 0x02],
  [{ kind: 'config-unusable' }, 91, 0x01],
  [{ kind: 'identd-unavailable' }, 92, 0x02],
  [{ kind: 'identd-mismatch' }, 93, 0x02],
  [{ kind: 'errno', code: 'ECONNREFUSED' }, 91, 0x05],
  [{ kind: 'errno', code: 'ENETUNREACH' }, 91, 0x03],
  [{ kind: 'errno', code: 'EHOSTUNREACH' }, 91, 0x04],
  [{ kind: 'errno', code: 'ETIMEDOUT' }, 91, 0x04],
  [{ kind: 'errno', code: 'EMFILE' }, 91, 0x01],
  [{ kind: 'unresolved' }, 91, 0x04],
  [{ kind: 'unspecified' }, 91, 0x04],
  [{ kind: 'timeout' }, 91, 0x04],
  [{ kind: 'no-route' }, 91, 0x01],
  [{ kind: 'upstream-unreachable' }, 91, 0x04],
  [{ kind: 'upstream-rejected', code: 92 }, 91, 0x01],
  [{ kind: 'upstream-rejected', code: 93 }, 91, 0x01],
  [{ kind: 'wrong-peer' }, 91, 0x02],
  [{ kind: 'command-unsupported' }, 91, 0x07],
  [{ kind: 'address-type-unsupported' }, 91, 0x08],
];

for (const [failure, s4, s5] of rows) {
  test(`${JSON.stringify(failure)} replies ${s4} to SOCKS 4 and 0x0${s5.toString(16)} to SOCKS 5`, (t) => {
    t.is(socks4CodeFor(failure), s4);
    t.is(socks5RepFor(failure), s5);
  });
}

test('upstream 92/93 never reach our client as 92/93 (d.8)', (t) => {
  for (const code of [92, 93]) t.is(socks4CodeFor({ kind: 'upstream-rejected', code }), 91);
});

test('errno codes print as the C library strerror text', (t) => {
  t.is(systemErrorText('ECONNREFUSED'), 'Connection refused');
  t.is(systemErrorText('ETIMEDOUT'), 'Connection timed out');
  t.is(systemErrorText('ENETUNREACH'), 'Network is unreachable');
  t.is(systemErrorText('EWHATEVER'), 'EWHATEVER');
  t.is(systemErrorText(undefined), 'Unknown error');
});
