/**
 * RFC 1413 (identd) query and answer lines, as the original CSTC library wrote and parsed them
 * (spec g.2, g.3, (j) 13, 14, 39). Pure: strings in, typed values out.
 *
 * Lines are latin1 byte strings (one character per byte), so a user-id compares with a SOCKS 4
 * USERID byte for byte.
 */

/** The query the SOCKS server sends: `<client-port> , <server-port>` CR LF (g.2), exactly. */
export function encodeIdentQuery(clientPort: number, serverPort: number): string {
  return `${clientPort} , ${serverPort}\r\n`;
}

export type IdentAnswer =
  | {
      readonly kind: 'user';
      readonly user: string;
      readonly opsys: string;
      /** Present when the answer named one (`UNIX,US-ASCII`). */
      readonly charset?: string;
    }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Blanks around tokens (g.3): spaces and tabs. */
function trimBlanks(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Text up to the first CR or LF (g.3 step 1; the client has usually cut it already). */
export function firstLine(text: string): string {
  const m = /[\r\n]/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/**
 * Parse one answer line per g.3. Every outcome other than `user` means "unavailable" (g.4):
 * `error` for an ERROR answer (e.g. NO-USER), `malformed` for anything the grammar rejects,
 * including an empty user-id. The port pair is checked for form only, never against the query.
 */
export function parseIdentAnswer(line: string): IdentAnswer {
  const text = firstLine(line);
  const c1 = text.indexOf(':');
  if (c1 < 0) return { kind: 'malformed', reason: 'no `:` after the port pair' };
  if (!/^[ \t]*[0-9]+[ \t]*,[ \t]*[0-9]+[ \t]*$/.test(text.slice(0, c1))) {
    return { kind: 'malformed', reason: 'the port pair is not two decimal numbers separated by `,`' };
  }
  const afterPorts = text.slice(c1 + 1);
  const c2 = afterPorts.indexOf(':');
  const respType = trimBlanks(c2 < 0 ? afterPorts : afterPorts.slice(0, c2));
  if (respType === 'ERROR') {
    const error = c2 < 0 ? '' : trimBlanks(afterPorts.slice(c2 + 1));
    return { kind: 'error', error };
  }
  if (respType !== 'USERID') {
    return {
      kind: 'malformed',
      reason: `response type ${JSON.stringify(respType)} is neither USERID nor ERROR`,
    };
  }
  if (c2 < 0) return { kind: 'malformed', reason: 'nothing after USERID' };
  const info = afterPorts.slice(c2 + 1);
  const opsysEnd = info.search(/[,:]/);
  if (opsysEnd < 0) return { kind: 'malformed', reason: 'no `:` before the user-id' };
  const opsys = trimBlanks(info.slice(0, opsysEnd));
  let rest: string;
  let charset: string | undefined;
  if (info[opsysEnd] === ',') {
    const afterComma = info.slice(opsysEnd + 1);
    const csEnd = afterComma.indexOf(':');
    if (csEnd < 0) return { kind: 'malformed', reason: 'no `:` after the character set' };
    charset = trimBlanks((afterComma.slice(0, csEnd).split(',')[0] ?? '') as string);
    rest = afterComma.slice(csEnd + 1);
  } else {
    rest = info.slice(opsysEnd + 1);
  }
  // OCTET: the user-id is opaque bytes, taken verbatim ((j) 14); otherwise blanks are trimmed.
  const user = charset === 'OCTET' ? rest : trimBlanks(rest);
  if (user === '') return { kind: 'malformed', reason: 'empty user-id' };
  return charset === undefined ? { kind: 'user', user, opsys } : { kind: 'user', user, opsys, charset };
}

export type IdentReply =
  | { readonly kind: 'user'; readonly user: string; readonly opsys?: string; readonly charset?: string }
  | { readonly kind: 'error'; readonly error: string };

/** An answer line for the fake identd: the query's port pair echoed, then the reply, CR LF. */
export function encodeIdentAnswer(
  ports: { readonly localPort: number; readonly remotePort: number },
  reply: IdentReply,
): string {
  const pair = `${ports.localPort} , ${ports.remotePort}`;
  if (reply.kind === 'error') return `${pair} : ERROR : ${reply.error}\r\n`;
  const opsys = reply.opsys ?? 'UNIX';
  const sys = reply.charset === undefined ? opsys : `${opsys},${reply.charset}`;
  return `${pair} : USERID : ${sys} : ${reply.user}\r\n`;
}

export type IdentQuery =
  /** Ports as seen from the identd's host: `localPort` is its own end, `remotePort` the asker's. */
  | { readonly kind: 'query'; readonly localPort: number; readonly remotePort: number }
  /** Two numbers, but one is not a TCP port: answer `ERROR : INVALID-PORT`. */
  | { readonly kind: 'invalid-port'; readonly localPort: number; readonly remotePort: number }
  /** Not a query at all: the server closes without answering. */
  | { readonly kind: 'malformed'; readonly reason: string };

/** Parse a query line as an identd server does (RFC 1413: `<port-on-server> , <port-on-client>`). */
export function parseIdentQuery(line: string): IdentQuery {
  const m = /^[ \t]*([0-9]{1,10})[ \t]*,[ \t]*([0-9]{1,10})[ \t]*$/.exec(firstLine(line));
  if (!m) return { kind: 'malformed', reason: 'expected `<port> , <port>`' };
  const localPort = Number(m[1]);
  const remotePort = Number(m[2]);
  const ok = (p: number) => p >= 1 && p <= 65535;
  return ok(localPort) && ok(remotePort)
    ? { kind: 'query', localPort, remotePort }
    : { kind: 'invalid-port', localPort, remotePort };
}
