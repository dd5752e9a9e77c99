import { errorCode } from '../common/errors.ts';
import type { ServerAttempt } from '../common/events.ts';
import type { Resolver } from '../common/resolver.ts';
import { systemErrorText } from '../common/system-error.ts';
import type { Conn, Net } from '../net/net.ts';
import { planServerAttempts } from '../policy/client-route.ts';
import { upstreamFailedLog } from '../policy/request-desc.ts';

/**
 * The d.7 fail-over loop, the only one: entries in order; a name is looked up when reached (an
 * unresolvable one is logged and skipped, j.12); each address gets its own connect timer; only a
 * failed TCP connect moves on — what the server then answers is final and not this module's
 * business. rsockd's upstream step and the probe (route-dial.ts) both dial through it.
 */

export interface FailoverHooks {
  /** Classic log lines: `Failed to connect to sockd at E: …`. */
  log(message: string): void;
  /** One call per connect attempt (and per unresolvable entry). */
  attempt(a: ServerAttempt): void;
  /** True when the caller gave up meanwhile (the session ended): stop dialling. */
  cancelled(): boolean;
}

export type FailoverResult =
  | {
      readonly kind: 'connected';
      readonly conn: Conn;
      /** The socks.conf entry (name or address) and the address of it that answered. */
      readonly entry: string;
      readonly address: string;
    }
  /** Every entry failed; `lastError` is the strerror text of the last connect failure. */
  | { readonly kind: 'exhausted'; readonly lastError: string }
  | { readonly kind: 'cancelled' };

export type { ServerAttempt };

export async function dialWithFailover(
  net: Net,
  resolver: Resolver,
  entries: readonly string[],
  port: number,
  timeoutMs: number,
  hooks: FailoverHooks,
): Promise<FailoverResult> {
  let lastCode: string | undefined = 'ECONNREFUSED';
  for await (const plan of planServerAttempts(entries, resolver)) {
    if (hooks.cancelled()) return { kind: 'cancelled' };
    if (plan.kind === 'not-found') {
      hooks.log(plan.log);
      hooks.attempt({ server: plan.entry, address: null, port, ok: false, error: 'host not found' });
      continue;
    }
    let entryCode: string | undefined;
    for (const address of plan.addresses) {
      if (hooks.cancelled()) return { kind: 'cancelled' };
      try {
        const conn = await net.connect({ host: address, port, timeoutMs });
        hooks.attempt({ server: plan.entry, address, port, ok: true });
        return { kind: 'connected', conn, entry: plan.entry, address };
      } catch (err) {
        entryCode = errorCode(err);
        lastCode = entryCode;
        const error = entryCode ?? (err instanceof Error ? err.message : String(err));
        hooks.attempt({ server: plan.entry, address, port, ok: false, error });
      }
    }
    hooks.log(upstreamFailedLog(plan.entry, systemErrorText(entryCode)));
  }
  return { kind: 'exhausted', lastError: systemErrorText(lastCode) };
}
