/**
 * A fake identd (RFC 1413 server) for tests and the lab, with scripted behaviours for fault
 * scenarios (design.md "identd across hops"): truthful (asks `lookup` who owns the connection),
 * down (nothing listens: connections are refused), silent (accepts, reads, never answers),
 * lying (a fixed other user), error (an ERROR answer), garbage (a line no parser accepts).
 * The behaviour can be switched while running. Reads are bounded: one line of at most 1000
 * bytes within `readTimeoutMs` (10 s), else the connection is dropped without an answer.
 */

import { type Clock, systemClock } from '../common/clock.ts';
import type { Endpoint, EventSink, LabEvent } from '../common/events.ts';
import type { IdentdBehaviour } from '../common/identd-behaviour.ts';
import { oneAtATime } from '../common/one-at-a-time.ts';
import type { ByteStream, Conn, Listener, Net } from '../net/net.ts';
import { encodeIdentAnswer, type IdentReply, parseIdentQuery } from '../protocol/ident.ts';

export const IDENTD_LINE_LIMIT = 1000;
export const IDENTD_DEFAULT_READ_TIMEOUT_MS = 10_000;
/** What `garbage` sends: no port pair, a NUL and high bytes, then CR LF. */
export const IDENTD_GARBAGE_LINE = 'GARBAGE \u0000\u00ff\u007f is not an identd answer\r\n';

export interface IdentdLookupQuery {
  /** Port on the identd's host (the first number of the query). */
  readonly localPort: number;
  /** Port on the asking host (the second number). */
  readonly remotePort: number;
  /** The asking host's end of the identd connection. */
  readonly peer: Endpoint;
  /** The identd's own end of the identd connection. */
  readonly local: Endpoint;
}

/** Who owns the connection localPort ↔ peer.address:remotePort; null → `ERROR : NO-USER`. */
export type IdentdLookup = (query: IdentdLookupQuery) => string | null | Promise<string | null>;

export interface FakeIdentdOptions {
  readonly net: Net;
  readonly host: string;
  /** 0 = ephemeral (chosen at the first listen and kept across down/up switches). */
  readonly port: number;
  readonly behaviour: IdentdBehaviour;
  readonly lookup: IdentdLookup;
  readonly events?: EventSink;
  /** `host` field of the events (the topology host name). */
  readonly hostLabel?: string;
  readonly readTimeoutMs?: number;
  /** Operating-system token of USERID answers; default UNIX. */
  readonly opsys?: string;
  readonly clock?: Clock;
}

export interface FakeIdentd extends AsyncDisposable {
  /** Where it listens, or would listen while down (port 0 only if it never listened). */
  readonly endpoint: Endpoint;
  readonly listening: boolean;
  readonly behaviour: IdentdBehaviour;
  setBehaviour(behaviour: IdentdBehaviour): Promise<void>;
  close(): Promise<void>;
}

/** `truthful`, `down`, `silent`, `lying:<user>`, `error:<TOKEN>`, `garbage` (event and report text). */
export function describeIdentdBehaviour(b: IdentdBehaviour): string {
  switch (b.kind) {
    case 'lying':
      return `lying:${b.user}`;
    case 'error':
      return `error:${b.error}`;
    default:
      return b.kind;
  }
}

/**
 * Starts the identd; kept whole as a factory of closures: the listener, the open sockets, the
 * current behaviour and the queue of switches are one piece of state that every method shares.
 * What happens on one connection is readQueryLine then serveQuery below.
 */
