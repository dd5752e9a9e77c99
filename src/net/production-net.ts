import type { Net } from './net.ts';
import { nodeNet } from './node-net.ts';
import { createUvNet } from './uv-net.ts';

export type NetKind = 'uv' | 'node';

/**
 * The Net a real server runs on: sockets on bare libuv handles (uv-net.ts), or node:net when asked
 * (to compare the two) or when this Node lacks the handle bindings, which falls back by itself.
 */
export function productionNet(kind: NetKind = 'uv'): Net {
  if (kind === 'node') return nodeNet;
  return createUvNet() ?? nodeNet;
}
