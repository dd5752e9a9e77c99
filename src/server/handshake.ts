import { ProtocolError } from '../common/errors.ts';
import type { RequestCommand } from '../policy/request-desc.ts';
import type { PasswdVerifier } from '../protocol/passwd-file.ts';
import {
  type Credentials,
  decodeRfc1929Request,
  encodeRfc1929Status,
  Rfc1929Status,
} from '../protocol/rfc1929.ts';
import { decodeSocks4Request, type Socks4Request } from '../protocol/socks4.ts';
import {
  chooseSocks5Method,
  decodeSocks5Greeting,
  decodeSocks5Request,
  encodeSocks5MethodChoice,
  encodeSocks5Reply,
  Socks5Method,
  type Socks5Request,
} from '../protocol/socks5.ts';
import { socks5RepFor } from './replies.ts';

/**
 * The request phase of a connection as a pure state machine (b.1, b.3, i.1–i.3): bytes in,
 * bytes to send and an outcome out. The first byte picks SOCKS 5 when it is enabled; SOCKS 5
 * method selection, RFC 1929 and the request follow. No sockets here, so every path is unit
 * tested with bytes.
 */

export interface ParsedRequest {
  readonly version: 4 | 5;
  readonly command: RequestCommand;
  readonly port: number;
  /** Dotted IPv4 / IPv6 text / the received `0.0.0.x` for 4A / `0.0.0.1` for a SOCKS 5 name. */
  readonly address: string;
  /** 4A or SOCKS 5 domain name. */
  readonly hostname: string | undefined;
  /** USERID, or the RFC 1929 username ('' without authentication, i.4). */
  readonly user: string;
  /** A 4A / SOCKS 5 name that is empty: reply 91 / 0x04 (b.3). */
  readonly emptyName: boolean;
}

export type HandshakeOutcome =
  /** Feed more bytes. */
  | { readonly kind: 'more' }
  /** The request is complete; bytes after it are early payload. */
  | { readonly kind: 'request'; readonly request: ParsedRequest }
  /** Send `reply` (already in `send`) and close: no acceptable method, failed auth, unsupported command. */
  | { readonly kind: 'refuse'; readonly reason: string; readonly authFailedUser?: string }
  /** Close without any reply (b.2): `code` from the codec; `byte` for the version/command logs. */
  | { readonly kind: 'drop'; readonly code: string; readonly byte: number };

export interface HandshakeStep {
  /** Bytes of the input used up (the caller drops them from its buffer). */
  readonly consumed: number;
  /** Bytes to write to the client, in order. */
  readonly send: readonly Buffer[];
  readonly outcome: HandshakeOutcome;
}

export interface HandshakeOptions {
  readonly socks5: boolean;
  readonly socks5Auth: 'optional' | 'required';
  readonly passwd: PasswdVerifier | null;
}

const More: HandshakeOutcome = { kind: 'more' };

type Stage = 'first' | 's4' | 's5-greeting' | 's5-auth' | 's5-request' | 'done';

export class Handshake {
  private stage: Stage = 'first';
  private user = '';
  /** Bytes consumed so far (the 8-byte header test of `Error in GetDst`). */
  private used = 0;

  constructor(private readonly options: HandshakeOptions) {}

  /** True while a SOCKS 4 header (8 bytes) has not fully arrived (`Error in GetDst`, b.1). */
  headerIncomplete(buffered: number): boolean {
    return this.stage === 'first' || (this.stage === 's4' && this.used + buffered < 8);
  }

  /**
   * Advance over `buf` (everything received and not yet consumed): one flat switch over the
   * stages, each decoding its message and then either asking for more bytes, ending the
   * negotiation, or going on to the next stage within the same read.
   */
  advance(buf: Buffer): HandshakeStep {
    const send: Buffer[] = [];
    let consumed = 0;
    try {
      for (;;) {
        const rest = consumed === 0 ? buf : buf.subarray(consumed);
        switch (this.stage) {
          case 'first':
            if (rest.length === 0) return this.step(consumed, send, More);
            this.stage = rest[0] === 5 && this.options.socks5 ? 's5-greeting' : 's4';
            continue;
          case 's4': {
            const r = decodeSocks4Request(rest);
            if ('need' in r) return this.step(consumed, send, More);
            return this.step(consumed + r.consumed, send, socks4Request(r.value));
          }
          case 's5-greeting': {
            const r = decodeSocks5Greeting(rest);
            if ('need' in r) return this.step(consumed, send, More);
            consumed += r.consumed;
            const refused = this.selectMethod(r.value.methods, send);
            if (refused !== null) return this.step(consumed, send, refused);
            continue;
          }
          case 's5-auth': {
            const r = decodeRfc1929Request(rest);
            if ('need' in r) return this.step(consumed, send, More);
            consumed += r.consumed;
            const refused = this.authenticate(r.value, send);
            if (refused !== null) return this.step(consumed, send, refused);
            continue;
          }
          case 's5-request': {
            const r = decodeSocks5Request(rest);
            if ('need' in r) return this.step(consumed, send, More);
            return this.step(consumed + r.consumed, send, this.socks5Request(r.value, send));
          }
          case 'done':
            return this.step(consumed, send, More);
        }
      }
    } catch (err) {
      return this.step(consumed, send, protocolErrorOutcome(err, send));
    }
  }

