import { promises as fs } from 'node:fs';
import { LineSplitter } from '../agent-protocol.ts';

/**
 * Follows a file another process appends to (the server's `--events` file), line by line. Polls:
 * a short interval is cheaper and more predictable than inotify on overlay filesystems.
 */
export class FileTail {
  private handle: fs.FileHandle | undefined;
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private readonly split = new LineSplitter();
  private readonly buffer = Buffer.alloc(64 * 1024);

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly intervalMs = 20,
  ) {}

  async start(): Promise<void> {
    this.handle = await fs.open(this.path, 'r');
    this.offset = (await this.handle.stat()).size;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  /** Reads everything appended so far (one read at a time). */
  poll(): Promise<void> {
    this.reading = this.reading.then(async () => {
      const h = this.handle;
      if (!h) return;
      for (;;) {
        const { bytesRead } = await h.read(this.buffer, 0, this.buffer.length, this.offset);
        if (bytesRead === 0) return;
        this.offset += bytesRead;
        for (const line of this.split.push(this.buffer.toString('utf8', 0, bytesRead))) this.onLine(line);
      }
    });
    return this.reading;
  }

  private stopped: Promise<void> | undefined;

  /** Reads what is left, then closes; idempotent (the exit handler and stop() both call it). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await this.poll();
      const h = this.handle;
      this.handle = undefined;
      await h?.close();
    })();
    return this.stopped;
  }
}
