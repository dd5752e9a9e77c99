import { promises as fs } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { EventSink, LabEvent } from '../../common/events.ts';
import { ReloadKeptNotice } from '../../common/log-text.ts';
import type { FakeIdentd } from '../../identd/fake-identd.ts';
import type { Net } from '../../net/net.ts';
import type { IdentdBehaviour } from '../../topology/model.ts';
import { type AgentLine, type ControlReply, type ControlRequest, LineSplitter } from '../agent-protocol.ts';
import { startEchoServices } from '../echo-service.ts';
import { type HostSpec, ImagePaths, ServerCwd } from '../host-spec.ts';
import { startHostIdentd } from './identd.ts';
import { ServerProcess } from './server-process.ts';

/**
 * The process that runs as PID 1 in each host container: writes the host's files, runs the echo
 * services and the fake identd in-process, the rsockd/sockd CLI as a child under the server
 * owner's uid, forwards every event as a JSON line on stdout, and obeys control requests that
 * `host-agent ctl` relays over a unix socket. Fault steps (stop/start, identd behaviour, config
 * replacement) act on the services, not on the container, so events keep flowing.
 */

/** What the server logs when SIGHUP found bad files (server-cli.ts). */
const keptMarker = ReloadKeptNotice;

export interface AgentOptions {
  readonly net: Net;
  readonly write: (line: AgentLine) => void;
  readonly controlPath?: string;
  readonly serverScript?: (kind: 'rsockd' | 'sockd') => string;
  readonly serverReadyMs?: number;
  readonly eventsFile?: string;
  /** Address the echo services and the identd listen on (default all: the container's own stack). */
  readonly listenHost?: string;
  /** Where the server runs and its config files live (default /etc/sockslab). */
  readonly configDir?: string;
  /** How long to watch for a reload error after SIGHUP. */
  readonly reloadWindowMs?: number;
}

export class HostAgent {
  private readonly events: EventSink;
  private echo: { close(): Promise<void> } | undefined;
  private identd: FakeIdentd | undefined;
  private identdBehaviour: IdentdBehaviour | undefined;
  private server: ServerProcess | undefined;
  private control: Server | undefined;
  private stopping = false;
  /** Server text lines seen since the last SIGHUP (reload errors only appear in the text log). */
  private readonly reloadLines: string[] = [];
  private watchingReload = false;

  constructor(
    private readonly spec: HostSpec,
    private readonly options: AgentOptions,
  ) {
    this.identdBehaviour = spec.identd?.behaviour;
    this.events = {
      emit: (event: LabEvent) => {
        options.write({ k: 'event', e: { ...event, host: spec.host } });
      },
    };
  }

  private get configDir(): string {
    return this.options.configDir ?? ServerCwd;
  }

  async start(): Promise<void> {
    await this.writeFiles();
    if (!this.spec.stopped) await this.startServices();
    await this.listenControl();
    const services = [
      ...(this.server ? [this.spec.server?.kind ?? 'server'] : []),
      ...(this.identd ? ['identd'] : []),
      ...this.spec.echo.map((e) => `${e.kind}:${e.port}`),
    ];
    this.options.write({ k: 'ready', services });
  }

  private async writeFiles(): Promise<void> {
    for (const f of this.spec.files) {
      await fs.mkdir(dirname(f.path), { recursive: true, mode: 0o755 });
      await fs.writeFile(f.path, f.text, { mode: f.mode });
      await fs.chmod(f.path, f.mode);
      if (f.uid !== undefined) await fs.chown(f.path, f.uid, f.uid);
    }
  }

  private async startIdentd(): Promise<void> {
    const b = this.identdBehaviour;
    // `down` is the fake identd's own behaviour (nothing listens), so it is started in every case.
    if (!this.spec.identd || !b) return;
    this.identd = await startHostIdentd({
      net: this.options.net,
      port: this.spec.identd.port,
      listenHost: this.options.listenHost ?? '0.0.0.0',
      behaviour: b,
      users: this.spec.users,
      host: this.spec.host,
      events: this.events,
      ...(this.spec.identd.readTimeoutMs !== undefined
        ? { readTimeoutMs: this.spec.identd.readTimeoutMs }
        : {}),
    });
  }

  private async stopIdentd(): Promise<void> {
    const i = this.identd;
    this.identd = undefined;
    await i?.close();
  }

