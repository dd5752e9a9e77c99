import path from 'node:path';
import test from 'ava';
import { Node, Project, SyntaxKind } from 'ts-morph';

/**
 * The dependency rules of design.md, checked on the real import graph of src/. Each violation
 * names the file and line, so a failing run says exactly what to move.
 */

const root = path.resolve(import.meta.dirname, '../../..');
const project = new Project({
  tsConfigFilePath: path.join(root, 'tsconfig.json'),
  skipAddingFilesFromTsConfig: true,
});
project.addSourceFilesAtPaths(path.join(root, 'src/**/*.ts'));
const files = project.getSourceFiles();
const current = () => project.getSourceFiles();

/** The module of a src file: its first folder, and for runtime/ the driver (or agent/) folder. */
function moduleOf(file: string): string {
  const rel = path.relative(path.join(root, 'src'), file).split(path.sep);
  if (rel[0] === 'runtime' && rel.length > 2) return `runtime/${rel[1]}`;
  // The registry is a module of its own so it can be held to importing no driver: drivers
  // register with it from cli/ (and tests), and only cli/ may use it.
  if (rel[0] === 'runtime' && rel[1] === 'registry.ts') return 'runtime/registry';
  return rel[0] ?? '';
}

/**
 * What each module may import of src/ (besides itself). `runtime` is the Runtime interface module
 * only, never a driver. Importing config/ means its types and pure helpers: which files may parse
 * config text is the narrower rule of `configParsers` below.
 */
const allowed: Record<string, readonly string[]> = {
  common: [],
  protocol: ['common'],
  config: ['common'],
  // protocol: the reply codes (SOCKS 4 results, SOCKS 5 REPs) are wire vocabulary with one
  // definition in protocol/; policy decides which one a request gets (design.md: protocol, config
  // and policy import nothing of the rest, not nothing of each other).
  policy: ['common', 'config', 'protocol'],
  net: ['common'],
  identd: ['common', 'net', 'protocol'],
  // client: design.md, the server reaches upstreams only through client/ (the one SOCKS client).
  server: ['common', 'config', 'policy', 'protocol', 'net', 'identd', 'client'],
  client: ['common', 'config', 'policy', 'protocol', 'net'],
  // design.md: topology carries parsed config objects. The ports its name service and user files
  // serve are common/resolver.ts and config/user-file.ts, not policy's.
  topology: ['common', 'config'],
  runtime: ['common', 'topology', 'net'],
  'runtime/local': [
    'common',
    'config',
    'policy',
    'protocol',
    'net',
    'identd',
    'server',
    'client',
    'topology',
    'runtime',
  ],
  'runtime/netns': ['common', 'config', 'topology', 'runtime', 'net', 'identd', 'client'],
  'runtime/docker': ['common', 'config', 'topology', 'runtime', 'net', 'identd', 'client'],
  // protocol: scenarios name reply codes with protocol/'s names (scenario/replies.ts).
  scenario: ['common', 'config', 'policy', 'protocol', 'topology', 'runtime', 'analysis'],
  analysis: ['common', 'config', 'policy', 'topology', 'scenario', 'runtime'],
  report: ['common', 'scenario', 'topology', 'analysis', 'runtime'],
  diagram: ['common', 'topology', 'scenario', 'runtime'],
  'runtime/registry': ['common', 'runtime'],
  // The agent that runs inside a netns or docker host (src/cli/host-agent.ts): it starts the host's
  // services (identd, echo, the server CLI as a child) and probes with client/; it reads its files
  // from disk (config: see readsFiles), and no driver imports it (they exec dist/cli/host-agent.js).
  'runtime/agent': ['common', 'config', 'topology', 'runtime', 'net', 'identd', 'client'],
  cli: ['*'],
};

/**
 * design.md: `topology` carries parsed `config` objects; nothing above `config` parses config
 * text again. Each module that turns config text into config objects, and the src paths (file,
 * or folder ending in /) that may import it; config/ itself may always.
 */
