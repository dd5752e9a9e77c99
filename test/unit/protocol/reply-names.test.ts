import test from 'ava';
import { Socks4Reply, Socks4ReplyByName } from '../../../src/protocol/socks4.ts';
import { Socks5Reply, Socks5ReplyByName, Socks5ReplyOfSocks4 } from '../../../src/protocol/socks5.ts';
import { describeReply, resolveReply } from '../../../src/scenario/replies.ts';

test('every SOCKS 4 result code has exactly one name', (t) => {
  const codes = Object.values(Socks4ReplyByName);
  t.deepEqual([...codes].sort(), Object.values(Socks4Reply).sort());
  t.is(new Set(codes).size, codes.length);
});

test('every SOCKS 5 REP has exactly one name', (t) => {
  const codes = Object.values(Socks5ReplyByName);
  t.deepEqual(
    [...codes].sort((a, b) => a - b),
    Object.values(Socks5Reply).sort((a, b) => a - b),
  );
  t.is(new Set(codes).size, codes.length);
});

test('a SOCKS 4 result stands for succeeded or not-allowed in SOCKS 5, the identd refusals included', (t) => {
  t.deepEqual(
    Object.entries(Socks5ReplyOfSocks4).map(([s4, s5]) => [Number(s4), s5]),
    [
      [90, 0x00],
      [91, 0x02],
      [92, 0x02],
      [93, 0x02],
    ],
  );
});

test('scenario reply names resolve per protocol and print back with the protocol name', (t) => {
  t.is(resolveReply('no-identd', 'socks4'), 92);
  t.is(resolveReply('granted', 'socks5'), 0x00);
  t.is(resolveReply('rejected', 'socks5'), 0x02);
  t.is(resolveReply('host-unreachable', 'socks5'), 0x04);
  t.is(resolveReply('host-unreachable', 'socks4'), undefined);
  t.is(describeReply(93, 'socks4'), '93 (bad-id)');
  t.is(describeReply(0x00, 'socks5'), '0x00 (succeeded)');
  t.is(describeReply(0x02, 'socks5'), '0x02 (not-allowed)');
  t.is(describeReply(null, 'socks4'), 'none');
});
