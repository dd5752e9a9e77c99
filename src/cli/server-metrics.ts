import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ServerMetrics } from '../server/metrics.ts';
import { type MetricsEndpoint, startMetricsEndpoint } from '../server/metrics-endpoint.ts';
import type { MetricsListen } from './metrics-address.ts';

/**
 * Where `--metrics ADDR:PORT` is served from. One process: that process. `--workers N`: the
 * primary serves the endpoint and sums the workers' metrics at each scrape, asked over the
 * cluster channel; a worker only answers.
 */

/** The cluster messages of a scrape: the primary asks, each worker answers with its registry. */
const Ask = 'rsockd:metrics?';
const Answer = 'rsockd:metrics';
/** A worker that has not answered by then (still starting, or stuck) is left out of that scrape. */
const WorkerAnswerMs = 2000;

interface AskMessage {
  readonly type: typeof Ask;
  readonly id: number;
}
interface AnswerMessage {
  readonly type: typeof Answer;
  readonly id: number;
  readonly metrics: MetricObjectWithValues<MetricValue<string>>[];
}

/** A process serving sessions: its own endpoint, or (a --workers worker) its answers to the primary. */
export async function serveOwnMetrics(
  listen: MetricsListen,
  metrics: ServerMetrics,
  healthy: () => boolean,
  worker: boolean,
): Promise<MetricsEndpoint | null> {
  if (worker) {
    process.on('message', (message: Partial<AskMessage>) => {
      if (message?.type !== Ask || typeof message.id !== 'number') return;
      const id = message.id;
      void metrics.registry.getMetricsAsJSON().then((list) => {
        process.send?.({ type: Answer, id, metrics: list } satisfies AnswerMessage);
      });
    });
    return null;
  }
  return startMetricsEndpoint(listen, {
    scrape: async () => ({ text: await metrics.text(), contentType: metrics.registry.contentType }),
    healthy,
  });
}

/**
 * The --workers primary: at each scrape every live worker is asked for its metrics and the answers
 * are summed (prom-client's AggregatorRegistry.aggregate: counters and histograms add up, and so do
 * the gauges of sessions in progress). Workers still starting are left out rather than failing
 * the scrape; `rsockd_workers_reporting` says how many answered.
 */
export function serveWorkersMetrics(listen: MetricsListen, healthy: () => boolean): Promise<MetricsEndpoint> {
  let nextId = 1;
  const scrape = async () => {
    const id = nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    const answers = await Promise.all(workers.map((w) => (w ? askWorker(w, id) : null)));
    const got = answers.filter((a) => a !== null);
    const registry = AggregatorRegistry.aggregate(got);
    new Gauge({
      name: 'rsockd_workers_reporting',
      help: 'Workers whose metrics this scrape includes',
      registers: [registry],
    }).set(got.length);
    return { text: await registry.metrics(), contentType: registry.contentType };
  };
  return startMetricsEndpoint(listen, { scrape, healthy });
}

function askWorker(
  worker: Worker,
  id: number,
): Promise<MetricObjectWithValues<MetricValue<string>>[] | null> {
  return new Promise((resolve) => {
    const done = (result: MetricObjectWithValues<MetricValue<string>>[] | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(result);
    };
    const onMessage = (message: Partial<AnswerMessage>) => {
      if (message?.type === Answer && message.id === id && Array.isArray(message.metrics))
        done(message.metrics);
    };
    const onExit = () => done(null);
    const timer = setTimeout(() => done(null), WorkerAnswerMs);
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    try {
      worker.send({ type: Ask, id } satisfies AskMessage);
    } catch {
      done(null);
    }
  });
}
