import type { ProbeProtocol } from '../runtime/runtime.ts';

/**
 * Reply codes as scenarios name them. Scenario authors may write a number or a name; names are
 * resolved against the protocol of the case, since `rejected` is 91 in SOCKS 4 and 0x02 in SOCKS 5.
 */
export const Socks4ReplyNames = {
  granted: 90, // request granted (CONNECT up, or a BIND reply)
  rejected: 91, // refused or failed: no rule, deny, routing deny, connect failure
  'no-identd': 92, // strict identd mode and the client's identd gave no usable answer
  'bad-id': 93, // identd answered with another user than the request named
} as const;

export const Socks5ReplyNames = {
  granted: 0x00, // succeeded
  succeeded: 0x00, // RFC 1928 name of the same code
  'general-failure': 0x01, // socket errors, configuration unusable
  'not-allowed': 0x02, // no match, deny, identd outcomes, routing deny
  rejected: 0x02, // the SOCKS 4 word for "the rules said no"
  'network-unreachable': 0x03, // no route to the network
  'host-unreachable': 0x04, // host unreachable, name did not resolve, establishment timer
  'connection-refused': 0x05, // destination refused the connection
  'command-not-supported': 0x07, // e.g. UDP ASSOCIATE
  'address-type-not-supported': 0x08, // e.g. IPv6
} as const;

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
