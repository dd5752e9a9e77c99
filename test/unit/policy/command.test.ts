import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { type CommandContext, expandCommand, sanitiseValue } from '../../../src/policy/command.ts';
import { testWhen } from '../../helpers/interop-tools.ts';

const ctx: CommandContext = {
  srcHost: 'ws1.eng.example.com',
  srcAddr: '10.9.1.10',
  command: 'connect',
  pid: 4711,
  dstServ: 'http',
  dstPort: 80,
  realUser: 'unknown',
  user: 'alice',
  dstHost: '198.51.100.7',
  dstAddr: '198.51.100.7',
};

const textOf = (template: string, c: CommandContext = ctx) => {
  const e = expandCommand(template, c);
  return e.ok ? e.text : `!${e.reason}`;
};

test('every % code of c.10 expands to its request value', (t) => {
  t.is(
    textOf('%A %a %c %p %S %s %U %u %Z %z'),
    'ws1.eng.example.com 10.9.1.10 connect 4711 http 80 unknown alice 198.51.100.7 198.51.100.7',
  );
});

test('%% is one percent sign, an unknown %x is dropped with its letter, a trailing % is dropped', (t) => {
  t.is(textOf('100%% %q done %'), '100%  done ');
  t.is(textOf('a%%u'), 'a%u', '%% is not re-read as the start of %u');
});

test('characters outside the c.10 set in a value become underscores, template text is untouched', (t) => {
  t.is(textOf('echo "$HOME" %u', { ...ctx, user: 'a;b c' }), 'echo "$HOME" a_b_c');
  t.is(sanitiseValue('x$(id)`y`\'"\n\t~*?[]<>|&'), `x__id__y${'_'.repeat(14)}`);
  t.is(sanitiseValue('Az09!@%-_=+\\:,./'), 'Az09!@%-_=+\\:,./', 'the allowed characters stay');
});

test('a value cannot steer a hook: no leading `-` (option), no `.` or `..` path segment', (t) => {
  const cases: [string, string][] = [
    ['../../x', '_./_./x'],
    ['..', '_.'],
    ['.', '_'],
    ['a/../b', 'a/_./b'],
    ['a/./b', 'a/_/b'],
    ['--output=/tmp/x', '_-output=/tmp/x'],
    ['-rf', '_rf'],
    ['.hidden', '_hidden'],
    ['a-b.c', 'a-b.c'],
    ['bob..x', 'bob..x'],
  ];
  for (const [raw, want] of cases) t.is(sanitiseValue(raw), want, JSON.stringify(raw));
  t.is(
    textOf('cat > /var/log/by-user/%u', { ...ctx, user: '../../etc/passwd' }),
    'cat > /var/log/by-user/_./_./etc/passwd',
  );
  t.is(textOf('sort %u /dev/null', { ...ctx, user: '--output=/etc/x' }), 'sort _-output=/etc/x /dev/null');
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('.', '/', '-', 'a', '\\'), maxLength: 16 }), (raw) => {
      const v = sanitiseValue(raw);
      const segments = v.split('/');
      return (
        !v.startsWith('-') &&
        !v.startsWith('.') &&
        segments.every((seg) => seg !== '.' && seg !== '..' && !seg.startsWith('.'))
      );
    }),
    { numRuns: 500 },
  );
});

test("leading blanks of the stored command (after the line's colon) are not part of the command", (t) => {
  t.is(textOf('  \techo %u'), 'echo alice');
});

test('an expansion of 8191 bytes or more is refused with the too-long log line and is not runnable', (t) => {
  const long = expandCommand(`echo ${'x'.repeat(8186)}`, ctx);
  t.false(long.ok);
  if (!long.ok) {
    t.is(long.reason, 'too-long');
    t.is(long.log, `shell command too long: echo ${'x'.repeat(25)}...`);
  }
  const justUnder = expandCommand(`echo ${'x'.repeat(8185)}`, ctx);
  t.true(justUnder.ok, '8190 bytes is still fine');
  const byValue = expandCommand('echo %u', { ...ctx, user: 'u'.repeat(9000) });
  t.false(byValue.ok, 'a long user-id cannot produce an over-long command');
});

test('a command without any letter or digit is refused with the no-alnum log line', (t) => {
  const e = expandCommand(' %x ;; ', ctx);
  t.false(e.ok);
  if (!e.ok) {
    t.is(e.reason, 'no-alnum');
    t.is(e.log, 'error -- shell command " ;; " contains no alphanumeric characters.');
  }
  const empty = expandCommand('%u', { ...ctx, user: '' });
  t.false(empty.ok, 'an empty expansion has no alphanumerics either');
});

