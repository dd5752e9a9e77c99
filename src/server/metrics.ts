import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventSink, LabEvent } from '../common/events.ts';

/**
 * rsockd's Prometheus metrics, counted from the events the engine already emits (events.ts): the
 * sessions themselves carry no counters, and a server without `--metrics` pays nothing. The
 * endpoint that serves them is metrics-endpoint.ts.
 *
 * Label values come from bounded sets only: commands, protocols, reply codes, verdicts, the
 * config file and line that decided (as many as the rule files have lines) and the upstream
 * servers named in socks.conf. Client addresses, users and destinations are never labels.
 */

export const MetricPrefix = 'rsockd_';

/** Request to first reply, in seconds: from a loopback permit (< 1 ms) to identd and upstream timeouts. */
const HandshakeBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type ReloadResult = 'ok' | 'kept-previous';

type Protocol = 'socks4' | 'socks4a' | 'socks5';

/** What one session has told us so far (between its request and its close). */
interface SessionState {
  /** Its `command NUL protocol` key in the session tallies. */
  readonly key: string;
  readonly requestAt: number;
  replied: boolean;
  /** The upstream server of the last attempt that failed (a next attempt is a failover from it). */
  failedServer: string | null;
}

type Labels = Record<string, string>;

/** Joins label values into a Tally key; NUL occurs in no path, server name or code. */
const Sep = '\u0000';

/**
 * Counts by label values in a plain Map, keyed by the values joined with NUL in `labelNames`
 * order: the hot path pays a string and a Map lookup per count. prom-client, whose inc()
 * validates and hashes its labels object on every call, sees the numbers only when scraped,
 * through its `collect` hook, where the keys are split back into labels.
 */
class Tally {
  private readonly counts = new Map<string, number>();
  constructor(readonly labelNames: readonly string[]) {}
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  *entries(): Iterable<{ readonly labels: Labels; readonly value: number }> {
    for (const [key, value] of this.counts) {
      const values = key.split(Sep);
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? '';
      });
      yield { labels, value };
    }
  }
}

export class ServerMetrics implements EventSink {
  /** The event types emit() counts: the engine builds no others for this sink (no log events). */
  readonly types: ReadonlySet<LabEvent['type']> = new Set<LabEvent['type']>([
    'request',
    'reply',
    'decision',
    'identd',
    'upstream-attempt',
    'close',
  ]);
  readonly registry: Registry;
  private readonly sessions = new Map<string, SessionState>();
  private readonly sessionsTotal = new Tally(['command', 'protocol']);
  private readonly sessionsActive = new Tally(['command', 'protocol']);
  private readonly replies = new Tally(['version', 'code']);
  private readonly decisions = new Tally(['action', 'reason', 'line', 'file']);
  private readonly identd = new Tally(['verdict']);
  private readonly upstreamAttempts = new Tally(['result', 'server']);
  private readonly failovers = new Tally(['server']);
  private readonly bytes = new Tally(['direction']);
  private readonly reloads = new Tally(['result']);
  private readonly handshake: Histogram;

  /** `connections()`: connections in progress, read at scrape time (the server's own count). */
  constructor(options: { readonly connections?: () => number; readonly registry?: Registry } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    const p = MetricPrefix;
    const counter = (name: string, help: string, tally: Tally) =>
      new Counter({
        name: `${p}${name}`,
        help,
        labelNames: tally.labelNames,
        registers,
        collect() {
          this.reset();
          for (const e of tally.entries()) this.inc(e.labels, e.value);
        },
      });
    counter('sessions_total', 'SOCKS requests received, by command and protocol', this.sessionsTotal);
    const active = this.sessionsActive;
    new Gauge({
      name: `${p}sessions_active`,
      help: 'Sessions between their request and their close, by command and protocol',
      labelNames: ['command', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const e of active.entries()) this.set(e.labels, e.value);
      },
    });
    const connections = options.connections;
    if (connections) {
      new Gauge({
        name: `${p}connections_active`,
        help: 'Client connections open, including those that have not sent a request yet',
        registers,
        collect() {
          this.set(connections());
        },
      });
    }
    counter(
      'replies_total',
      'Replies sent to clients, by SOCKS version and reply code (BIND counts both replies)',
      this.replies,
    );
    counter(
      'decisions_total',
      'Access decisions, by action, reason and the sockd.conf file and line that decided',
      this.decisions,
    );
    counter('identd_total', 'identd queries about clients, by outcome', this.identd);
    counter(
      'upstream_attempts_total',
      'Connections tried to upstream SOCKS servers, by server and result',
      this.upstreamAttempts,
    );
    counter(
      'upstream_failovers_total',
      'Times a session moved on to the next upstream server after this one failed',
      this.failovers,
    );
    counter(
      'bytes_total',
      'Bytes relayed, by direction (from_client, from_remote), counted when a session closes',
      this.bytes,
    );
    this.handshake = new Histogram({
      name: `${p}handshake_seconds`,
      // One series: per-protocol latency differs by what the request asks, not by the protocol.
      help: 'Time from a request to its (first) reply: identd, rules, resolving and dialling',
      buckets: HandshakeBuckets,
      registers,
    });
    counter(
      'reloads_total',
      'SIGHUP reloads, by result (kept-previous: a file could not be used and kept its rules)',
      this.reloads,
    );
    for (const result of ['ok', 'kept-previous'] as const) this.reloads.add(result, 0);
  }

  emit(event: LabEvent): void {
    switch (event.type) {
      case 'request': {
        const protocol: Protocol = event.version === 5 ? 'socks5' : event.dst.name ? 'socks4a' : 'socks4';
        const key = event.command + Sep + protocol;
        this.sessionsTotal.add(key);
        this.sessionsActive.add(key);
        if (event.session !== undefined)
          this.sessions.set(event.session, {
            key,
            requestAt: performance.now(),
            replied: false,
            failedServer: null,
          });
        return;
      }
      case 'reply': {
        this.replies.add(event.version + Sep + event.code);
        const s = this.session(event);
        if (s && !s.replied) {
          s.replied = true;
          this.handshake.observe((performance.now() - s.requestAt) / 1000);
        }
        return;
      }
      case 'decision':
        this.decisions.add(
          event.action + Sep + event.reason + Sep + (event.rule?.line ?? '') + Sep + (event.rule?.file ?? ''),
        );
        return;
      case 'identd':
        this.identd.add(event.verdict);
        return;
      case 'upstream-attempt': {
        this.upstreamAttempts.add((event.ok ? 'ok' : 'failed') + Sep + event.server);
        const s = this.session(event);
        if (!s) return;
        if (s.failedServer !== null) this.failovers.add(s.failedServer);
        s.failedServer = event.ok ? null : event.server;
        return;
      }
      case 'close': {
        this.bytes.add('from_client', event.bytesFromClient);
        this.bytes.add('from_remote', event.bytesFromRemote);
        const s = this.session(event);
        if (!s) return;
        this.sessionsActive.add(s.key, -1);
        this.sessions.delete(event.session!);
        return;
      }
      default:
        return;
    }
  }

  /** A SIGHUP reload has been applied. */
  reloaded(result: ReloadResult): void {
    this.reloads.add(result);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private session(event: LabEvent): SessionState | undefined {
    return event.session === undefined ? undefined : this.sessions.get(event.session);
  }
}
