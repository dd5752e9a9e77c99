#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { nodeNet } from '../net/node-net.ts';
import { type DialRequest, dial } from '../runtime/agent/dial.ts';
import { HostAgent, sendControl } from '../runtime/agent/host-agent.ts';
import { containerProbe } from '../runtime/agent/probe.ts';
import type { AgentLine, ControlRequest, ProberLine, ProberRequest } from '../runtime/agent-protocol.ts';
import { encodeLine } from '../runtime/agent-protocol.ts';
import type { Directory, HostSpec } from '../runtime/host-spec.ts';
import { ImagePaths } from '../runtime/host-spec.ts';
import type { ProbeRequest } from '../runtime/runtime.ts';
import type { HostNames } from '../topology/names.ts';

/**
 * The process inside each Docker host container (the image's entry point):
 *   host-agent serve [--spec FILE]     PID 1: run the host's services, events as JSON lines on stdout
 *   host-agent ctl JSON                relay one control request to the running agent, print the reply
 *   host-agent probe JSON              one client request from this host, print the outcome as JSON
 *   host-agent dial JSON               one plain TCP exchange from this host, print the outcome as JSON
 *   host-agent probes                  a long-lived prober: probe and dial requests as JSON lines
 *                                      on stdin, each answered with its id (agent-protocol.ts)
 * The spec file defaults to /etc/sockslab/host.json; SOCKSLAB_HOST_SPEC (JSON) overrides it.
 */

function write(line: AgentLine): void {
  process.stdout.write(encodeLine(line));
}

function loadSpec(argv: readonly string[]): HostSpec {
  const inline = process.env.SOCKSLAB_HOST_SPEC;
  // Read once and dropped: the server and the echo services this agent starts need not see it.
  delete process.env.SOCKSLAB_HOST_SPEC;
  if (inline) return JSON.parse(inline) as HostSpec;
  const i = argv.indexOf('--spec');
  const file = i >= 0 ? argv[i + 1] : ImagePaths.spec;
  return JSON.parse(readFileSync(file ?? ImagePaths.spec, 'utf8')) as HostSpec;
}

async function serve(argv: readonly string[]): Promise<void> {
  const spec = loadSpec(argv);
  const agent = new HostAgent(spec, { net: nodeNet, write });
  let down = false;
  const shutdown = () => {
    if (down) return;
    down = true;
    agent.shutdown().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  try {
    await agent.start();
  } catch (err) {
    write({ k: 'fatal', message: err instanceof Error ? err.message : String(err) });
    await agent.shutdown().catch(() => {});
    process.exit(1);
  }
}

async function ctl(argv: readonly string[]): Promise<void> {
  const reply = await sendControl(JSON.parse(argv[0] ?? '{}') as ControlRequest);
  process.stdout.write(`${JSON.stringify(reply)}\n`);
  process.exit(reply.ok ? 0 : 1);
}

/**
 * One probe as the origin user: reads only world-readable files (the directory, the client
 * socks.conf — read for every probe, since a scenario step may have replaced it).
 */
async function probeOnce(request: ProbeRequest, out: (line: AgentLine) => void): Promise<void> {
  const directory = JSON.parse(readFileSync(ImagePaths.directory, 'utf8')) as Directory;
  let names: HostNames = [];
  try {
    names = JSON.parse(readFileSync(ImagePaths.names, 'utf8')) as HostNames;
  } catch {
    // an image or host spec from before per-host names: the topology's host names only
  }
  let socksConfText: string | null = null;
  try {
    socksConfText = readFileSync(ImagePaths.clientSocksConf, 'utf8');
  } catch {
    // no client socks.conf on this host
  }
  const outcome = await containerProbe(
    {
      net: nodeNet,
      host: request.from,
      directory,
      names,
      socksConfText,
      emit: (e) => out({ k: 'event', e }),
      onBound: (bound) => out({ k: 'bound', bound }),
    },
    request,
  );
  out({ k: 'outcome', outcome });
}

async function probe(argv: readonly string[]): Promise<void> {
  await probeOnce(JSON.parse(argv[0] ?? '{}') as ProbeRequest, write);
  process.exit(0);
}

/** Requests on stdin until it ends; each answered as it finishes (they run side by side). */
async function probes(): Promise<void> {
  const send = (line: ProberLine): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const running = new Set<Promise<void>>();
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    let request: ProberRequest;
    try {
      request = JSON.parse(text) as ProberRequest;
    } catch {
      process.stderr.write(`host-agent probes: not a JSON request line (${text.length} bytes)\n`);
      continue;
    }
    const { id } = request;
    const job =
      'probe' in request
        ? probeOnce(request.probe, (line) => send({ k: 'for', id, line })).catch((err: unknown) =>
            send({
              k: 'for',
              id,
              line: {
                k: 'outcome',
                outcome: {
                  reply: null,
                  protocol: request.probe.protocol,
                  received: '',
                  error: err instanceof Error ? err.message : String(err),
                  durationMs: 0,
                },
              },
            }),
          )
        : dial(nodeNet, request.dial)
            .catch((err: unknown) => ({
              ok: false,
              received: '',
              error: err instanceof Error ? err.message : String(err),
              durationMs: 0,
            }))
            .then((outcome) => send({ k: 'dialed', id, outcome }));
    const p: Promise<void> = job.finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
  process.exit(0);
}

async function dialOnce(argv: readonly string[]): Promise<void> {
  const outcome = await dial(nodeNet, JSON.parse(argv[0] ?? '{}') as DialRequest);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  process.exit(0);
}

const [command = 'serve', ...rest] = process.argv.slice(2);
switch (command) {
  case 'serve':
    await serve(rest);
    break;
  case 'ctl':
    await ctl(rest);
    break;
  case 'probe':
    await probe(rest);
    break;
  case 'dial':
    await dialOnce(rest);
    break;
  case 'probes':
    await probes();
    break;
  default:
    process.stderr.write(`host-agent: unknown command ${command}; known: serve, ctl, probe, dial, probes\n`);
    process.exit(2);
}
