import test from 'ava';
import {
  dropPrivileges,
  type EntryLookup,
  type ProcessIdentity,
  parseUserSpec,
  resolveIdentity,
} from '../../../src/server/privileges.ts';

// --user U[:G]: parsing, resolution through passwd/group entries, and the order and checks of the
// identity change (on a recorded process; the real change is tested as root in
// test/integration/server/privileges.test.ts).

const entries: EntryLookup = (db, key) => {
  const passwd = [['proxy', 'x', '13', '13', '', '/bin', '/usr/sbin/nologin']];
  const group = [
    ['proxy', 'x', '13', ''],
    ['socks', 'x', '777', ''],
  ];
  return (db === 'passwd' ? passwd : group).find((e) => e[0] === key || e[2] === key);
};

test('--user takes USER or USER:GROUP, names or numbers, and nothing else', (t) => {
  t.deepEqual(parseUserSpec('proxy'), { user: 'proxy' });
  t.deepEqual(parseUserSpec('proxy:socks'), { user: 'proxy', group: 'socks' });
  t.deepEqual(parseUserSpec('1000:1000'), { user: '1000', group: '1000' });
  for (const bad of ['', ':g', 'u:', 'a:b:c', '-rf', 'a b', '../x']) {
    t.throws(() => parseUserSpec(bad), { code: 'E_USER_SPEC' }, JSON.stringify(bad));
  }
});

test('a user runs with its primary group unless a group is named; a bare unknown uid needs :GID', (t) => {
  t.deepEqual(resolveIdentity({ user: 'proxy' }, entries), { name: 'proxy', uid: 13, gid: 13 });
  t.deepEqual(resolveIdentity({ user: 'proxy', group: 'socks' }, entries), {
    name: 'proxy',
    uid: 13,
    gid: 777,
  });
  t.deepEqual(resolveIdentity({ user: '13' }, entries), { name: 'proxy', uid: 13, gid: 13 });
  t.deepEqual(resolveIdentity({ user: '4000', group: '4000' }, entries), {
    name: '4000',
    uid: 4000,
    gid: 4000,
  });
  t.throws(() => resolveIdentity({ user: '4000' }, entries), { code: 'E_USER_NO_GROUP' });
  t.throws(() => resolveIdentity({ user: 'nosuch' }, entries), { code: 'E_USER_UNKNOWN' });
  t.throws(() => resolveIdentity({ user: 'proxy', group: 'nosuch' }, entries), { code: 'E_GROUP_UNKNOWN' });
});

/** A process that records the calls and behaves as the kernel does for them. */
function recorded(uid: number, gid = uid) {
  const calls: string[] = [];
  let groups = [gid, 4, 27];
  const proc: ProcessIdentity = {
    getuid: () => uid,
    getgid: () => gid,
    getgroups: () => groups,
    setgroups: (g) => {
      if (uid !== 0) throw new Error('EPERM');
      calls.push(`setgroups ${g.join(',')}`);
      groups = g;
    },
    setgid: (g) => {
      if (uid !== 0) throw new Error('EPERM');
      calls.push(`setgid ${g}`);
      gid = g;
    },
    setuid: (u) => {
      if (uid !== 0 && u !== uid) throw new Error('EPERM');
      calls.push(`setuid ${u}`);
      uid = u;
    },
  };
  return { proc, calls };
}

test('root drops groups, then gid, then uid, and checks root cannot be regained', (t) => {
  const { proc, calls } = recorded(0);
  dropPrivileges({ name: 'proxy', uid: 13, gid: 777 }, proc);
  t.deepEqual(calls, ['setgroups 777', 'setgid 777', 'setuid 13']);
  t.is(proc.getuid(), 13);
  t.deepEqual(proc.getgroups(), [777]);
});

test('without root a different --user is an error, the same one is nothing to do', (t) => {
  t.throws(() => dropPrivileges({ name: 'proxy', uid: 13, gid: 13 }, recorded(1000).proc), {
    code: 'E_USER_NOT_ROOT',
  });
  const same = recorded(13);
  dropPrivileges({ name: 'proxy', uid: 13, gid: 13 }, same.proc);
  t.deepEqual(same.calls, []);
});

test('a change the kernel did not make is caught', (t) => {
  const { proc } = recorded(0);
  const stuck: ProcessIdentity = { ...proc, setuid: () => {} };
  t.throws(() => dropPrivileges({ name: 'proxy', uid: 13, gid: 13 }, stuck), { code: 'E_USER_DROP' });
});
