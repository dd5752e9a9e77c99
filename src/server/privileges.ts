import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SockslabError } from '../common/errors.ts';

/**
 * Privilege separation (`rsockd --user U[:G]`): the server binds its listener and reads its
 * privileged files (configs, passwd file, logs, pid file) as root, then becomes U for good —
 * supplementary groups cleared to G alone, then setgid, then setuid (the order matters: once the
 * uid is U, the group calls are refused). Sessions, relays, identd queries and shell commands all
 * run after that, so every socket they open and every file a hook writes belongs to U.
 */

/** The `--user` value as written: a user name or uid, and optionally a group name or gid. */
export interface UserSpec {
  readonly user: string;
  readonly group?: string;
}

/** A resolved identity to run as. */
export interface Identity {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export class PrivilegeError extends SockslabError {}

const NamePattern = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

/** `U`, `U:G`, `1000`, `1000:1000` → a UserSpec; anything else is a usage error naming the form. */
export function parseUserSpec(text: string): UserSpec {
  const [user, group, extra] = text.split(':');
  const ok = (s: string | undefined) => s !== undefined && (NamePattern.test(s) || /^\d+$/.test(s));
  if (extra !== undefined || !ok(user) || (group !== undefined && !ok(group))) {
    throw new PrivilegeError(
      'E_USER_SPEC',
      `--user: expected USER or USER:GROUP (names or numbers), got ${JSON.stringify(text)}`,
    );
  }
  return group === undefined ? { user: user! } : { user: user!, group };
}

/** One passwd(5) or group(5) entry's fields, or undefined when the name/number is unknown. */
export type EntryLookup = (database: 'passwd' | 'group', key: string) => readonly string[] | undefined;

/**
 * getent(1), so names from NSS (LDAP, sssd) resolve as they would for login; /etc/passwd and
 * /etc/group when getent is not installed. No shell: the key is one argument.
 */
export const systemLookup: EntryLookup = (database, key) => {
  try {
    const out = execFileSync('getent', [database, key], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = out.split('\n')[0];
    return line ? line.split(':') : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined; // getent: not found (exit 2)
  }
  try {
    const text = readFileSync(`/etc/${database}`, 'utf8');
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      if (fields[0] === key || fields[2] === key) return fields;
    }
  } catch {
    // no file either: unknown
  }
  return undefined;
};

/** UserSpec → uid, gid and a name for messages. A user without `:G` runs with its primary group. */
export function resolveIdentity(spec: UserSpec, lookup: EntryLookup = systemLookup): Identity {
  const pw = lookup('passwd', spec.user);
  let uid: number;
  let name: string;
  let primaryGid: number | undefined;
  if (pw !== undefined) {
    name = pw[0]!;
    uid = Number(pw[2]);
    primaryGid = Number(pw[3]);
  } else if (/^\d+$/.test(spec.user)) {
    name = spec.user;
    uid = Number(spec.user);
  } else {
    throw new PrivilegeError('E_USER_UNKNOWN', `--user: no such user ${JSON.stringify(spec.user)}`);
  }
  let gid: number | undefined = primaryGid;
  if (spec.group !== undefined) {
    const gr = lookup('group', spec.group);
    if (gr !== undefined) gid = Number(gr[2]);
    else if (/^\d+$/.test(spec.group)) gid = Number(spec.group);
    else throw new PrivilegeError('E_GROUP_UNKNOWN', `--user: no such group ${JSON.stringify(spec.group)}`);
  }
  if (gid === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new PrivilegeError(
      'E_USER_NO_GROUP',
      `--user: uid ${spec.user} has no passwd entry, so no primary group: give one as ${spec.user}:GID`,
    );
  }
  return { name, uid, gid };
}

/** The process calls dropPrivileges needs (process itself in production). */
export interface ProcessIdentity {
  getuid(): number;
  getgid(): number;
  getgroups(): number[];
  setgroups(groups: number[]): void;
  setgid(id: number): void;
  setuid(id: number): void;
}

/**
 * Becomes `id` for good. Already `id` (started as U): nothing to do. Otherwise only root can
 * change identity; anything else is an error rather than a server that silently keeps running
 * as someone other than the administrator asked. After the calls the result is checked,
 * including that root cannot be regained.
 */
export function dropPrivileges(
  id: Identity,
  proc: ProcessIdentity = process as unknown as ProcessIdentity,
): void {
  // Already U (or asked to stay root as root): nothing to change.
  if (proc.getuid() === id.uid && (id.uid === 0 || proc.getgid() === id.gid)) return;
  if (proc.getuid() !== 0) {
    throw new PrivilegeError(
      'E_USER_NOT_ROOT',
      `--user ${id.name}: changing identity needs root; this process runs as uid ${proc.getuid()}`,
    );
  }
  proc.setgroups([id.gid]);
  proc.setgid(id.gid);
  proc.setuid(id.uid);
  const groups = proc.getgroups();
  if (proc.getuid() !== id.uid || proc.getgid() !== id.gid || groups.some((g) => g !== id.gid)) {
    throw new PrivilegeError(
      'E_USER_DROP',
      `--user ${id.name}: identity is not uid ${id.uid} gid ${id.gid} after the change`,
    );
  }
  if (id.uid !== 0) {
    let regained = false;
    try {
      proc.setuid(0);
      regained = true;
    } catch {
      // refused, as it must be
    }
    if (regained) throw new PrivilegeError('E_USER_DROP', `--user ${id.name}: root could be regained`);
  }
}
