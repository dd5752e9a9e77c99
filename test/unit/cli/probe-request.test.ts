import test from 'ava';
import { probeRequest } from '../../../src/cli/commands/probe.ts';

const flags = { from: 'C', user: 'y', connect: 'z:7', timeout: '5000', runtime: 'local' };

test('probe --claim sends another USERID than the user the probe runs as', (t) => {
  const r = probeRequest({ ...flags, claim: 'x' });
  t.is(r.user, 'y');
  t.is(r.claim, 'x');
  t.false('claim' in probeRequest(flags));
  t.false('claim' in probeRequest({ ...flags, claim: 'y' }), 'claiming oneself is no forged claim');
});

test('probe --claim with --socks5 is refused: SOCKS 5 names its user in --username', (t) => {
  const err = t.throws(() => probeRequest({ ...flags, claim: 'x', socks5: true }));
  t.is((err as { code?: string }).code, 'E_CLI_OPTION');
  t.regex(err!.message, /--claim sets the SOCKS 4 USERID/);
});
