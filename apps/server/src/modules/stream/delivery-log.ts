import type { FileHandle } from 'node:fs/promises';
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { Metrics } from '../../http/metrics';
import type { DeliveryCounter } from './delivery-counter';

/**
 * One line of the nginx front's delivery log (deploy/nginx/vodcloud.conf), written by the internal
 * location that sends object bytes once vodcloud authorised the request (auth_request):
 *
 *   log_format vod_delivery 'v1 $msec $status $body_bytes_sent $request_completion|$vod_key';
 *
 * `$request_completion` is `OK` when the whole response was sent, else empty; `$vod_key` is the object key,
 * `{tenant}/{video}/…` (modules/videos/layout.ts).
 */
const LINE = /^v1 (\d+)\.(\d{3}) (\d{3}) (\d+) (OK)?\|([^/\s]+)\/([^/\s]+)\/\S+$/;

export interface DeliveryLine {
  at: number;
  status: number;
  bytes: number;
  complete: boolean;
  tenantId: string;
  videoId: string;
}

export function parseDeliveryLine(line: string): DeliveryLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return {
    at: Number(m[1]) * 1000 + Number(m[2]),
    status: Number(m[3]),
    bytes: Number(m[4]),
    complete: m[5] === 'OK',
    tenantId: m[6]!,
    videoId: m[7]!,
  };
}

/**
 * Counts a delivery line as the stream role counts its own answers (serving.ts): a 200 or 206 is one request,
 * and its bytes when the response was sent whole (a HEAD sends none); a 304, 404 or 416 is not a delivery.
 */
export function countLine(d: DeliveryLine, delivery: DeliveryCounter, metrics?: Metrics): void {
  if (d.status !== 200 && d.status !== 206) return;
  const bytes = d.complete ? d.bytes : 0;
  delivery.count(d.tenantId, d.videoId, bytes, d.at);
  if (bytes > 0) metrics?.deliveryBytes.inc({ route: 'nginx' }, bytes);
}

interface Position {
  ino: number;
  offset: number;
}

export interface DeliveryLogOptions {
  /** The log nginx writes (`access_log … vod_delivery`). */
  file: string;
  /** Where the position read up to is kept between starts (JSON: inode and offset). */
  positionFile: string;
  delivery: DeliveryCounter;
  log: Logger;
  metrics?: Metrics;
  pollMs?: number;
  /** How often counts are flushed and the position saved after them. */
  flushMs?: number;
}

const CHUNK = 1 << 20;
/** A line is far shorter; a longer run without a newline is not the vod_delivery format. */
const MAX_LINE = 64 * 1024;

/**
 * Follows the nginx front's delivery log and counts every line (one reader per log: give exactly one stream
 * node `VOD_DELIVERY_LOG`). The position read up to is saved after each flush of the counts, so a restart
 * goes on from there: lines are counted once, but for those read and flushed in the moment before a crash.
 * A rotated log (renamed, and reopened by nginx on USR1) is read to its end before the new one is taken;
 * a truncated one (copytruncate) is read again from its start. Only whole lines are counted.
 */
export class DeliveryLogReader {
  private fh: FileHandle | undefined;
  private ino = 0;
  private offset = 0;
  private partial = Buffer.alloc(0);
  private saved: Position | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> = Promise.resolve();
  private skipped = 0;

  constructor(private readonly o: DeliveryLogOptions) {}

