import test from 'ava';
import { buildHostSpec, ImagePaths, serverArgv } from '../../../../src/runtime/host-spec.ts';
import type { ConfigName } from '../../../../src/topology/config-parsers.ts';
import type { HostModel, ResolvedTopology, ServerModel } from '../../../../src/topology/model.ts';
import { configText } from '../../../helpers/config-text.ts';

const origin = { file: 't.yaml', line: 1, column: 1, inline: true };
const text = (name: string, body: string) => ({ name, text: body, origin });
const parsedText = <K extends ConfigName>(name: K, body: string) => configText(name, body, origin);

const server: ServerModel = {
  kind: 'rsockd',
  owner: 'nobody',
  port: 1080,
  identdDefault: 'strict',
  identdPort: 113,
  socks5: true,
  sockdConf: parsedText('sockd.conf', 'permit 0.0.0.0 0.0.0.0\n'),
  socksConf: parsedText('socks.conf', 'direct 0.0.0.0 0.0.0.0\n'),
  passwd: text('passwd', 'x:{plain}secret\n'),
  userFiles: [{ path: '/etc/sockd/staff.users', text: 'x y\n' }],
  defaultServer: 'A',
  upstreamPort: 1081,
};

const B: HostModel = {
  name: 'B',
  role: 'rsockd',
  interfaces: [
    { network: 'lan', address: '10.1.0.1' },
    { network: 'dmz', address: '10.2.0.2' },
  ],
  users: [
    { name: 'root', uid: 0 },
    { name: 'nobody', uid: 65534 },
  ],
  server,
  identd: { behaviour: { kind: 'truthful' }, port: 113 },
  stopped: true,
};

const topology: ResolvedTopology = {
  name: 't',
  file: '/t.yaml',
  networks: [
    { name: 'lan', subnet: '10.1.0.0/24' },
    { name: 'dmz', subnet: '10.2.0.0/24' },
  ],
  hosts: [B],
};

test('the server runs standalone in the config directory with bare file names, events to a file', (t) => {
  const argv = serverArgv(B);
  const opt = (name: string) => argv[argv.indexOf(name) + 1];
  t.true(argv.includes('--standalone'));
  t.is(opt('--conf'), 'sockd.conf');
  t.is(opt('--client-conf'), 'socks.conf');
  t.is(opt('--route'), 'sockd.route');
  t.is(opt('--passwd'), 'passwd');
  t.is(opt('--events'), ImagePaths.events);
  t.is(opt('--upstream-port'), '1081');
  t.is(opt('--default-server'), 'A');
  t.true(argv.includes('--socks5'));
  t.true(argv.includes('-I'), 'strict identd default is -I');
});

test('the server is started as root and told to become its owner by number (--user uid:gid)', (t) => {
  const argv = serverArgv(B);
  t.is(argv[argv.indexOf('--user') + 1], '65534:65534');
  const rootOwned = serverArgv({ ...B, server: { ...B.server!, owner: 'root' } });
  t.is(rootOwned[rootOwned.indexOf('--user') + 1], '0:0', 'root said explicitly: no warning');
});

test('lab timeouts become the server CLI timer options in seconds', (t) => {
  const argv = serverArgv(B, { identd: 1_500, upstreamConnect: 250 });
  t.is(argv[argv.indexOf('--timeout-identd') + 1], '1.5');
  t.is(argv[argv.indexOf('--timeout-upstream') + 1], '0.25');
  t.false(argv.includes('--timeout-establish'));
});

test('the host spec carries the configs readable by the server owner, the credentials by it alone', (t) => {
  const spec = buildHostSpec(topology, B, 'run1', { identdRead: 700 });
  const file = (path: string) => spec.files.find((f) => f.path === path);
  t.is(file('/etc/sockslab/sockd.conf')?.mode, 0o644);
  t.like(file('/etc/sockslab/passwd'), { mode: 0o600, uid: 65534 });
  t.is(file('/etc/sockd/staff.users')?.text, 'x y\n');
  t.regex(file(ImagePaths.hosts)?.text ?? '', /^10\.2\.0\.2 B$/m);
  t.like(spec.server, { uid: 65534, gid: 65534, owner: 'nobody', kind: 'rsockd' });
  t.like(spec.identd, { port: 113, readTimeoutMs: 700 });
  t.true(spec.stopped);
  t.deepEqual(
    spec.directory[0]?.interfaces.map((i) => i.address),
    ['10.1.0.1', '10.2.0.2'],
  );
});

test('a server owner missing from the host users is refused when the spec is built', (t) => {
  const bad = { ...B, users: [{ name: 'root', uid: 0 }] };
  t.throws(() => buildHostSpec({ ...topology, hosts: [bad] }, bad, 'run1'), { message: /nobody/ });
});