const topologyBoundary = ['topology/', 'scenario/resolve.ts'];
// cli/: test_sockd_conf, make_*fc, dump_* and rsockd/sockd parse the files named on their command line.
// server/: the server reads its own files (load-rules.ts), as the real program does.
// runtime/agent/: agents inside a netns/docker host read their files from disk, as the real programs do.
const readsFiles = ['cli/', 'server/', 'runtime/agent/'];
const configParsers: Record<string, readonly string[]> = {
  'config/lexer.ts': [...topologyBoundary, ...readsFiles],
  'config/parse-driver.ts': [...topologyBoundary, ...readsFiles],
  'config/sockd-conf.ts': [...topologyBoundary, ...readsFiles],
  'config/socks-conf.ts': [...topologyBoundary, ...readsFiles],
  'config/sockd-route.ts': [...topologyBoundary, ...readsFiles],
  'config/load.ts': [...topologyBoundary, ...readsFiles],
  // The loaders' parsers: topology/ for topologies, scenario/resolve.ts for replaceConfig texts.
  'topology/config-parsers.ts': topologyBoundary,
  // The server's file reader; the local runtime hands it a replaced file's text (its files live
  // in memory), as a netns or docker host writes the file and the server reloads it.
  'server/load-rules.ts': ['server/', 'cli/', 'runtime/local/server-rules.ts'],
};

interface Violation {
  where: string;
  what: string;
}

function where(node: Node): string {
  return `${path.relative(root, node.getSourceFile().getFilePath())}:${node.getStartLineNumber()}`;
}

function importViolations(): Violation[] {
  const out: Violation[] = [];
  for (const sf of current()) {
    const from = moduleOf(sf.getFilePath());
    const may = allowed[from];
    const decls = [...sf.getImportDeclarations(), ...sf.getExportDeclarations()];
    for (const decl of decls) {
      const spec = decl.getModuleSpecifierValue();
      if (!spec) continue;
      if (spec === 'testcontainers' && from !== 'runtime/docker') {
        out.push({
          where: where(decl),
          what: `only runtime/docker may import testcontainers (found in ${from})`,
        });
      }
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(sf.getFilePath()), spec);
      if (!target.startsWith(path.join(root, 'src'))) continue;
      const to = moduleOf(target);
      if (to === from || (to === 'runtime' && from.startsWith('runtime/'))) continue;
      if (!may) {
        out.push({ where: where(decl), what: `module ${from} has no dependency rule` });
      } else if (!may.includes('*') && !may.includes(to)) {
        out.push({ where: where(decl), what: `${from} may not import ${to} (${spec})` });
      }
    }
  }
  return out;
}

function parserViolations(): Violation[] {
  const out: Violation[] = [];
  const src = path.join(root, 'src');
  const under = (rel: string, places: readonly string[]) =>
    places.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p));
  for (const sf of current()) {
    const from = path.relative(src, sf.getFilePath()).split(path.sep).join('/');
    if (from.startsWith('config/')) continue;
    for (const decl of [...sf.getImportDeclarations(), ...sf.getExportDeclarations()]) {
      const spec = decl.getModuleSpecifierValue();
      if (!spec?.startsWith('.')) continue;
      const target = path
        .relative(src, path.resolve(path.dirname(sf.getFilePath()), spec))
        .split(path.sep)
        .join('/');
      const may = configParsers[target];
      if (may && !under(from, may)) {
        out.push({
          where: where(decl),
          what: `${from} may not import the config parser ${target}: read the parsed config from the topology (or the scenario step)`,
        });
      }
    }
  }
  return out;
}

function processViolations(): Violation[] {
  const out: Violation[] = [];
  for (const sf of files) {
    if (moduleOf(sf.getFilePath()) === 'cli') continue;
    for (const access of sf.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)) {
      const text = access.getText();
      if (/^process\.(argv|env|exit)\b/.test(text) && !text.startsWith('process.exitCode')) {
        out.push({
          where: where(access),
          what: `only cli/ may use ${text.split('.').slice(0, 2).join('.')}`,
        });
      }
    }
  }
  return out;
}

function ipCommandViolations(): Violation[] {
  const out: Violation[] = [];
  for (const sf of files) {
    if (moduleOf(sf.getFilePath()) === 'runtime/netns') continue;
    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const callee = call.getExpression().getText();
      if (!/(^|\.)(execa|execaSync|\$|spawn|spawnSync|execFile|execFileSync|exec|execSync)$/.test(callee))
        continue;
      const first = call.getArguments()[0];
      if (
        first &&
        Node.isStringLiteral(first) &&
        /^(ip|\/s?bin\/ip|\/usr\/s?bin\/ip)$/.test(first.getLiteralValue())
      ) {
        out.push({ where: where(call), what: 'only runtime/netns may run `ip`' });
      }
    }
  }
  return out;
}

/**
 * design.md: every use of Node internals lives in net/. Outside it no file calls
 * `process.binding` or `internalBinding`, reads a socket's `_handle`, or goes looking for
 * private symbols (`Object.getOwnPropertySymbols`).
 */