  start(): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void this.serial(fn), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.pollMs ?? 250, () => this.poll());
    every(this.o.flushMs ?? 10_000, () => this.checkpoint());
    void this.serial(() => this.poll());
  }

  /** Runs one step at a time (polls and checkpoints never overlap). */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.running = this.running.then(fn).catch((err) => {
      this.o.log.warn({ err: (err as Error).message, file: this.o.file }, 'delivery log not read');
    });
    return this.running;
  }

  /** Reads and counts what was appended since the last poll; follows a rotation or truncation. */
  async poll(): Promise<void> {
    if (!this.fh && !(await this.openCurrent())) return;
    await this.drain();
    const st = await stat(this.o.file).catch(() => undefined);
    if (!st) return; // renamed, not reopened yet: the old file is still written
    if (st.ino !== this.ino) {
      // A new log: nginx writes there once reopened, and no more to the old one.
      if (st.size === 0) return;
      await this.drain();
      await this.fh?.close();
      this.fh = undefined;
      this.partial = Buffer.alloc(0);
      if (await this.openCurrent(0)) await this.drain();
    } else if (st.size < this.offset) {
      this.offset = 0; // truncated in place
      this.partial = Buffer.alloc(0);
      await this.drain();
    }
  }

  private async openCurrent(from?: number): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.o.file, 'r');
    } catch {
      return false; // nginx has not written it yet
    }
    const st = await fh.stat();
    this.saved ??= await this.loadPosition();
    const resume = from === undefined && this.saved?.ino === st.ino && this.saved.offset <= st.size;
    this.fh = fh;
    this.ino = st.ino;
    this.offset = resume ? this.saved!.offset : (from ?? 0);
    return true;
  }

  private async drain(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, this.offset + this.partial.length);
      if (bytesRead === 0) return;
      const data = Buffer.concat([this.partial, buf.subarray(0, bytesRead)]);
      const end = data.lastIndexOf(10);
      if (end < 0) {
        this.partial = data;
        if (data.length <= MAX_LINE) continue;
        this.o.log.warn({ file: this.o.file, bytes: data.length }, 'delivery log line too long; skipped');
        this.offset += data.length;
        this.partial = Buffer.alloc(0);
        continue;
      }
      for (const line of data.toString('utf8', 0, end).split('\n')) this.count(line);
      this.offset += end + 1;
      this.partial = Buffer.from(data.subarray(end + 1));
    }
  }

  private count(line: string): void {
    if (!line) return;
    const d = parseDeliveryLine(line);
    if (d) {
      countLine(d, this.o.delivery, this.o.metrics);
      return;
    }
    if (this.skipped++ % 1000 === 0)
      this.o.log.warn(
        { file: this.o.file, line: line.slice(0, 200), skipped: this.skipped },
        'delivery log line not understood (log_format vod_delivery of deploy/nginx/vodcloud.conf?)',
      );
  }

  /** Flushes the counts, then saves the position they were read up to. */
  private async checkpoint(): Promise<void> {
    if (!this.fh) return;
    const pos = { ino: this.ino, offset: this.offset };
    await this.o.delivery.flush();
    if (this.saved?.ino === pos.ino && this.saved.offset === pos.offset) return;
    const tmp = `${this.o.positionFile}.tmp`;
    await writeFile(tmp, JSON.stringify(pos));
    await rename(tmp, this.o.positionFile);
    this.saved = pos;
  }

  private async loadPosition(): Promise<Position | undefined> {
    try {
      const p = JSON.parse(await readFile(this.o.positionFile, 'utf8')) as Position;
      return Number.isSafeInteger(p.ino) && Number.isSafeInteger(p.offset) ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reads what is left, flushes the counts and saves the position. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.serial(() => this.poll());
    await this.serial(() => this.checkpoint());
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * Starts reading the nginx front's delivery log when this node serves the stream role and `VOD_DELIVERY_LOG`
 * names one (the server only: a command line's context must not count it a second time). Close the reader
 * before the counter: it reads the rest, flushes and saves the position.
 */
export function followDeliveryLog(
  config: Pick<Config, 'deliveryLog' | 'roles' | 'dataDir' | 'deliveryFlushMs'>,
  d: { delivery: DeliveryCounter; log: Logger; metrics?: Metrics },
): DeliveryLogReader | undefined {
  if (!config.deliveryLog || !config.roles.includes('stream')) return undefined;
  const reader = new DeliveryLogReader({
    file: config.deliveryLog,
    positionFile: path.join(config.dataDir, 'delivery-log.position'),
    delivery: d.delivery,
    log: d.log,
    metrics: d.metrics,
    flushMs: config.deliveryFlushMs,
  });
  reader.start();
  return reader;
}
