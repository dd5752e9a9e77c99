import { RuntimeRegistry } from '../runtime/registry.ts';
import type { Runtime, RuntimeName } from '../runtime/runtime.ts';

/**
 * The runtimes this build offers, for every command that takes `--runtime`. Drivers load only
 * when needed: asking for `local` loads no container or namespace code; any other name loads the
 * optional drivers, so a misspelt name still lists them all. Literal import specifiers, so the
 * build rewrites them to `.js` like every other import.
 */
const optional: Record<Exclude<RuntimeName, 'local'>, () => Promise<Runtime>> = {
  docker: async () => {
    const docker = await import('../runtime/docker/index.ts');
    return docker.createDockerRuntime({ connect: docker.engineAt(dockerEndpoint(docker)) });
  },
  netns: async () => (await import('../runtime/netns/index.ts')).createNetnsRuntime(),
};

type DockerModule = typeof import('../runtime/docker/index.ts');

/**
 * The engine DOCKER_HOST names (Docker's own default socket when unset), for every command that
 * talks to Docker: the lab, its image build and the sweep by label all go to this one engine.
 */
export function dockerEndpoint(docker: DockerModule, env: NodeJS.ProcessEnv = process.env) {
  return docker.parseDockerHost(env.DOCKER_HOST, { tlsVerify: env.DOCKER_TLS_VERIFY ?? '' });
}

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