export async function startFakeIdentd(options: FakeIdentdOptions): Promise<FakeIdentd> {
  const clock = options.clock ?? systemClock;
  const readTimeoutMs = options.readTimeoutMs ?? IDENTD_DEFAULT_READ_TIMEOUT_MS;
  let behaviour = options.behaviour;
  let port = options.port;
  let listener: Listener | null = null;
  let closed = false;
  const sockets = new Set<ByteStream>();
  // Switches run one after another so a quick down/up/down sequence cannot interleave.
  const enqueue = oneAtATime();

  const onConnection = (conn: Conn) => {
    const socket = conn.socket;
    if (closed || behaviour.kind === 'down') {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // The behaviour in force when the query line arrives is the one that answers it.
    readQueryLine(
      socket,
      clock,
      readTimeoutMs,
      (line) => void serveQuery(options, clock, conn, line, behaviour),
    );
  };

  const startListening = async () => {
    listener = await options.net.listen({ host: options.host, port }, onConnection);
    port = listener.local.port;
  };
  const stopListening = async () => {
    const l = listener;
    listener = null;
    for (const s of sockets) s.destroy();
    if (l) await l.close();
  };
  if (behaviour.kind !== 'down') await startListening();

  const handle: FakeIdentd = {
    get endpoint() {
      return listener ? listener.local : { address: options.host, port };
    },
    get listening() {
      return listener !== null;
    },
    get behaviour() {
      return behaviour;
    },
    setBehaviour(next) {
      return enqueue(async () => {
        if (closed) return;
        behaviour = next;
        if (next.kind === 'down' && listener) await stopListening();
        else if (next.kind !== 'down' && !listener) await startListening();
      });
    },
    close() {
      return enqueue(async () => {
        if (closed) return;
        closed = true;
        await stopListening();
      });
    },
    [Symbol.asyncDispose]() {
      return handle.close();
    },
  };
  return handle;
}

/**
 * Reads the query: one line (CR or LF ends it) of at most IDENTD_LINE_LIMIT bytes within
 * `readTimeoutMs`; a longer line, the timer or an end before the line drops the connection.
 */
function readQueryLine(
  socket: ByteStream,
  clock: Clock,
  readTimeoutMs: number,
  onLine: (line: string) => void,
) {
  let received = Buffer.alloc(0);
  let gotLine = false;
  const readTimer = clock.setTimeout(() => socket.destroy(), readTimeoutMs);
  socket.on('close', () => readTimer.clear());
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const limit = Math.min(received.length, IDENTD_LINE_LIMIT);
    let end = -1;
    for (let i = 0; i < limit; i++) {
      if (received[i] === 13 || received[i] === 10) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      if (received.length >= IDENTD_LINE_LIMIT) socket.destroy();
      return;
    }
    gotLine = true;
    socket.off('data', onData);
    readTimer.clear();
    onLine(received.subarray(0, end).toString('latin1'));
  };
  socket.on('data', onData);
  socket.on('end', () => {
    if (!gotLine) socket.destroy();
  });
}

/** Answers one query line as `served` says, emits `identd-served`, and ends the connection. */
async function serveQuery(
  options: FakeIdentdOptions,
  clock: Clock,
  conn: Conn,
  line: string,
  served: IdentdBehaviour,
): Promise<void> {
  const socket = conn.socket;
  const q = parseIdentQuery(line);
  let answer: string | null;
  if (q.kind === 'malformed') answer = null;
  else if (q.kind === 'invalid-port') answer = encodeIdentAnswer(q, { kind: 'error', error: 'INVALID-PORT' });
  else answer = await answerFor(options, served, q, conn);
  if (options.events) {
    const event: LabEvent = {
      t: clock.now(),
      ...(options.hostLabel !== undefined ? { host: options.hostLabel } : {}),
      service: 'identd',
      type: 'identd-served',
      peer: conn.remote,
      query: line,
      answer: answer === null ? null : answer.replace(/\r\n$/, ''),
      behaviour: describeIdentdBehaviour(served),
    };
    options.events.emit(event);
  }
  if (socket.destroyed) return;
  if (answer !== null) socket.end(answer, 'latin1');
  else if (served.kind !== 'silent' || q.kind === 'malformed') socket.destroy();
  // silent: hold the connection open until the asker gives up (or we close).
}

/** The answer line `served` gives to a well-formed query; null = no answer. */
async function answerFor(
  options: FakeIdentdOptions,
  served: IdentdBehaviour,
  q: { localPort: number; remotePort: number },
  conn: Conn,
): Promise<string | null> {
  const reply = (r: IdentReply) => encodeIdentAnswer(q, r);
  const opsys = options.opsys ?? 'UNIX';
  switch (served.kind) {
    case 'silent':
    case 'down':
      return null;
    case 'garbage':
      return IDENTD_GARBAGE_LINE;
    case 'error':
      return reply({ kind: 'error', error: served.error });
    case 'lying':
      return reply({ kind: 'user', user: served.user, opsys });
    case 'truthful': {
      let owner: string | null;
      try {
        owner = await options.lookup({ ...q, peer: conn.remote, local: conn.local });
      } catch {
        return reply({ kind: 'error', error: 'UNKNOWN-ERROR' });
      }
      return owner === null
        ? reply({ kind: 'error', error: 'NO-USER' })
        : reply({ kind: 'user', user: owner, opsys });
    }
  }
}
