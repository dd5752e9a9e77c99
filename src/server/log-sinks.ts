import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, openSync, type WriteStream, writeSync } from 'node:fs';
import { type EventSink, type LabEvent, sinkWants } from '../common/events.ts';
import { escapeLogText } from '../common/log-text.ts';
import type { ClassicLog } from './options.ts';

/**
 * Where the classic log (h.4, h.6) and the JSON-lines events go. Writers batch lines and write
 * a batch at a time, so logging never blocks the accept → decide → connect path with a
 * synchronous write per line, nor costs a thread-pool round trip per connection.
 */

export type LogLevel = 'notice' | 'err' | 'warning' | 'info';

/** How long lines may wait to be written together; a busy server writes ~40 batches a second. */
const FlushDelayMs = 25;
/**
 * The classic text log file may wait longer: nothing reads it while it is written (the lab reads
 * the event stream, whose quiet period is shorter). Each batch wakes a thread-pool thread, which
 * on a small machine takes a core from whatever else runs; ~10 batches a second instead of ~40
 * interrupt the busy connections less. Exit writes what is left.
 */
export const TextLogFlushDelayMs = 100;
/** A batch this large is written at once. */
const FlushBytes = 64 * 1024;

/**
 * A line sink that coalesces writes: lines wait up to FlushDelayMs (or until FlushBytes are
 * pending), so a server under load makes one file write per batch instead of a thread-pool
 * round trip per connection.
 *
 * Each line is copied at once into a buffer outside the JavaScript heap. Held as strings, the
 * lines of a batch would outlive a young-generation collection or two and be copied and promoted
 * by each; the bytes of a pending batch cost the collector nothing.
 */
export class LineWriter {
  private pending: Buffer | null = null;
  private used = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: { write(chunk: Uint8Array): unknown },
    private readonly fd?: number,
    private readonly delayMs: number = FlushDelayMs,
  ) {}

  write(line: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit: a line that might not fit starts a new batch.
    if (this.pending !== null && this.used + line.length * 3 > this.pending.length) this.flush();
    if (line.length * 3 > FlushBytes) {
      this.stream.write(Buffer.from(line));
      return;
    }
    this.pending ??= Buffer.allocUnsafeSlow(FlushBytes);
    this.used += this.pending.write(line, this.used);
    if (this.timer === null) {
      this.timer = setTimeout(this.flush, this.delayMs);
      // The exit path writes what is left (flushSync); a pending batch never keeps the process up.
      this.timer.unref();
    }
  }

  /** The pending batch, handed over: the stream may hold it until written, so the next is new. */
  private take(): Buffer | null {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const pending = this.pending;
    const used = this.used;
    this.pending = null;
    this.used = 0;
    return pending === null || used === 0 ? null : pending.subarray(0, used);
  }

  readonly flush = (): void => {
    const chunk = this.take();
    if (chunk !== null) this.stream.write(chunk);
  };

  /** At exit: write what is left synchronously, so the last lines are not lost. */
  flushSync(): void {
    const chunk = this.take();
    if (chunk === null) return;
    if (this.fd !== undefined) {
      try {
        writeSync(this.fd, chunk);
        return;
      } catch {
        // fall through to the async path
      }
    }
    this.stream.write(chunk);
  }
}

