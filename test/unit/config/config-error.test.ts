import test from 'ava';
import { InputError } from '../../../src/common/errors.ts';
import {
  ConfigError,
  ConfigFileError,
  classicMessage,
  LineProblem,
  unreadableError,
} from '../../../src/config/config-error.ts';

test('a config error is an InputError whose message is compiler-style with a caret', (t) => {
  const error = new LineProblem(
    'E_CONF_SRC_MASK',
    17,
    'source mask "x" is not numeric',
    'a numeric mask',
  ).toError('sockd.conf', '/etc/sockd.conf', 12, 'permit 10.0.0.0\tx');
  t.true(error instanceof InputError);
  t.true(error instanceof ConfigError);
  t.is(error.code, 'E_CONF_SRC_MASK');
  t.like(error, { file: '/etc/sockd.conf', line: 12, column: 17, source: 'permit 10.0.0.0\tx' });
  t.is(error.classic, 'Illegal source mask at line 12 in file /etc/sockd.conf');
  t.is(
    error.message,
    '/etc/sockd.conf:12:17: source mask "x" is not numeric, expected a numeric mask\n' +
      'permit 10.0.0.0\tx\n' +
      '               \t^',
  );
});

test('each kind of file has its own classic texts', (t) => {
  t.is(
    classicMessage('sockd.conf', 'E_CONF_ACTION', 2, 'F'),
    'Invalid permit/deny field at line 2 in file F',
  );
  t.is(
    classicMessage('socks.conf', 'E_CONF_ACTION', 2, 'F'),
    'Invalid sockd/direct/deny field at line 2 in file F',
  );
  t.is(classicMessage('sockd.route', 'E_CONF_DST_MASK', 2, 'F'), 'Invalid entry at line 2 in file F');
  t.is(classicMessage('sockd.conf', 'E_CONF_TOO_LONG', 9, 'F'), 'Line 9 too long in file F');
  t.is(classicMessage('sockd.conf', 'E_CONF_IDENTD', 1, 'F'), 'Invalid ?= field at line 1 in file F');
  t.is(classicMessage('socks.conf', 'E_CONF_COMPARISON', 1, 'F'), 'Invalid comparison at line 1 in file F');
  t.is(classicMessage('sockd.conf', 'E_CONF_PORT', 1, 'F'), 'Invalid port number at line 1 in file F');
  t.is(
    classicMessage('sockd.conf', 'E_CONF_DST_MASK', 1, 'F'),
    'Illegal destination mask at line 1 in file F',
  );
});

test('a file error lists every line error and their classic messages in order', (t) => {
  const errors = [3, 5].map((line) =>
    new LineProblem('E_CONF_ENTRY', 1, 'bad', 'good').toError('sockd.conf', 'F', line, 'x'),
  );
  const fileError = new ConfigFileError('F', errors);
  t.is(fileError.code, 'E_CONF_INVALID');
  t.deepEqual(fileError.classicMessages, [
    'Invalid entry at line 3 in file F',
    'Invalid entry at line 5 in file F',
  ]);
  t.true(fileError.message.startsWith('F: 2 invalid lines; the whole file is rejected\n'));
  for (const e of errors) t.true(fileError.message.includes(e.message));
});

test('whole-file errors have no line, column or caret', (t) => {
  const error = unreadableError('sockd.route', '/etc/sockd.route', 'EACCES');
  t.is(error.classic, 'Unable to open routing file (/etc/sockd.route)');
  t.is(error.message, '/etc/sockd.route: cannot read the routing file: EACCES, expected a readable file');
  t.is(unreadableError('sockd.conf', 'c', 'x').classic, 'Unable to open config file (c)');
});
