import type { ResolvedTopology } from '../../topology/model.ts';
import type { Lab, ProbeResult, Runtime, UpOptions } from '../runtime.ts';
import { LocalLab } from './local-lab.ts';

/**
 * The default runtime: servers in-process on a virtual network of loopback addresses. Needs
 * nothing but Node — and a kernel that routes all of 127.0.0.0/8 to loopback (Linux does).
 */
export const localRuntime: Runtime = {
  name: 'local',
  async probe(): Promise<ProbeResult> {
    if (process.platform !== 'linux') {
      return {
        ok: false,
        reason: `needs all of 127.0.0.0/8 on loopback (Linux); this is ${process.platform}`,
      };
    }
    return { ok: true };
  },
  up(topology: ResolvedTopology, options?: UpOptions): Promise<Lab> {
    return LocalLab.start(topology, options);
  },
};
