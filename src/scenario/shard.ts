import { createHash } from 'node:crypto';
import { InputError } from '../common/errors.ts';
import type { ScenarioCase } from './model.ts';

/**
 * `sockslab run --shard K/N`: which cases of a suite one shard runs. The rule depends only on the
 * suite, never on the machine or on timing: the suite's cases in their stable order (scenario
 * files sorted by name, or as named on the command line; cases in file order; after `--tags`) are
 * dealt round-robin — case i (from 0) belongs to shard (i mod N) + 1. Round-robin spreads the
 * slow fault cases, which sit together in their files, over every shard.
 */

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `K/N` with 1 ≤ K ≤ N. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (
    !m ||
    !Number.isSafeInteger(index) ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    index < 1 ||
    index > count
  ) {
    throw new InputError(
      'E_SHARD',
      `--shard ${JSON.stringify(text)}: expected K/N with 1 ≤ K ≤ N (e.g. --shard 2/4)`,
    );
  }
  return { index, count };
}

/** Whether the case at `position` of the suite (from 0) belongs to `shard`. */
export function inShard(position: number, shard: Shard): boolean {
  return position % shard.count === shard.index - 1;
}

/** Positions (from 0) of the suite's cases that `shard` runs, in suite order. */
export function shardPositions(total: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let i = shard.index - 1; i < total; i += shard.count) out.push(i);
  return out;
}

/**
 * What identifies a suite across shards: the topology's name and every case (scenario file and
 * name) in suite order. Shards whose fingerprints differ ran different suites and cannot merge.
 */
export function suiteFingerprint(topology: string, cases: readonly ScenarioCase[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([topology, cases.map((c) => [c.scenario, c.name])]));
  return `sha256:${h.digest('hex')}`;
}
