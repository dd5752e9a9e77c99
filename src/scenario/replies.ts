import { Socks4Reply, Socks4ReplyByName } from '../protocol/socks4.ts';
import { Socks5ReplyByName, Socks5ReplyOfSocks4 } from '../protocol/socks5.ts';
import type { ProbeProtocol } from '../runtime/runtime.ts';

/**
 * Reply codes as scenarios name them. Scenario authors may write a number or a name; names are
 * resolved against the protocol of the case, since `rejected` is 91 in SOCKS 4 and 0x02 in SOCKS 5.
 */
export const Socks4ReplyNames: Readonly<Record<string, number>> = Socks4ReplyByName;

/**
 * SOCKS 5 names, plus the SOCKS 4 words `granted` and `rejected` for their SOCKS 5 counterparts,
 * so one scenario reads the same under both protocols.
 */
export const Socks5ReplyNames: Readonly<Record<string, number>> = {
  ...Socks5ReplyByName,
  granted: Socks5ReplyOfSocks4[Socks4Reply.Granted],
  rejected: Socks5ReplyOfSocks4[Socks4Reply.Rejected],
};

/** The SOCKS 4 reply codes, for the views that may not import protocol/ (diagram/). */
export { Socks4Reply } from '../protocol/socks4.ts';

/** `none`: no reply at all came (closed without a reply, or timed out). */
export const NoReply = 'none';

export type ReplyExpectation = number | string;

export function replyNamesFor(protocol: ProbeProtocol): Readonly<Record<string, number>> {
  return protocol === 'socks5' ? Socks5ReplyNames : Socks4ReplyNames;
}

/** Every name a scenario may use, for schema documentation and error messages. */
export const AllReplyNames: readonly string[] = [
  ...new Set([...Object.keys(Socks4ReplyNames), ...Object.keys(Socks5ReplyNames), NoReply]),
].sort();

/** Resolves a reply expectation to a code (null = no reply), or undefined for an unknown name. */
export function resolveReply(expected: ReplyExpectation, protocol: ProbeProtocol): number | null | undefined {
  if (typeof expected === 'number') return expected;
  if (expected === NoReply) return null;
  if (/^\d+$/.test(expected)) return Number(expected);
  if (/^0x[0-9a-f]+$/i.test(expected)) return Number.parseInt(expected.slice(2), 16);
  return replyNamesFor(protocol)[expected];
}

/** Whose names a hop's reply codes take: its reply's version (SOCKS 4 when it sent none). */
export function replyProtocol(version: 4 | 5 | undefined): ProbeProtocol {
  return version === 5 ? 'socks5' : 'socks4';
}

/** Human form of a code: `91 (rejected)`, `0x02 (not-allowed)`, `none`. */
export function describeReply(code: number | null | undefined, protocol: ProbeProtocol | string): string {
  if (code === null || code === undefined) return NoReply;
  if (protocol === 'socks5') {
    const name = Object.entries(Socks5ReplyNames).find(
      ([n, c]) => c === code && n !== 'granted' && n !== 'rejected',
    );
    return `0x${code.toString(16).padStart(2, '0')}${name ? ` (${name[0]})` : ''}`;
  }
  const name = Object.entries(Socks4ReplyNames).find(([, c]) => c === code);
  return `${code}${name ? ` (${name[0]})` : ''}`;
}
