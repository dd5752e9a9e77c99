import test from 'ava';
import { RuntimeUnavailableError } from '../../../src/common/errors.ts';
import { RuntimeRegistry, UnknownRuntimeError } from '../../../src/runtime/registry.ts';
import type { Runtime } from '../../../src/runtime/runtime.ts';

const fake = (name: Runtime['name'], ok = true): Runtime => ({
  name,
  probe: async () =>
    ok ? { ok: true } : { ok: false, reason: 'needs root: ip netns add failed with EPERM' },
  up: async () => {
    throw new Error('not in this test');
  },
});

test('an unknown runtime name lists the supported runtimes and suggests the near miss', (t) => {
  const registry = new RuntimeRegistry().register(fake('local')).register(fake('docker'));
  const err = t.throws(() => registry.get('dokcer'), { instanceOf: UnknownRuntimeError });
  t.is(err?.message, 'unknown runtime `dokcer` (did you mean `docker`?); supported: local, docker');
  t.is(err?.code, 'E_RUNTIME_UNKNOWN');
});

test('a runtime known but unavailable is listed as such, and asking for it says why', (t) => {
  const registry = new RuntimeRegistry().register(fake('local')).unavailable('netns', 'not built yet');
  t.regex(
    t.throws(() => registry.get('foo'))?.message ?? '',
    /supported: local; unavailable: netns \(not built yet\)$/,
  );
  const err = t.throws(() => registry.get('netns'), { instanceOf: RuntimeUnavailableError });
  t.is(err?.reason, 'not built yet');
});

test('ready() turns a failing probe into RuntimeUnavailableError with the probe reason', async (t) => {
  const registry = new RuntimeRegistry().register(fake('netns', false)).register(fake('local'));
  const err = await t.throwsAsync(registry.ready('netns'), { instanceOf: RuntimeUnavailableError });
  t.regex(err?.message ?? '', /needs root: ip netns add failed with EPERM/);
  t.is((await registry.ready('local')).name, 'local');
});
