import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventSink, LabEvent } from '../common/events.ts';
import type { ServerTotals } from '../common/server-totals.ts';

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
  readonly command: string;
  readonly protocol: Protocol;
  readonly requestAt: number;
  replied: boolean;
  /** The upstream server of the last attempt that failed (a next attempt is a failover from it). */
  failedServer: string | null;
}

export class ServerMetrics implements EventSink {
  readonly registry: Registry;
  private readonly sessions = new Map<string, SessionState>();
  private readonly sessionsTotal: Counter<'command' | 'protocol'>;
  private readonly sessionsActive: Gauge<'command' | 'protocol'>;
  private readonly replies: Counter<'version' | 'code'>;
  private readonly decisions: Counter<'action' | 'reason' | 'file' | 'line'>;
  private readonly identd: Counter<'verdict'>;
  private readonly upstreamAttempts: Counter<'server' | 'result'>;
  private readonly failovers: Counter<'server'>;
  private readonly bytes: Counter<'direction'>;
  private readonly handshake: Histogram;
  private readonly reloads: Counter<'result'>;

  /** `connections()`: connections in progress, read at scrape time (the server's own count). */
  constructor(options: { readonly connections?: () => number; readonly registry?: Registry } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    const p = MetricPrefix;
    this.sessionsTotal = new Counter({
      name: `${p}sessions_total`,
      help: 'SOCKS requests received, by command and protocol',
      labelNames: ['command', 'protocol'],
      registers,
    });
    this.sessionsActive = new Gauge({
      name: `${p}sessions_active`,
      help: 'Sessions between their request and their close, by command and protocol',
      labelNames: ['command', 'protocol'],
      registers,
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
    this.replies = new Counter({
      name: `${p}replies_total`,
      help: 'Replies sent to clients, by SOCKS version and reply code (BIND counts both replies)',
      labelNames: ['version', 'code'],
      registers,
    });
    this.decisions = new Counter({
      name: `${p}decisions_total`,
      help: 'Access decisions, by action, reason and the sockd.conf file and line that decided',
      labelNames: ['action', 'reason', 'file', 'line'],
      registers,
    });
    this.identd = new Counter({
      name: `${p}identd_total`,
      help: 'identd queries about clients, by outcome',
      labelNames: ['verdict'],
      registers,
    });
    this.upstreamAttempts = new Counter({
      name: `${p}upstream_attempts_total`,
      help: 'Connections tried to upstream SOCKS servers, by server and result',
      labelNames: ['server', 'result'],
      registers,
    });
    this.failovers = new Counter({
      name: `${p}upstream_failovers_total`,
      help: 'Times a session moved on to the next upstream server after this one failed',
      labelNames: ['server'],
      registers,
    });
    this.bytes = new Counter({
      name: `${p}bytes_total`,
      help: 'Bytes relayed, by direction (from_client, from_remote), counted when a session closes',
      labelNames: ['direction'],
      registers,
    });
    this.handshake = new Histogram({
      name: `${p}handshake_seconds`,
      // One series: per-protocol latency differs by what the request asks, not by the protocol.
      help: 'Time from a request to its (first) reply: identd, rules, resolving and dialling',
      buckets: HandshakeBuckets,
      registers,
    });
    this.reloads = new Counter({
      name: `${p}reloads_total`,
      help: 'SIGHUP reloads, by result (kept-previous: a file could not be used and kept its rules)',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['ok', 'kept-previous'] as const) this.reloads.inc({ result }, 0);
  }

  emit(event: LabEvent): void {
    switch (event.type) {
      case 'request': {
        const protocol: Protocol = event.version === 5 ? 'socks5' : event.dst.name ? 'socks4a' : 'socks4';
        const labels = { command: event.command, protocol };
        this.sessionsTotal.inc(labels);
        this.sessionsActive.inc(labels);
        if (event.session !== undefined)
          this.sessions.set(event.session, {
            ...labels,
            requestAt: performance.now(),
            replied: false,
            failedServer: null,
          });
        return;
      }
      case 'reply': {
        this.replies.inc({ version: event.version, code: event.code });
        const s = this.session(event);
        if (s && !s.replied) {
          s.replied = true;
          this.handshake.observe((performance.now() - s.requestAt) / 1000);
        }
        return;
      }
      case 'decision':
        this.decisions.inc({
          action: event.action,
          reason: event.reason,
          file: event.rule?.file ?? '',
          line: event.rule?.line ?? '',
        });
        return;
      case 'identd':
        this.identd.inc({ verdict: event.verdict });
        return;
      case 'upstream-attempt': {
        this.upstreamAttempts.inc({ server: event.server, result: event.ok ? 'ok' : 'failed' });
        const s = this.session(event);
        if (!s) return;
        if (s.failedServer !== null) this.failovers.inc({ server: s.failedServer });
        s.failedServer = event.ok ? null : event.server;
        return;
      }
      case 'close': {
        this.bytes.inc({ direction: 'from_client' }, event.bytesFromClient);
        this.bytes.inc({ direction: 'from_remote' }, event.bytesFromRemote);
        const s = this.session(event);
        if (!s) return;
        this.sessionsActive.dec({ command: s.command, protocol: s.protocol });
        this.sessions.delete(event.session!);
        return;
      }
      default:
        return;
    }
  }

  /** A SIGHUP reload has been applied. */
  reloaded(result: ReloadResult): void {
    this.reloads.inc({ result });
  }

  /** Every counter summed over its labels, for reports (the lab's per-host totals). */
  async totals(): Promise<ServerTotals> {
    const values = async (c: Counter<string>) => (await c.get()).values;
    const sum = async (
      c: Counter<string>,
      where: (labels: Record<string, unknown>) => boolean = () => true,
    ) => (await values(c)).filter((v) => where(v.labels)).reduce((n, v) => n + v.value, 0);
    const byLabel = async (c: Counter<string>, label: string) => {
      const out: Record<string, number> = {};
      for (const v of await values(c)) {
        const key = String(v.labels[label]);
        if (v.value > 0) out[key] = (out[key] ?? 0) + v.value;
      }
      return out;
    };
    return {
      sessions: await sum(this.sessionsTotal),
      replies: await byLabel(this.replies, 'code'),
      permitted: await sum(this.decisions, (l) => l.action === 'permit'),
      denied: await sum(this.decisions, (l) => l.action === 'deny'),
      identd: await byLabel(this.identd, 'verdict'),
      upstreamAttempts: await sum(this.upstreamAttempts),
      upstreamFailovers: await sum(this.failovers),
      bytesFromClient: await sum(this.bytes, (l) => l.direction === 'from_client'),
      bytesFromRemote: await sum(this.bytes, (l) => l.direction === 'from_remote'),
    };
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private session(event: LabEvent): SessionState | undefined {
    return event.session === undefined ? undefined : this.sessions.get(event.session);
  }
}
