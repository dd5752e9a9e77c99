import test from 'ava';
import { createDockerRuntime } from '../../../../src/runtime/docker/index.ts';
import type { ResolvedTopology } from '../../../../src/topology/model.ts';

const empty: ResolvedTopology = { name: 'empty', file: '/e.yaml', networks: [], hosts: [] };

test('an unreachable engine is a probe reason, not a crash', async (t) => {
  const runtime = createDockerRuntime({
    connect: () =>
      Promise.reject(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' })),
  });
  const probe = await runtime.probe();
  t.false(probe.ok);
  t.regex(probe.ok ? '' : probe.reason, /unreachable: connect ENOENT \/var\/run\/docker\.sock/);
});

test('a machine without any engine is told how to get one', async (t) => {
  const runtime = createDockerRuntime({
    connect: () => Promise.reject(new Error('Could not find a working container runtime strategy')),
  });
  const probe = await runtime.probe();
  t.regex(probe.ok ? '' : probe.reason, /install docker\.io and start dockerd/);
});

test('bringing a lab up without an engine fails as an unavailable runtime', async (t) => {
  const runtime = createDockerRuntime({ connect: () => Promise.reject(new Error('connect ECONNREFUSED')) });
  await t.throwsAsync(() => runtime.up(empty), {
    code: 'E_RUNTIME_UNAVAILABLE',
    message: /runtime docker is unavailable/,
  });
});
