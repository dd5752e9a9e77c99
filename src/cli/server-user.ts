import cluster from 'node:cluster';
import { accessSync, constants, existsSync } from 'node:fs';
import type { RulePaths } from '../server/load-rules.ts';
import type { ClassicLog } from '../server/options.ts';
import {
  dropPrivileges,
  type Identity,
  PrivilegeError,
  parseUserSpec,
  resolveIdentity,
  type UserSpec,
} from '../server/privileges.ts';

/**
 * `--user U[:G]` in the server CLI (the mechanism itself is server/privileges.ts). Start-up as
 * root: outputs, rule files, passwd file and --hosts are read, the listener bound and the pid file
 * written as root; then the process becomes U and everything that touches a client — sessions,
 * relays, identd queries, shell commands, user files (c.8, read at match time) — runs as U.
 * With --workers the primary stays root (it only forks replacement workers and forwards signals;
 * it reads no request) and every worker drops after its listener is up.
 * A SIGHUP reload after the drop re-reads the rule files as U: the start-up check below names the
 * ones U cannot read, and such a reload keeps their current rules (load-rules: unreadable is an
 * error, not a missing file).
 */

/** What the CLI needs for its messages (server-cli's Outputs has both). */
interface Report {
  readonly log: ClassicLog | undefined;
  warn(message: string): void;
}

export interface Privileges {
  /** The identity to drop to, resolved before anything is opened; undefined without --user. */
  readonly identity: Identity | undefined;
  /** Outputs open: says, when started as root without --user, that everything runs as root. */
  started(report: Report): void;
  /** After binding (and the pid file): become the identity for good. */
  drop(report: Report): void;
}

/** The `--user` value, parsed; errors in the CLI's own usage-error type. */
export function userOption(
  text: string | undefined,
  usage: (message: string) => Error,
): UserSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return parseUserSpec(text);
  } catch (err) {
    if (err instanceof PrivilegeError) throw usage(err.message);
    throw err;
  }
}

export function privilegesFor(args: {
  readonly user: UserSpec | undefined;
  readonly workers: number;
  readonly paths: RulePaths;
}): Privileges {
  const identity = args.user === undefined ? undefined : resolveIdentity(args.user);
  const uid = process.getuid?.();
  if (identity !== undefined && uid !== undefined && uid !== 0 && uid !== identity.uid) {
    // Said before anything is bound or opened, not after the listener is up.
    throw new PrivilegeError(
      'E_USER_NOT_ROOT',
      `--user ${identity.name}: changing identity needs root; this process runs as uid ${uid}`,
    );
  }
  const primaryOfWorkers = args.workers > 1 && cluster.isPrimary;
  return {
    identity,
    started(report) {
      if (!cluster.isPrimary) return; // the primary has said it
      if (identity === undefined && uid === 0) {
        report.warn(
          'running as root without --user: sessions, relays and shell commands will run as root (use --user USER[:GROUP])',
        );
      } else if (identity !== undefined && primaryOfWorkers) {
        report.log?.write(
          'notice',
          `workers run as ${identity.name} (uid ${identity.uid}, gid ${identity.gid}); the primary stays root to start replacement workers`,
        );
      }
    },
    drop(report) {
      if (identity === undefined) return;
      const ruleFiles = Object.values(args.paths).filter((p) => existsSync(p));
      dropPrivileges(identity);
      report.log?.write('notice', `running as ${identity.name} (uid ${identity.uid}, gid ${identity.gid})`);
      for (const path of ruleFiles) {
        try {
          accessSync(path, constants.R_OK);
        } catch {
          report.warn(
            `${path} is not readable by ${identity.name}: a SIGHUP reload will keep its current rules and log the error`,
          );
        }
      }
    },
  };
}
