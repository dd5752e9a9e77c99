import type { Endpoint, LabEvent } from '../common/events.ts';
import type { IdentdBehaviour } from '../topology/model.ts';
import type { ProbeOutcome, ProbeRequest } from './runtime.ts';

/**
 * The wire between the driver and the host agent inside each container. Pure types and codecs:
 * - the agent's stdout is JSON lines of `AgentLine` (the driver follows the container's logs);
 * - control requests go through `host-agent ctl <json>` run by `docker exec`, which passes them
 *   to the agent over a unix socket inside the container and prints the `ControlReply`.
 * The driver never dials a topology address from outside.
 */

export type AgentLine =
  | { readonly k: 'ready'; readonly services: readonly string[] }
  | { readonly k: 'event'; readonly e: LabEvent }
  /** Anything a service printed that is not an event (kept for diagnostics). */
  | { readonly k: 'text'; readonly from: string; readonly text: string }
  | { readonly k: 'fatal'; readonly message: string }
  /** Answer to a `mark` control request: every line before it has been written. */
  | { readonly k: 'mark'; readonly id: string }
  /** A BIND probe's first reply granted: the driver now has the peer host dial `bound`. */
  | { readonly k: 'bound'; readonly bound: Endpoint }
  /** A probe's last line. */
  | { readonly k: 'outcome'; readonly outcome: ProbeOutcome };

export type ControlRequest =
  | { readonly op: 'stop' }
  | { readonly op: 'start' }
  | { readonly op: 'identd'; readonly behaviour: IdentdBehaviour }
  | {
      readonly op: 'config';
      readonly file: 'sockd.conf' | 'socks.conf' | 'sockd.route';
      readonly text: string;
    }
  | { readonly op: 'mark'; readonly id: string };

export type ControlReply =
  | { readonly ok: true; readonly reloaded?: boolean; readonly error?: string }
  | { readonly ok: false; readonly error: string };

/** A plain TCP exchange from inside a host (`host-agent dial`): reachability checks, BIND peers. */
export interface DialRequest {
  readonly host: string;
  readonly port: number;
  readonly send?: string;
  readonly timeoutMs?: number;
  /** Stop reading after this long without data (default 300 ms). */
  readonly idleMs?: number;
}

export interface DialOutcome {
  readonly ok: boolean;
  readonly local?: Endpoint;
  readonly received: string;
  readonly error?: string;
  readonly durationMs: number;
}

export function encodeLine(line: AgentLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** One stdout line → AgentLine, or null for lines that are not ours (e.g. node warnings). */
export function decodeLine(text: string): AgentLine | null {
  const t = text.trim();
  if (!t.startsWith('{')) return null;
  try {
    const v = JSON.parse(t) as unknown;
    if (v && typeof v === 'object' && 'k' in v && typeof v.k === 'string') return v as AgentLine;
  } catch {
    // not JSON: not ours
  }
  return null;
}

/** Splits a byte stream into lines, keeping the unterminated tail for the next chunk. */
export class LineSplitter {
  private tail = '';
  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const parts = text.split('\n');
    this.tail = parts.pop() ?? '';
    return parts;
  }
  flush(): string[] {
    const rest = this.tail;
    this.tail = '';
    return rest ? [rest] : [];
  }
}

/**
 * A long-lived prober (`host-agent probes`, one per host and user, run as that user): requests
 * come as JSON lines on its stdin, each with an id; every line a probe prints comes back wrapped
 * with that id, so probes run side by side in one process (`run --jobs`) and no probe pays for
 * starting a process. `dial` is a BIND peer's plain TCP exchange.
 */
export type ProberRequest =
  | { readonly id: number; readonly probe: ProbeRequest }
  | { readonly id: number; readonly dial: DialRequest };

/** One line of a prober: a probe's line, or a dial's outcome, for request `id`. */
export type ProberLine =
  | { readonly k: 'for'; readonly id: number; readonly line: AgentLine }
  | { readonly k: 'dialed'; readonly id: number; readonly outcome: DialOutcome };

/** A prober's stdout line, or null for anything else. */
export function decodeProberLine(text: string): ProberLine | null {
  const line = decodeLine(text) as { k: string } | null;
  return line && (line.k === 'for' || line.k === 'dialed') ? (line as unknown as ProberLine) : null;
}