  /** i.1: the method choice goes out; a refusal when none is acceptable, else the next stage. */
  private selectMethod(offered: readonly number[], send: Buffer[]): HandshakeOutcome | null {
    const method = chooseSocks5Method(offered, {
      passwd: Boolean(this.options.passwd),
      authRequired: this.options.socks5Auth === 'required',
    });
    send.push(encodeSocks5MethodChoice(method));
    if (method === Socks5Method.NoAcceptable) return { kind: 'refuse', reason: 'no-acceptable-method' };
    this.stage = method === Socks5Method.UserPass ? 's5-auth' : 's5-request';
    return null;
  }

  /** RFC 1929 against the passwd file: the status goes out; a refusal naming the user when it fails. */
  private authenticate(credentials: Credentials, send: Buffer[]): HandshakeOutcome | null {
    const ok = this.options.passwd?.verify(credentials.username, credentials.revealPassword()) ?? false;
    if (!ok) {
      send.push(encodeRfc1929Status(Rfc1929Status.Failure));
      return { kind: 'refuse', reason: 'auth-failed', authFailedUser: credentials.username };
    }
    this.user = credentials.username;
    send.push(encodeRfc1929Status(Rfc1929Status.Success));
    this.stage = 's5-request';
    return null;
  }

  /** The SOCKS 5 request as the session's ParsedRequest; UDP ASSOCIATE is refused with 0x07 (i.3). */
  private socks5Request(v: Socks5Request, send: Buffer[]): HandshakeOutcome {
    if (v.command === 'udp') {
      send.push(encodeSocks5Reply(socks5RepFor({ kind: 'command-unsupported' })));
      return { kind: 'refuse', reason: 'udp-unsupported' };
    }
    const domain = v.addressType === 'domain';
    return {
      kind: 'request',
      request: {
        version: 5,
        command: v.command,
        port: v.port,
        address: domain ? '0.0.0.1' : v.address,
        hostname: domain ? v.address : undefined,
        user: this.user,
        emptyName: domain && v.address === '',
      },
    };
  }

  /** The step that ends this advance (a method, not a closure: advance runs for every read). */
  private step(consumed: number, send: Buffer[], outcome: HandshakeOutcome): HandshakeStep {
    this.used += consumed;
    if (outcome.kind !== 'more') this.stage = 'done';
    return { consumed, send, outcome };
  }
}

/** The SOCKS 4 / 4A request as the session's ParsedRequest. */
function socks4Request(v: Socks4Request): HandshakeOutcome {
  return {
    kind: 'request',
    request: {
      version: 4,
      command: v.command,
      port: v.port,
      address: v.address,
      hostname: v.hostname,
      user: v.user,
      emptyName: v.emptyHostname,
    },
  };
}

/**
 * A codec error: a SOCKS 5 command or address type we do not serve is answered (0x07, 0x08, i.3);
 * anything else closes without a reply (b.2), with the offending byte for the log line.
 */
function protocolErrorOutcome(err: unknown, send: Buffer[]): HandshakeOutcome {
  const code = err instanceof ProtocolError ? err.code : 'E_UNKNOWN';
  if (code === 'E_S5_COMMAND' || code === 'E_S5_ATYP') {
    const kind = code === 'E_S5_COMMAND' ? 'command-unsupported' : 'address-type-unsupported';
    send.push(encodeSocks5Reply(socks5RepFor({ kind })));
    return { kind: 'refuse', reason: code };
  }
  return { kind: 'drop', code, byte: (err as { byte?: number }).byte ?? 0 };
}