  async startServices(): Promise<void> {
    this.echo ??= await startEchoServices(
      this.options.net,
      this.spec.host,
      this.spec.echo,
      this.events,
      this.options.listenHost,
    );
    if (!this.identd) await this.startIdentd();
    const s = this.spec.server;
    if (s) {
      const script =
        this.options.serverScript?.(s.kind) ?? (s.kind === 'rsockd' ? ImagePaths.rsockd : ImagePaths.sockd);
      this.server ??= new ServerProcess(
        s,
        script,
        this.options.eventsFile ?? ImagePaths.events,
        this.configDir,
        {
          event: (e) => this.events.emit(e),
          text: (stream, text) => {
            if (this.watchingReload) this.reloadLines.push(text);
            this.options.write({ k: 'text', from: `${s.kind}:${stream}`, text });
          },
          exit: (code, signal) => {
            if (!this.stopping)
              this.options.write({ k: 'text', from: s.kind, text: `exited code=${code} signal=${signal}` });
          },
        },
      );
      await this.server.start(this.options.serverReadyMs ?? 10_000);
    }
  }

  async stopServices(): Promise<void> {
    this.stopping = true;
    try {
      await this.server?.stop(2_000);
      await this.stopIdentd();
      await this.echo?.close();
      this.echo = undefined;
    } finally {
      this.stopping = false;
    }
  }

  async setIdentd(behaviour: IdentdBehaviour): Promise<void> {
    this.identdBehaviour = behaviour;
    if (this.identd) await this.identd.setBehaviour(behaviour);
    else await this.startIdentd();
  }

  async replaceConfig(
    file: 'sockd.conf' | 'socks.conf' | 'sockd.route',
    text: string,
  ): Promise<ControlReply> {
    const path = `${this.configDir}/${file}`;
    await fs.writeFile(path, text, { mode: 0o644 });
    if (!this.server?.running)
      return { ok: true, reloaded: false, error: 'no server is running on this host' };
    this.reloadLines.length = 0;
    this.watchingReload = true;
    this.server.reload();
    // A bad file makes the server log its errors and then the ReloadKeptNotice.
    const deadline = Date.now() + (this.options.reloadWindowMs ?? 400);
    while (Date.now() < deadline && !this.reloadLines.some((l) => l.includes(keptMarker))) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.watchingReload = false;
    if (!this.reloadLines.some((l) => l.includes(keptMarker))) return { ok: true, reloaded: true };
    const error = this.reloadLines
      .filter((l) => !l.includes(keptMarker))
      .map((l) => l.replace(/^\S+ \S+\[\d+\]: /, ''))
      .join('; ');
    return { ok: true, reloaded: false, error: error || 'the server kept its previous rules' };
  }

  async handle(request: ControlRequest): Promise<ControlReply> {
    switch (request.op) {
      case 'stop':
        await this.stopServices();
        return { ok: true };
      case 'start':
        await this.startServices();
        return { ok: true };
      case 'identd':
        await this.setIdentd(request.behaviour);
        return { ok: true };
      case 'config':
        return this.replaceConfig(request.file, request.text);
      case 'mark':
        this.options.write({ k: 'mark', id: request.id });
        return { ok: true };
    }
  }

  private async listenControl(): Promise<void> {
    const path = this.options.controlPath ?? ImagePaths.control;
    await fs.rm(path, { force: true });
    const server = createServer((socket) => {
      const split = new LineSplitter();
      socket.setEncoding('utf8');
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk: string) => {
        for (const line of split.push(chunk)) {
          let request: ControlRequest;
          try {
            request = JSON.parse(line) as ControlRequest;
          } catch {
            socket.end(`${JSON.stringify({ ok: false, error: 'control request is not JSON' })}\n`);
            return;
          }
          this.handle(request).then(
            (reply) => socket.end(`${JSON.stringify(reply)}\n`),
            (err: unknown) =>
              socket.end(
                `${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`,
              ),
          );
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    // Only root (the agent's own execs) may send control requests.
    await fs.chmod(path, 0o600);
    this.control = server;
  }

  async shutdown(): Promise<void> {
    await this.stopServices();
    await new Promise<void>((r) => (this.control ? this.control.close(() => r()) : r()));
  }
}

/** `host-agent ctl`: one request to the agent of this container, the reply as parsed JSON. */
export function sendControl(
  request: ControlRequest,
  path: string = ImagePaths.control,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const split = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      const [line] = split.push(chunk);
      if (line !== undefined) {
        resolve(JSON.parse(line) as ControlReply);
        socket.destroy();
      }
    });
    socket.on('end', () => reject(new Error('the host agent closed the control connection without a reply')));
  });
}
