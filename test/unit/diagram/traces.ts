/** Hand-built traces over `seedCascade()` for the diagram tests. */
import type { Trace, TraceHop } from '../../../src/scenario/trace.ts';

const hop = (over: Partial<TraceHop> & Pick<TraceHop, 'host' | 'from' | 'decision'>): TraceHop => ({
  service: 'rsockd',
  session: 's1',
  client: { address: '10.1.0.10', port: 40000 },
  user: 'x',
  reply: 90,
  commands: [],
  logs: [],
  ...over,
});

/** Granted through B (after one failed fail-over attempt) and A to the echo host Z. */
export function grantedWithFailover(): Trace {
  return {
    origin: { host: 'C', user: 'x' },
    target: { host: 'Z', port: 7 },
    protocol: 'socks4',
    command: 'connect',
    hops: [
      hop({
        host: 'B',
        from: 'C',
        decision: { action: 'permit', file: 'sockd.conf', line: 2, reason: 'rule' },
        identd: { queried: 'C', answer: '40000 , 1080 : USERID : UNIX : x', user: 'x', verdict: 'confirmed' },
        route: {
          action: 'sockd',
          file: 'socks.conf',
          line: 2,
          servers: ['10.2.0.9', '10.2.0.1'],
          attempts: [
            { server: '10.2.0.9', ok: false, error: 'ECONNREFUSED' },
            { server: '10.2.0.1', ok: true },
          ],
        },
        outbound: {
          local: { address: '10.2.0.2', port: 41000 },
          remote: { address: '10.2.0.1', port: 1080 },
          to: 'A',
        },
      }),
      hop({
        host: 'A',
        from: 'B',
        service: 'sockd',
        client: { address: '10.2.0.2', port: 41000 },
        decision: { action: 'permit', file: 'sockd.conf', line: 1, reason: 'rule' },
        outbound: {
          local: { address: '10.3.0.1', port: 42000 },
          remote: { address: '10.3.0.10', port: 7 },
          to: 'Z',
        },
      }),
    ],
    path: ['C', 'B', 'A', 'Z'],
    destination: { host: 'Z', reached: true, peer: { address: '10.3.0.10', port: 7 } },
    reply: 90,
  };
}

/** A verifies identd on B, hears `nobody`, and refuses: B answers C with 91 (spec g.7). */
export function refusedByIdentdMismatch(): Trace {
  return {
    origin: { host: 'C', user: 'x' },
    target: { host: 'Z', port: 7 },
    protocol: 'socks4',
    command: 'connect',
    hops: [
      hop({
        host: 'B',
        from: 'C',
        decision: { action: 'permit', file: 'sockd.conf', line: 2, reason: 'rule' },
        identd: { queried: 'C', answer: '40000 , 1080 : USERID : UNIX : x', user: 'x', verdict: 'confirmed' },
        route: {
          action: 'sockd',
          file: 'socks.conf',
          line: 2,
          servers: ['10.2.0.1'],
          attempts: [{ server: '10.2.0.1', ok: true }],
        },
        reply: 91,
      }),
      hop({
        host: 'A',
        from: 'B',
        service: 'sockd',
        client: { address: '10.2.0.2', port: 41000 },
        decision: { action: 'deny', file: 'sockd.conf', line: 3, reason: 'identd-mismatch' },
        identd: {
          queried: 'B',
          answer: '41000 , 1080 : USERID : UNIX : nobody',
          user: 'nobody',
          verdict: 'mismatch',
        },
        reply: 93,
      }),
    ],
    path: ['C', 'B', 'A'],
    reply: 91,
  };
}
