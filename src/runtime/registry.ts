import { InputError, RuntimeUnavailableError } from '../common/errors.ts';
import type { Runtime, RuntimeName } from './runtime.ts';

/**
 * Runtimes by name. Drivers are registered by whoever may import them (the CLI; tests), so this
 * module depends on no driver. A name that is not registered gets an error listing what is.
 */
export class UnknownRuntimeError extends InputError {
  constructor(
    readonly requested: string,
    readonly supported: readonly string[],
    unavailable: readonly { readonly name: string; readonly reason: string }[],
  ) {
    const also =
      unavailable.length > 0
        ? `; unavailable: ${unavailable.map((u) => `${u.name} (${u.reason})`).join(', ')}`
        : '';
    const hint = closest(requested, [...supported, ...unavailable.map((u) => u.name)]);
    super(
      'E_RUNTIME_UNKNOWN',
      `unknown runtime \`${requested}\`${hint ? ` (did you mean \`${hint}\`?)` : ''}; supported: ${supported.join(', ')}${also}`,
    );
  }
}

function closest(word: string, names: readonly string[]): string | undefined {
  const score = (a: string, b: string) => {
    // Letters in common, position-insensitive: enough to catch `dokcer` → `docker`.
    const left = [...b];
    let common = 0;
    for (const ch of a) {
      const i = left.indexOf(ch);
      if (i >= 0) {
        common++;
        left.splice(i, 1);
      }
    }
    return common / Math.max(a.length, b.length);
  };
  const best = [...names].sort((x, y) => score(word, y) - score(word, x))[0];
  return best !== undefined && score(word, best) >= 0.75 ? best : undefined;
}

export class RuntimeRegistry {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly missing = new Map<string, string>();

  register(runtime: Runtime): this {
    this.runtimes.set(runtime.name, runtime);
    this.missing.delete(runtime.name);
    return this;
  }

  /** A runtime that is known but cannot be offered in this build or on this machine. */
  unavailable(name: RuntimeName, reason: string): this {
    if (!this.runtimes.has(name)) this.missing.set(name, reason);
    return this;
  }

  names(): string[] {
    return [...this.runtimes.keys()];
  }

  /** The runtime called `name`, or an error listing the supported ones. */
  get(name: string): Runtime {
    const runtime = this.runtimes.get(name);
    if (runtime) return runtime;
    const reason = this.missing.get(name);
    if (reason !== undefined) throw new RuntimeUnavailableError(name, reason);
    throw new UnknownRuntimeError(
      name,
      this.names(),
      [...this.missing].map(([n, r]) => ({ name: n, reason: r })),
    );
  }

  /** `get` plus the runtime's own probe: unusable here → RuntimeUnavailableError with its reason. */
  async ready(name: string): Promise<Runtime> {
    const runtime = this.get(name);
    const probe = await runtime.probe();
    if (!probe.ok) throw new RuntimeUnavailableError(name, probe.reason);
    return runtime;
  }
}
