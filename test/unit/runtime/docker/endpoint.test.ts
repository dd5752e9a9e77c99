import { execFileSync } from 'node:child_process';
import test from 'ava';
import { parseDockerHost } from '../../../../src/runtime/docker/endpoint.ts';
import { tarOneFile } from '../../../../src/runtime/docker/host-container.ts';

test('DOCKER_HOST unset or empty is Docker’s default socket', (t) => {
  t.deepEqual(parseDockerHost(undefined), {
    kind: 'unix',
    socketPath: '/var/run/docker.sock',
    url: 'unix:///var/run/docker.sock',
  });
  t.is(parseDockerHost('  ').url, 'unix:///var/run/docker.sock');
});

test('unix and tcp DOCKER_HOST values are parsed into a socket path or a host and port', (t) => {
  t.like(parseDockerHost('unix:///tmp/x/docker.sock'), { kind: 'unix', socketPath: '/tmp/x/docker.sock' });
  t.deepEqual(parseDockerHost('tcp://127.0.0.1:2376'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 2376,
    url: 'tcp://127.0.0.1:2376',
  });
  t.like(parseDockerHost('tcp://[::1]:2375'), {
    kind: 'tcp',
    host: '::1',
    port: 2375,
    url: 'tcp://[::1]:2375',
  });
  t.like(parseDockerHost('tcp://docker.example'), { port: 2375 });
});

test('engines the runtime cannot talk to are refused naming the value and why', (t) => {
  for (const [value, why] of [
    ['ssh://me@host', /ssh:\/\/ engines are not supported/],
    ['unix://relative.sock', /absolute path/],
    ['/var/run/docker.sock', /expected unix:/],
    ['tcp://127.0.0.1:2375/path', /nothing more/],
  ] as const) {
    const err = t.throws(() => parseDockerHost(value), { code: 'E_DOCKER_HOST' });
    t.regex(err?.message ?? '', why);
    t.true(err?.message.includes(JSON.stringify(value)));
  }
  t.throws(() => parseDockerHost('tcp://127.0.0.1:2376', { tlsVerify: '1' }), { message: /TLS/ });
  t.notThrows(() => parseDockerHost('tcp://127.0.0.1:2375', { tlsVerify: '' }));
});

test('the one-file tar the container archive endpoint takes reads back with tar, mode and content intact', (t) => {
  const content = Buffer.from('{"host":"C"}\n'.repeat(100));
  const archive = tarOneFile('/etc/sockslab/host.json', content, 0o600);
  t.is(archive.length % 512, 0);
  t.regex(
    execFileSync('tar', ['-tvf', '-'], { input: archive }).toString(),
    /^-rw------- .* etc\/sockslab\/host\.json$/m,
  );
  t.deepEqual(execFileSync('tar', ['-xOf', '-'], { input: archive }), content);
  const long = `/${'d'.repeat(60)}/${'e'.repeat(60)}/file`;
  t.deepEqual(
    execFileSync('tar', ['-tf', '-'], { input: tarOneFile(long, content, 0o644) })
      .toString()
      .trim(),
    long.slice(1),
  );
});
