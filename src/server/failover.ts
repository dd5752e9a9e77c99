import type { Conn, Net } from '../net/net.ts';
import { planServerAttempts } from '../policy/client-route.ts';
import type { Resolver } from '../policy/resolver.ts';
import { errnoOf, systemErrorText } from './replies.ts';

/**
 * The d.7 fail-over loop: entries in order; a name is looked up when reached (an unresolvable
 * one is logged and skipped, j.12); each address gets its own connect timer; only a failed TCP
 * connect moves on — what the server then answers is final and not this module's business.
 */

export interface UpstreamAttempt {
  readonly server: string;
  readonly address: string | null;
  readonly port: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface FailoverHooks {
  /** Classic log lines: `Failed to connect to sockd at E: …`. */
  log(message: string): void;
  /** One event per connect attempt (and per unresolvable entry). */
  attempt(a: UpstreamAttempt): void;
  /** True when the session ended meanwhile: stop dialling. */
  cancelled(): boolean;
}

export type FailoverResult =
  | { readonly kind: 'connected'; readonly conn: Conn; readonly entry: string }
  /** Every entry failed; `lastError` is the strerror text of the last connect failure. */
  | { readonly kind: 'exhausted'; readonly lastError: string }
  | { readonly kind: 'cancelled' };

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
        return { kind: 'connected', conn, entry: plan.entry };
      } catch (err) {
        entryCode = errnoOf(err);
        lastCode = entryCode;
        hooks.attempt({ server: plan.entry, address, port, ok: false, error: entryCode ?? String(err) });
      }
    }
    hooks.log(`Failed to connect to sockd at ${plan.entry}: ${systemErrorText(entryCode)}`);
  }
  return { kind: 'exhausted', lastError: systemErrorText(lastCode) };
}
