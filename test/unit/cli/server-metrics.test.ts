import test from 'ava';
import { parseMetricsAddress } from '../../../src/cli/metrics-address.ts';
import { parseServerArgs, UsageError } from '../../../src/cli/server-cli.ts';

test('--metrics is off unless given, and takes ADDR:PORT or [V6]:PORT', (t) => {
  t.is(parseServerArgs('rsockd', [], {}).metrics, undefined);
  t.deepEqual(parseServerArgs('rsockd', ['--metrics', '127.0.0.1:9180'], {}).metrics, {
    host: '127.0.0.1',
    port: 9180,
  });
  t.deepEqual(parseMetricsAddress('[::1]:9180'), { host: '::1', port: 9180 });
  t.deepEqual(parseMetricsAddress('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9180', '127.0.0.1', '127.0.0.1:99999', '::1:9180', '127.0.0.1:x', '']) {
    t.is(parseMetricsAddress(bad), null, bad);
  }
  t.throws(() => parseServerArgs('rsockd', ['--metrics', '9180'], {}), {
    instanceOf: UsageError,
    message: '--metrics: expected ADDR:PORT or [V6ADDR]:PORT, got "9180"',
  });
});
