import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { DialOutcome, DialRequest } from '../../src/runtime/agent-protocol.ts';
import type { Lab } from '../../src/runtime/runtime.ts';
import { type RawLinkFault, resolveLinkFault } from '../../src/topology/link-faults.ts';
import { loadTopology } from '../../src/topology/load.ts';
import type { ResolvedTopology } from '../../src/topology/model.ts';

/**
 * Every kind of link fault over real sockets, one table for the three runtimes: plain TCP
 * exchanges (no SOCKS) from A1 or A2 to z's echo port on the dmz-failover topology, each under
 * a set of faults, with what the connection must do. The runtimes' own tests give the table a
 * lab and a way to dial from inside a host.
 */

export const faultTopologyFile = join(import.meta.dirname, '../../topologies/dmz-failover.yaml');
export const loadFaultTopology = (): Promise<ResolvedTopology> => loadTopology(faultTopologyFile);

const z = '10.60.2.80';
const text = 'a line that must come back whole\n';
/**
 * How long an echo case's dial waits for data before it stops reading. The dial's default (300 ms)
 * could pass on a loaded machine before the echo came back; every echo case's duration includes
 * this wait once after the last data, so the bounds below are it plus the round trips.
 */
const echoIdleMs = 1500;
/**
 * A failure "at once" is one well before the connect's timer: the timer is long and the bound
 * half of it, so a loaded machine has seconds of slack and a failure on the timer still fails.
 */
const atOnceTimerMs = 10_000;
const atOnceMaxMs = 5_000;

export interface FaultKindCase {
  readonly title: string;
  readonly faults: readonly RawLinkFault[];
  readonly from: 'A1' | 'A2';
  readonly request: DialRequest;
  readonly expect: {
    readonly error?: RegExp;
    readonly echo?: boolean;
    readonly minMs?: number;
    readonly maxMs?: number;
  };
}

export const faultKindCases: readonly FaultKindCase[] = [
  {
    title: 'no fault: the echo comes straight back',
    faults: [],
    from: 'A1',
    request: { host: z, port: 7, send: text, idleMs: echoIdleMs },
    expect: { echo: true, maxMs: echoIdleMs + 1200 },
  },
  {
    title: "z's interface cut: the connect fails at once, host unreachable",
    faults: [{ host: 'z', cut: true }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: atOnceTimerMs },
    expect: { error: /EHOSTUNREACH/, maxMs: atOnceMaxMs },
  },
  {
    title: "the sender's own interface cut: no route, network unreachable",
    faults: [{ host: 'A1', network: 'outside', cut: true }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: atOnceTimerMs },
    expect: { error: /ENETUNREACH/, maxMs: atOnceMaxMs },
  },
  {
    title: "z's answers to A1 dropped one way: A1's connect times out on its timer",
    faults: [{ from: 'z', to: 'A1', drop: true }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: 1000 },
    expect: { error: /ETIMEDOUT/, minMs: 900 },
  },
  {
    title: '… while A2, not named by the one-way drop, still gets its echo',
    faults: [{ from: 'z', to: 'A1', drop: true }],
    from: 'A2',
    request: { host: z, port: 7, send: text, idleMs: echoIdleMs },
    expect: { echo: true },
  },
  {
    title: "A1's packets to z dropped one way: the connect times out as well",
    faults: [{ from: 'A1', to: 'z', drop: true }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: 1000 },
    expect: { error: /ETIMEDOUT/, minMs: 900 },
  },
  {
    title: 'z resets connections to port 7: refused at once',
    faults: [{ host: 'z', port: 7, reset: true }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: atOnceTimerMs },
    expect: { error: /ECONNREFUSED/, maxMs: atOnceMaxMs },
  },
  {
    title: 'a reset on another port changes nothing',
    faults: [{ host: 'z', port: 8, reset: true }],
    from: 'A1',
    request: { host: z, port: 7, send: text, idleMs: echoIdleMs },
    expect: { echo: true },
  },
  {
    title: 'z 300 ms away each way: connect and echo each take a 600 ms round trip',
    faults: [{ host: 'z', delay: 300 }],
    from: 'A1',
    request: { host: z, port: 7, send: text, timeoutMs: 5000, idleMs: 2000 },
    // The duration includes the 2 s of quiet after the echo: without it, 1150 held with no delay.
    expect: { echo: true, minMs: 2000 + 1150 },
  },
  {
    title: 'a delay beyond the connect timer times the connect out',
    faults: [{ host: 'z', delay: 800 }],
    from: 'A1',
    request: { host: z, port: 7, timeoutMs: 1000 },
    expect: { error: /ETIMEDOUT/, minMs: 900 },
  },
  {
    title: 'half the data segments lost each way: TCP retransmits and the echo comes back whole',
    faults: [{ host: 'z', loss: 50 }],
    from: 'A1',
    request: { host: z, port: 7, send: text, timeoutMs: 5000, idleMs: 2500 },
    expect: { echo: true },
  },
];

/** Runs every case on `lab`, faults set before and healed after each; then checks a last clean dial. */
export async function runFaultKinds(
  t: ExecutionContext,
  lab: Lab,
  dial: (from: string, request: DialRequest) => Promise<DialOutcome>,
  afterEach: () => Promise<void> = async () => {},
): Promise<void> {
  if (!lab.setFaults) return void t.fail(`${lab.runtime} has no setFaults`);
  for (const c of faultKindCases) {
    await lab.setFaults(c.faults.map((f) => resolveLinkFault(f, lab.topology.hosts)));
    const out = await dial(c.from, c.request);
    await lab.setFaults([]);
    await afterEach();
    const what = `${lab.runtime}: ${c.title}: ${JSON.stringify(out)}`;
    if (c.expect.error) {
      t.false(out.ok, what);
      t.regex(out.error ?? '', c.expect.error, what);
    }
    if (c.expect.echo) {
      t.true(out.ok, what);
      t.is(out.received, c.request.send ?? '', what);
    }
    if (c.expect.minMs !== undefined) t.true(out.durationMs >= c.expect.minMs, what);
    if (c.expect.maxMs !== undefined) t.true(out.durationMs <= c.expect.maxMs, what);
  }
}