function nodeInternalViolations(): Violation[] {
  const out: Violation[] = [];
  for (const sf of current()) {
    if (moduleOf(sf.getFilePath()) === 'net') continue;
    for (const access of sf.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)) {
      const name = access.getName();
      const text = access.getText();
      if (name === '_handle' || name === 'getOwnPropertySymbols' || /^process\.binding\b/.test(text)) {
        out.push({ where: where(access), what: `only net/ may touch Node internals (${name})` });
      }
    }
    for (const id of sf.getDescendantsOfKind(SyntaxKind.Identifier)) {
      if (id.getText() === 'internalBinding') {
        out.push({ where: where(id), what: 'only net/ may touch Node internals (internalBinding)' });
      }
    }
  }
  return out;
}

/**
 * The Net port's surface: what modules outside net/ may import of it. Which Net a process runs
 * on (bare handles, node:net) is chosen by cli/ alone; the server and the clients never see a
 * concrete socket class (relaying is pipe.ts's capability, stream questions stream-state.ts's).
 */
const netPort = ['net/net.ts', 'net/pipe.ts', 'net/stream-state.ts'];

function concreteNetViolations(): Violation[] {
  const out: Violation[] = [];
  const src = path.join(root, 'src');
  for (const sf of current()) {
    const from = moduleOf(sf.getFilePath());
    if (from === 'net' || from === 'cli') continue;
    for (const decl of [...sf.getImportDeclarations(), ...sf.getExportDeclarations()]) {
      const spec = decl.getModuleSpecifierValue();
      if (!spec?.startsWith('.')) continue;
      const target = path
        .relative(src, path.resolve(path.dirname(sf.getFilePath()), spec))
        .split(path.sep)
        .join('/');
      if (target.startsWith('net/') && !netPort.includes(target)) {
        out.push({
          where: where(decl),
          what: `${from} may not import the concrete Net ${target}: use the port (${netPort.join(', ')})`,
        });
      }
    }
  }
  return out;
}

/**
 * design.md: the server reaches upstreams only through client/, the one SOCKS client. So server/
 * encodes no SOCKS request and decodes no SOCKS reply (it decodes requests and encodes replies).
 */
const clientCodecs = [
  'encodeSocks4Request',
  'decodeSocks4Reply',
  'encodeSocks5Greeting',
  'decodeSocks5MethodChoice',
  'encodeSocks5Request',
  'decodeSocks5Reply',
  'encodeRfc1929Request',
  'decodeRfc1929Status',
];

function serverClientCodecViolations(): Violation[] {
  const out: Violation[] = [];
  for (const sf of current()) {
    if (moduleOf(sf.getFilePath()) !== 'server') continue;
    for (const decl of sf.getImportDeclarations()) {
      for (const named of decl.getNamedImports()) {
        if (clientCodecs.includes(named.getName())) {
          out.push({
            where: where(decl),
            what: `server/ talks to upstreams through client/, not with ${named.getName()}`,
          });
        }
      }
    }
  }
  return out;
}

function format(violations: Violation[]): string {
  return violations.map((v) => `${v.where}: ${v.what}`).join('\n');
}

test('every src file belongs to a module with a dependency rule', (t) => {
  const unknown = files.map((f) => moduleOf(f.getFilePath())).filter((m) => !(m in allowed));
  t.deepEqual([...new Set(unknown)], []);
});

test('imports follow the dependency direction of design.md', (t) => {
  const violations = importViolations();
  t.is(violations.length, 0, format(violations));
});

test('no module above config/ parses config text but the loaders, the CLI tools and the programs reading their own files', (t) => {
  const violations = parserViolations();
  t.is(violations.length, 0, format(violations));
});

test('only cli/ reads process.argv or process.env or calls process.exit', (t) => {
  const violations = processViolations();
  t.is(violations.length, 0, format(violations));
});

test('only runtime/netns runs the ip command', (t) => {
  const violations = ipCommandViolations();
  t.is(violations.length, 0, format(violations));
});

test('no file outside net/ touches Node internals (process.binding, internalBinding, _handle, private symbols)', (t) => {
  const violations = nodeInternalViolations();
  t.is(violations.length, 0, format(violations));
});

test('outside net/ and cli/ no module imports a concrete Net: only the port', (t) => {
  const violations = concreteNetViolations();
  t.is(violations.length, 0, format(violations));
});

test('server/ has no SOCKS client codec of its own: its upstream step goes through client/', (t) => {
  const violations = serverClientCodecViolations();
  t.is(violations.length, 0, format(violations));
});

