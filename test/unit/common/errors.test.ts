import test from 'ava';
import { errorCode, InputError, RuntimeUnavailableError } from '../../../src/common/errors.ts';

test('an error carries a stable code that callers can branch on', (t) => {
  const err = new InputError('E_TOPO_KEY', 'topo.yaml:3:5: unknown key');
  t.is(errorCode(err), 'E_TOPO_KEY');
  t.is(err.name, 'InputError');
});

test('an unavailable runtime names itself and the reason', (t) => {
  const err = new RuntimeUnavailableError('docker', 'no engine at /var/run/docker.sock');
  t.is(err.code, 'E_RUNTIME_UNAVAILABLE');
  t.regex(err.message, /docker.*no engine/);
});