/** `2026-11-26T06:18:05.123Z` — sortable and unambiguous across time zones. */
let stampedAt = Number.NaN;
let stamp = '';
let prefixSecond = Number.NaN;
let prefix = '';
export function timestamp(now: number): string {
  // A busy server writes several lines within the same millisecond, and a new millisecond within
  // the same second: the date and time are formatted once per second, the milliseconds appended.
  if (now !== stampedAt) {
    stampedAt = now;
    const ms = Math.floor(now);
    const second = Math.floor(ms / 1000);
    if (second !== prefixSecond) {
      prefixSecond = second;
      prefix = new Date(second * 1000).toISOString().slice(0, 20); // up to and including the '.'
    }
    const frac = ms - second * 1000;
    stamp = `${prefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
  }
  return stamp;
}

/**
 * h.4 without syslog: `<timestamp> sockd[pid]: message`, one per line; the message escaped
 * (common/log-text.ts), so a request value can never start a line of its own.
 */
export class TextLog implements ClassicLog {
  /** ` sockd[pid]: `, the same for every line. */
  private readonly tag: string;

  constructor(
    private readonly out: LineWriter,
    ident: string,
    pid: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tag = ` ${ident}[${pid}]: `;
  }

  write(_level: LogLevel, message: string): void {
    this.out.write(`${timestamp(this.now())}${this.tag}${escapeLogText(message)}\n`);
  }
}

/** Syslog facility `daemon` (3) and the severities of h.4. */
const SyslogFacilityDaemon = 3;
const SyslogSeverity = {
  err: 3, // configuration and file errors
  warning: 4, // CLI warnings (unknown options)
  notice: 5, // routine events
  info: 6, // diagnostics
} as const;

export function syslogPriority(level: LogLevel): number {
  return SyslogFacilityDaemon * 8 + SyslogSeverity[level];
}

/** One RFC 3164 line (PRI, timestamp, tag with pid) — what `logger` would hand to /dev/log. */
export function rfc3164Line(level: LogLevel, ident: string, pid: number, message: string, now: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const day = String(now.getDate()).padStart(2, ' ');
  const time = [now.getHours(), now.getMinutes(), now.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return `<${syslogPriority(level)}>${months[now.getMonth()]} ${day} ${time} ${ident}[${pid}]: ${escapeLogText(message)}`;
}

/**
 * Syslog through /dev/log. Node cannot open AF_UNIX datagram sockets, so one long-lived
 * `logger --prio-prefix --socket=/dev/log` child receives our RFC 3164 priority-prefixed lines
 * on its stdin and sends each as one datagram. Created only when /dev/log exists and logger
 * starts; otherwise `openSyslog` returns null and the caller falls back to stderr.
 */
export class SyslogLog implements ClassicLog {
  private constructor(
    private readonly child: ChildProcess,
    private readonly out: LineWriter,
  ) {}

  /** `as`: the identity the server will drop to (--user); logger runs as it from the start. */
  static open(
    ident: string,
    pid: number,
    socketPath = '/dev/log',
    as?: { readonly uid: number; readonly gid: number },
  ): SyslogLog | null {
    if (!existsSync(socketPath)) return null;
    let child: ChildProcess;
    try {
      child = spawn(
        'logger',
        ['--prio-prefix', `--socket=${socketPath}`, '-t', ident, `--id=${pid}`, '--socket-errors=off'],
        { stdio: ['pipe', 'ignore', 'ignore'], ...(as ? { uid: as.uid, gid: as.gid } : {}) },
      );
    } catch {
      return null;
    }
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    child.unref();
    const stdin = child.stdin;
    if (!stdin) return null;
    (stdin as unknown as { unref?: () => void }).unref?.();
    return new SyslogLog(child, new LineWriter(stdin));
  }

  write(level: LogLevel, message: string): void {
    // logger reads one message per line: an unescaped newline would make a second, forged one.
    this.out.write(`<${syslogPriority(level)}>${escapeLogText(message)}\n`);
  }

  close(): void {
    this.out.flushSync();
    this.child.stdin?.end();
  }
}

/** JSON-lines events: one LabEvent per line. */
export class JsonLinesSink implements EventSink {
  constructor(private readonly out: LineWriter) {}
  emit(event: LabEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}

/** Fan-out to several event sinks. */
export function teeSinks(sinks: readonly EventSink[]): EventSink {
  if (sinks.length === 1) return sinks[0]!;
  // The tee reads what any of its sinks reads: every type as soon as one sink reads them all.
  const types = sinks.every((s) => s.types) ? new Set(sinks.flatMap((s) => [...(s.types ?? [])])) : undefined;
  return {
    emit(event) {
      for (const s of sinks) if (sinkWants(s, event.type)) s.emit(event);
    },
    ...(types ? { types } : {}),
  };
}

export function fileWriter(
  path: string,
  delayMs: number = FlushDelayMs,
): { writer: LineWriter; stream: WriteStream } {
  // Opened now, not when the stream gets round to it: a server that drops privileges (--user)
  // opens its logs as root just before, and a log it cannot open is a start-up error, not
  // silently lost lines.
  const fd = openSync(path, 'a');
  const stream = createWriteStream(path, { fd, flags: 'a' });
  stream.on('error', () => {});
  return { writer: new LineWriter(stream, undefined, delayMs), stream };
}