test('the checker itself catches Node internals and a concrete socket class in server/', (t) => {
  const probe = project.createSourceFile(
    path.join(root, 'src/server/__internals_probe.ts'),
    "import { UvSocket } from '../net/uv-socket.ts';\nexport const h = (s: { _handle: unknown }) => [s._handle, UvSocket];\n",
    { overwrite: true },
  );
  try {
    const internals = nodeInternalViolations().filter((v) => v.where.includes('__internals_probe'));
    t.is(internals.length, 1);
    t.regex(internals[0]?.what ?? '', /only net\/ may touch Node internals \(_handle\)/);
    const concrete = concreteNetViolations().filter((v) => v.where.includes('__internals_probe'));
    t.is(concrete.length, 1);
    t.regex(concrete[0]?.what ?? '', /server may not import the concrete Net net\/uv-socket\.ts/);
  } finally {
    project.removeSourceFile(probe);
  }
});

test('the checker itself catches a forbidden import', (t) => {
  const probe = project.createSourceFile(
    path.join(root, 'src/protocol/__layering_probe.ts'),
    "import '../server/options.ts';\n",
    {
      overwrite: true,
    },
  );
  try {
    const violations = importViolations().filter((v) => v.where.includes('__layering_probe'));
    t.is(violations.length, 1);
    t.regex(violations[0]?.what ?? '', /protocol may not import server/);
  } finally {
    project.removeSourceFile(probe);
  }
});

test('the checker itself catches a config parse in analysis', (t) => {
  const probe = project.createSourceFile(
    path.join(root, 'src/analysis/__parser_probe.ts'),
    "import { parseSocksConf } from '../config/socks-conf.ts';\nexport const p = parseSocksConf;\n",
    { overwrite: true },
  );
  try {
    const violations = parserViolations().filter((v) => v.where.includes('__parser_probe'));
    t.is(violations.length, 1);
    t.regex(
      violations[0]?.what ?? '',
      /analysis\/__parser_probe\.ts may not import the config parser config\/socks-conf\.ts/,
    );
    t.deepEqual(
      importViolations().filter((v) => v.where.includes('__parser_probe')),
      [],
      'analysis may import config/ as such: the parser rule is what stops this',
    );
  } finally {
    project.removeSourceFile(probe);
  }
});

/*
 * Repeated shapes kept on purpose. `duplicates` (run on src/) lists these pairs; each is left
 * because the likeness is in the shape, not the logic, and merging them would tie together things
 * that change for different reasons:
 * - runtime/docker/docker-lab.ts ~ runtime/netns/netns-lab.ts ~ runtime/local/local-lab.ts: each
 *   Lab class's own fields and one-line delegations; the shared work is in runtime/agent-lab.ts
 *   (settle limits differ on purpose: 3 s on docker, whose events come through container logs).
 * - config/sockd-conf.ts ~ config/socks-conf.ts: two grammars calling the shared field readers
 *   (fields.ts, ruleTail) in their own order.
 * - protocol/socks4.ts ~ protocol/socks5.ts: each protocol's reply-code table and its names.
 * - analysis/classes.ts, diff.ts, rule-coverage.ts, mutate-confirm.ts ~ report/model.ts: the
 *   analysis records and their stored report form (report/ may read analysis, not the reverse).
 * - analysis/diff.ts ~ runtime/link-fault-rules.ts, runtime/host-spec.ts ~ topology/model.ts,
 *   topology/model.ts ~ itself, config/ast.ts ~ diagram/forwarding.ts, scenario/schema.ts ~
 *   topology/schema.ts and topology/link-faults.ts, scenario/resolve.ts ~ topology/link-faults.ts,
 *   analysis/matrix.ts ~ topology/load.ts: different records (or signatures) of the same shape;
 *   the host spec is the agent's JSON form, not the model.
 * - analysis/predict.ts dialDestination ~ bindDirect: the parameter list every hop step takes.
 * - policy/command.ts ~ policy/failure-reply.ts, policy/failure-reply.ts ~ itself: flat switches
 *   over different tables (c.10 substitutions, b.2 and i.3 reply codes).
 * - cli/checker.ts (two port-error results), scenario/runner.ts (one Lab call per step kind),
 *   analysis/world.ts (one state change per step kind), config/services.ts (rows of a table):
 *   alike case by case by nature.
 * - identd/fake-identd.ts ~ runtime/agent-prober.ts: only the parameter lists look alike.
 */
