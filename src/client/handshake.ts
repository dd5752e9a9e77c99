import { ProtocolError } from '../common/errors.ts';
import type { Endpoint } from '../common/events.ts';
import { parseDottedQuad } from '../common/inet-address.ts';
import type { Conn } from '../net/net.ts';
import type { Decoded } from '../protocol/decoded.ts';
import { Credentials, decodeRfc1929Status, encodeRfc1929Request } from '../protocol/rfc1929.ts';
import { decodeSocks4Reply, encodeSocks4Request, Socks4Reply } from '../protocol/socks4.ts';
import {
  decodeSocks5MethodChoice,
  decodeSocks5Reply,
  encodeSocks5Greeting,
  encodeSocks5Request,
  Socks5Method,
  Socks5Reply,
} from '../protocol/socks5.ts';
import { MessageReader } from './message-reader.ts';

/**
 * The client side of one SOCKS exchange on an open connection to a server: SOCKS 4 (numeric
 * DSTIP), 4A (the name goes to the server) or 5 (with optional RFC 1929 credentials); CONNECT
 * or BIND (two replies).
 */
export type SocksProtocol = 'socks4' | 'socks4a' | 'socks5';

export interface SocksRequest {
  readonly protocol: SocksProtocol;
  readonly command: 'connect' | 'bind';
  /** Dotted IPv4 (socks4 needs one) or a name (4A/5 send it as is). */
  readonly host: string;
  readonly port: number;
  /**
   * SOCKS 4A: send `host` as a name even when it reads as a dotted quad (rsockd passes a name it
   * could not resolve on as it received it, d.8).
   */
  readonly asName?: boolean;
  /** SOCKS 4 USERID. */
  readonly user: string;
  readonly credentials?: { readonly username: string; readonly password: string };
}

export interface SocksReply {
  readonly code: number;
  readonly granted: boolean;
  /** Address/port in the reply (the bound address for BIND; server terms). */
  readonly endpoint: Endpoint;
}

export interface SocksExchange {
  readonly first: SocksReply;
  /** BIND only: the second reply (the peer that connected). */
  second(): Promise<SocksReply>;
  /** Stop parsing and pause the socket; bytes that arrived after the last reply (relayed data). */
  finish(): Buffer;
}

/**
 * How long each reply may take. Without `timeoutMs` a reply is awaited for as long as the
 * connection lives: rsockd's upstream step, whose session timer ends the wait by closing it.
 */
export interface ExchangeTimers {
  readonly timeoutMs?: number;
  /** BIND's second reply (the peer connecting); `timeoutMs` when not given. */
  readonly bindTimeoutMs?: number;
}

export async function socksExchange(
  conn: Conn,
  request: SocksRequest,
  options: ExchangeTimers,
): Promise<SocksExchange> {
  const reader = new MessageReader(conn.socket);
  const deadline = () => deadlineAfter(options.timeoutMs);
  try {
    if (request.protocol === 'socks5') {
      const methods = request.credentials
        ? [Socks5Method.NoAuth, Socks5Method.UserPass]
        : [Socks5Method.NoAuth];
      conn.socket.write(encodeSocks5Greeting(methods));
      const choice = await reader.read(decodeSocks5MethodChoice, 'SOCKS 5 method choice', deadline());
      if (choice.method === Socks5Method.UserPass) {
        if (!request.credentials)
          throw new ProtocolError('E_CLIENT_AUTH', 'the server asked for a username/password');
        const creds = new Credentials(request.credentials.username, request.credentials.password);
        conn.socket.write(encodeRfc1929Request(creds));
        const status = await reader.read(decodeRfc1929Status, 'RFC 1929 status', deadline());
        if (!status.ok) {
          return failed(reader, Socks5Reply.NotAllowed);
        }
      } else if (choice.method !== Socks5Method.NoAuth) {
        return failed(reader, Socks5Reply.NotAllowed);
      }
      conn.socket.write(
        encodeSocks5Request({ command: request.command, address: request.host, port: request.port }),
      );
      return await awaitReplies(reader, decodeSocks5Reply, 'SOCKS 5 reply', Socks5Reply.Succeeded, options);
    }
    const numeric = !request.asName && parseDottedQuad(request.host) !== undefined;
    if (request.protocol === 'socks4' && !numeric) {
      throw new ProtocolError('E_CLIENT_ADDRESS', `SOCKS 4 needs a numeric destination, got ${request.host}`);
    }
    conn.socket.write(
      encodeSocks4Request({
        command: request.command,
        port: request.port,
        user: request.user,
        ...(numeric ? { address: request.host } : { hostname: request.host }),
      }),
    );
    return await awaitReplies(reader, decodeSocks4Reply, 'SOCKS 4 reply', Socks4Reply.Granted, options);
  } catch (err) {
    reader.detach();
    throw err;
  }
}

/** When a wait of `limit` ms from now ends; no limit, never. */
function deadlineAfter(limit: number | undefined): number {
  return limit === undefined ? Infinity : Date.now() + limit;
}

/**
 * The replies once the request is sent: the first now, BIND's second on demand. SOCKS 4 and 5
 * differ here only in the reply codec and the code that grants.
 */
async function awaitReplies(
  reader: MessageReader,
  decode: (
    buf: Uint8Array,
  ) => Decoded<{ readonly code: number; readonly address: string; readonly port: number }>,
  what: string,
  grantedCode: number,
  options: ExchangeTimers,
): Promise<SocksExchange> {
  const read = async (limit: number | undefined): Promise<SocksReply> => {
    const r = await reader.read(decode, what, deadlineAfter(limit));
    return { code: r.code, granted: r.code === grantedCode, endpoint: { address: r.address, port: r.port } };
  };
  const first = await read(options.timeoutMs);
  return {
    first,
    second: () => read(options.bindTimeoutMs ?? options.timeoutMs),
    finish: () => reader.detach(),
  };
}

function failed(reader: MessageReader, code: number): SocksExchange {
  const reply = { code, granted: false, endpoint: { address: '0.0.0.0', port: 0 } };
  return { first: reply, second: async () => reply, finish: () => reader.detach() };
}
