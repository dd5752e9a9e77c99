import { RuntimeRegistry } from '../runtime/registry.ts';
import type { Runtime, RuntimeName } from '../runtime/runtime.ts';

/**
 * The runtimes this build offers, for every command that takes `--runtime`. Drivers load only
 * when needed: asking for `local` loads no container or namespace code; any other name loads the
 * optional drivers, so a misspelt name still lists them all. Literal import specifiers, so the
 * build rewrites them to `.js` like every other import.
 */
const optional: Record<Exclude<RuntimeName, 'local'>, () => Promise<Runtime>> = {
  docker: async () => (await import('../runtime/docker/index.ts')).createDockerRuntime(),
  netns: async () => (await import('../runtime/netns/index.ts')).createNetnsRuntime(),
};

export async function runtimeRegistry(name: string): Promise<RuntimeRegistry> {
  const registry = new RuntimeRegistry();
  const { localRuntime } = await import('../runtime/local/local-runtime.ts');
  registry.register(localRuntime);
  if (name === 'local') return registry;
  for (const [driver, load] of Object.entries(optional) as [
    keyof typeof optional,
    () => Promise<Runtime>,
  ][]) {
    try {
      registry.register(await load());
    } catch (err) {
      registry.unavailable(driver, (err as Error).message.split('\n')[0] ?? 'cannot load the driver');
    }
  }
  return registry;
}
