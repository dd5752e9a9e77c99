/**
 * Which config texts are in place on the lab's hosts, followed step by step, so that the
 * configs a case's steps replace can be put back after the case (unless it says `keep: true`).
 * The runner and the static checker both ask this one place for the undo steps and apply them
 * like any step, so observation and prediction stay in agreement.
 */
import type { ParsedConfigText, ResolvedTopology } from '../topology/model.ts';
import type { ScenarioCase, ScenarioStep } from './model.ts';

type ReplaceStep = Extract<ScenarioStep, { kind: 'replaceConfig' }>;
type ConfigFile = ReplaceStep['file'];

const key = (host: string, file: ConfigFile) => `${host}\u0000${file}`;

export class ConfigsInPlace {
  private readonly replaced = new Map<string, ParsedConfigText>();

  constructor(private readonly topology: ResolvedTopology) {}

  /** The text in place now; undefined when the host has no such file (nothing to put back). */
  current(host: string, file: ConfigFile): ParsedConfigText | undefined {
    const changed = this.replaced.get(key(host, file));
    if (changed !== undefined) return changed;
    const h = this.topology.hosts.find((x) => x.name === host);
    const server = h?.server;
    if (file === 'sockd.conf') return server?.sockdConf;
    if (file === 'sockd.route') return server?.sockdRoute;
    // The same choice as the lab and the predictor: a server host's own socks.conf, else the
    // origin host's (what its SOCKSified programs read).
    return server ? server.socksConf : h?.clientSocksConf;
  }

  /** Follows a step that was applied (a replaced text is in place, even one the server rejected). */
  follow(step: ScenarioStep): void {
    if (step.kind === 'replaceConfig') this.replaced.set(key(step.host, step.file), step.config);
  }

  /**
   * Before case `c` runs: the steps that put back, after it, every config its steps and cleanup
   * replace, as it is now (none when the case says `keep: true`). A file the topology did not
   * have cannot be put back (the lab can replace a file, not remove it) and is left as the case made it.
   */
  undoFor(c: ScenarioCase): ScenarioStep[] {
    if (c.keep) return [];
    const undo = new Map<string, ReplaceStep>();
    for (const step of [...c.steps, ...c.cleanup]) {
      if (step.kind !== 'replaceConfig') continue;
      const k = key(step.host, step.file);
      if (undo.has(k)) continue;
      const before = this.current(step.host, step.file);
      if (before === undefined) continue;
      undo.set(k, {
        kind: 'replaceConfig',
        host: step.host,
        file: step.file,
        text: before.text,
        config: before,
      });
    }
    return [...undo.values()];
  }
}
