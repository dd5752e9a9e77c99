import type { Net } from './net.ts';
import { nodeNet } from './node-net.ts';
import { uvBindingsProblem } from './uv-bindings.ts';
import { createUvNet } from './uv-net.ts';

export type NetKind = 'uv' | 'node';

export interface ProductionNetOptions {
  readonly clusterWorker?: boolean;
  /** Called (once per call of productionNet) when 'uv' was asked but node:net is used, with why. */
  readonly onFallback?: (reason: string) => void;
}

/**
 * The Net a real server runs on: sockets on bare libuv handles (uv-net.ts), or node:net when asked
 * (to compare the two) or when this Node lacks the handle bindings, which falls back by itself.
 */
export function productionNet(kind: NetKind = 'uv', options: ProductionNetOptions = {}): Net {
  if (kind === 'node') return nodeNet;
  const uv = createUvNet();
  if (uv === null) {
    options.onFallback?.(uvBindingsProblem() ?? 'libuv handle bindings unavailable');
    return nodeNet;
  }
  // node:cluster shares a listener among workers only through node:net (a worker binding the port
  // itself would get EADDRINUSE): workers accept with node:net and dial on bare handles.
  if (options.clusterWorker)
    return { listen: (o, onConnection) => nodeNet.listen(o, onConnection), connect: (o) => uv.connect(o) };
  return uv;
}