test('a backslash in a value cannot escape the closing double quote of the template', (t) => {
  const e = expandCommand('printf %%s "%u"; echo', { ...ctx, user: 'x\\' });
  t.true(e.ok);
  if (e.ok) {
    t.is(e.text, 'printf %s "x\\"; echo', 'text shows the expansion as the spec defines it');
    t.is(e.runnable, 'printf %s "x\\\\"; echo', 'runnable doubles the backslash inside "…"');
  }
});

test('inside single quotes a backslash value is closed, double-quoted and reopened', (t) => {
  const e = expandCommand("printf %%s '%u'", { ...ctx, user: 'a\\b' });
  t.true(e.ok);
  if (e.ok) t.is(e.runnable, "printf %s ''\"a\\\\b\"''");
  const plain = expandCommand("printf %%s '%u'", ctx);
  if (plain.ok) t.is(plain.runnable, "printf %s 'alice'", 'values without a backslash go in as they are');
});

// ---- Running the real /bin/sh: what an attacker-chosen user-id can do ----

const testWithSh = testWhen('/bin/sh', () => (existsSync('/bin/sh') ? null : 'no /bin/sh on this host'));

function sh(runnable: string): string {
  return execFileSync('/bin/sh', ['-c', runnable], { encoding: 'utf8', timeout: 5000 });
}

// `%%s`: in a c.10 template `%s` is the destination port, so printf's own `%s` is written `%%s`.
const templates = [
  'printf %%s "%u"',
  "printf %%s '%u'",
  'printf %%s %u',
  'printf %%s "<%u>" | tr -d "<>"',
  "printf '%%s' x'%u'\"%u\"%u | cut -c2-",
];
const expectedOutput = (template: string, v: string) =>
  template.startsWith("printf '%%s' x") ? `${v}${v}${v}\n` : v; // cut ends its line

/** Strings an attacker would try: shell metacharacters, quotes, backslashes, newlines. */
const hostile = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'\\\'"`$();|&<>\n\t *?[]#~!%ab'.split('')), maxLength: 24 }),
  fc.string({ maxLength: 24 }),
  fc.constantFrom('x; rm -rf /', '$(id)', '`id`', "'; id; '", '"; id; "', '\\', '\\\\', 'a\\', '\n id'),
);

testWithSh('for any user-id, /bin/sh prints exactly the sanitised value and runs nothing injected', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockslab-canary-'));
  const canary = join(dir, 'pwned');
  try {
    fc.assert(
      fc.property(hostile, fc.constantFrom(...templates), fc.boolean(), (raw, template, withCanary) => {
        // The payload tries to create the canary file in every way a shell could be talked into.
        const user = withCanary ? `${raw}$(touch ${canary})\`touch ${canary}\`;touch ${canary}'\\` : raw;
        const e = expandCommand(template, { ...ctx, user: `${user}z` });
        if (!e.ok) return true;
        const value = sanitiseValue(`${user}z`);
        const out = sh(e.runnable);
        return out === expectedOutput(template, value) && !existsSync(canary);
      }),
      { numRuns: 300 },
    );
    t.false(existsSync(canary), 'the canary file was never created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

testWithSh('the escaping survives templates that mix quote states around one value', (t) => {
  for (const v of ['\\', 'a\\', '\\\\b', 'x\\y\\']) {
    const e = expandCommand(`printf %%s "a"%u'b'"%u"c'%u'`, { ...ctx, user: v });
    t.true(e.ok);
    if (e.ok) t.is(sh(e.runnable), `a${v}b${v}c${v}`, `value ${JSON.stringify(v)}`);
  }
});

testWithSh(
  'a template backslash right before a value cannot be paired with a backslash of the value',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sockslab-canary-'));
    const canary = join(dir, 'pwned');
    try {
      fc.assert(
        fc.property(
          fc.string({ unit: fc.constantFrom('\\', 'a', '"', "'", ';', ' '), maxLength: 8 }),
          fc.constantFrom('dq', 'uq', 'sq'),
          (raw, kind) => {
            const user = `${raw}";touch ${canary};"'`;
            const template = {
              dq: `printf %%s "\\%u"`,
              uq: 'printf %%s \\%u',
              sq: "printf %%s '\\%u'",
            }[kind];
            const e = expandCommand(template, { ...ctx, user });
            if (!e.ok) return true;
            const v = sanitiseValue(user);
            // sh semantics of the admin's backslash before the value's first character:
            const want = kind === 'sq' ? `\\${v}` : kind === 'uq' ? v : v.startsWith('\\') ? v : `\\${v}`;
            return sh(e.runnable) === want && !existsSync(canary);
          },
        ),
        { numRuns: 200 },
      );
      t.false(existsSync(canary));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
