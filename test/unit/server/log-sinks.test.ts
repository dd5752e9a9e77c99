import test from 'ava';
import {
  LineWriter,
  rfc3164Line,
  syslogPriority,
  TextLog,
  timestamp,
} from '../../../src/server/log-sinks.ts';
import { eventually } from '../../helpers/eventually.ts';

// h.4: timestamp + `ident[pid]: message` lines; syslog facility daemon with notice/err priorities.

test('the text log writes `<timestamp> ident[pid]: message` lines', async (t) => {
  const chunks: string[] = [];
  const writer = new LineWriter({ write: (c: Uint8Array) => chunks.push(Buffer.from(c).toString()) });
  const log = new TextLog(writer, 'rsockd', 4242, () => Date.UTC(2026, 10, 26, 6, 0, 0));
  log.write('notice', 'connected -- Connect from x(unknown)@B to z (http)');
  log.write('err', 'Unable to open config file (/etc/sockd.conf)');
  writer.flush();
  t.deepEqual(chunks, [
    '2026-11-26T06:00:00.000Z rsockd[4242]: connected -- Connect from x(unknown)@B to z (http)\n' +
      '2026-11-26T06:00:00.000Z rsockd[4242]: Unable to open config file (/etc/sockd.conf)\n',
  ]);
});

test('log timestamps agree with toISOString through millisecond and second changes', (t) => {
  const base = Date.UTC(2026, 11, 31, 23, 59, 58);
  // in order, back in time, repeated, and across a year boundary
  const times = [
    base,
    base + 7,
    base + 7,
    base + 45,
    base + 999,
    base + 1000,
    base + 1001,
    base + 2123,
    base + 5,
  ];
  for (const ms of times) t.is(timestamp(ms), new Date(ms).toISOString(), String(ms));
});

test('syslog priorities use facility daemon: notice 29, err 27', (t) => {
  t.is(syslogPriority('notice'), 29);
  t.is(syslogPriority('err'), 27);
  t.is(
    rfc3164Line('notice', 'sockd', 7, 'hello', new Date(2026, 0, 5, 4, 3, 2)),
    '<29>Jan  5 04:03:02 sockd[7]: hello',
  );
});

test('lines are written together after a short delay, or at once when a large batch is pending', async (t) => {
  const chunks: string[] = [];
  const writer = new LineWriter(
    { write: (c: Uint8Array) => chunks.push(Buffer.from(c).toString()) },
    undefined,
    20,
  );
  writer.write('a\n');
  writer.write('b\n');
  t.deepEqual(chunks, []);
  // The batch's 20 ms timer, waited for itself: a fixed pause is a guess about a loaded machine.
  await eventually(() => chunks.length > 0, 'the delayed batch');
  t.deepEqual(chunks, ['a\nb\n']);
  const big = `${'x'.repeat(70 * 1024)}\n`;
  writer.write('before\n');
  writer.write(big);
  t.deepEqual(
    chunks,
    ['a\nb\n', 'before\n', big],
    'over 64 KiB goes out without waiting, after what was pending',
  );
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'é'.repeat(i % 40)}\n`);
  for (const line of lines) writer.write(line);
  t.true(chunks.length > 3, 'a full batch goes out without waiting');
  writer.write('c\n');
  writer.flushSync();
  t.is(chunks.slice(3).join(''), `${lines.join('')}c\n`, 'every line once, in order, as UTF-8');
});

test('a message with a newline stays one text-log line; syslog lines are escaped the same way', (t) => {
  const chunks: string[] = [];
  const writer = new LineWriter({ write: (c: Uint8Array) => chunks.push(Buffer.from(c).toString()) });
  const log = new TextLog(writer, 'rsockd', 7, () => Date.UTC(2026, 10, 26, 6, 0, 0));
  log.write(
    'notice',
    'refused -- Connect from x\n2026-11-26T06:00:00.000Z rsockd[1]: forged\x1b[2J(unknown)@h',
  );
  writer.flush();
  t.deepEqual(chunks, [
    '2026-11-26T06:00:00.000Z rsockd[7]: refused -- Connect from x\\n2026-11-26T06:00:00.000Z rsockd[1]: forged\\x1b[2J(unknown)@h\n',
  ]);
  t.regex(rfc3164Line('notice', 'rsockd', 7, 'a\nb\x00', new Date(0)), /rsockd\[7\]: a\\nb\\x00$/);
});
