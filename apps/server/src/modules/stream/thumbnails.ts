import { extractFrame, isMediaError } from '@vodcloud/media';
import type { ObjectStore } from '@vodcloud/storage';
import sharp from 'sharp';
import { z } from 'zod';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import type { SourceCache } from '../pipeline';

export const ThumbQuery = z
  .object({
    time: z.coerce.number().min(0).max(86_400).optional(),
    width: z.coerce.number().int().min(16).max(3840).optional(),
    height: z.coerce.number().int().min(16).max(2160).optional(),
    fit: z.enum(['contain', 'cover', 'fill']).default('contain'),
    token: z.string().optional(),
  })
  .strict();
export type ThumbQuery = z.infer<typeof ThumbQuery>;

const MAX_PARALLEL = 2;
const MAX_WAITING = 32;

/**
 * Thumbnails at any time and size, made on first request and kept in storage under the published
 * generation (so every later request is a plain object read). Times are rounded to 0.1 s to bound the
 * variety; generation is single-flight per key and at most MAX_PARALLEL run at once on a node, with a
 * bounded queue behind them (503 beyond it) so requests cannot pile ffmpeg processes onto the machine.
 */
export class Thumbnailer {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly storage: ObjectStore,
    private readonly sources: SourceCache,
  ) {}

  /** The key of a thumbnail under `thumbs` (the generation's thumbs folder), or null for the plain poster. */
  keyFor(thumbs: string, q: ThumbQuery, format: 'jpeg' | 'webp', posterName: string): string | null {
    if (q.time === undefined && q.width === undefined && q.height === undefined && format === 'jpeg')
      return null;
    const t = q.time === undefined ? `p-${posterName.replace(/\W/g, '')}` : `t${Math.round(q.time * 10)}`;
    return `${thumbs}/${t}-${q.width ?? 0}x${q.height ?? 0}-${q.fit}.${format === 'webp' ? 'webp' : 'jpg'}`;
  }

  /** Makes the thumbnail at `key` unless it exists; resolves when it is stored. */
  async ensure(
    row: VideosTable,
    key: string,
    q: ThumbQuery,
    format: 'jpeg' | 'webp',
    posterKey: string,
  ): Promise<string> {
    if (await this.storage.head(key)) return key;
    const running = this.inflight.get(key);
    if (running) return running;
    const job = this.make(row, key, q, format, posterKey).finally(() => this.inflight.delete(key));
    this.inflight.set(key, job);
    return job;
  }

  private async make(
    row: VideosTable,
    key: string,
    q: ThumbQuery,
    format: 'jpeg' | 'webp',
    posterKey: string,
  ): Promise<string> {
    await this.slot();
    try {
      let data: Buffer;
      if (q.time !== undefined) {
        if (row.duration !== null && q.time > row.duration)
          throw new AppError('validation_failed', 'time is past the end of the video', {
            errors: [{ path: 'query.time', message: `at most ${row.duration}` }],
          });
        const input = await this.sources.local(row.tenant_id, row.id);
        try {
          const frame = await extractFrame(input, {
            // The key's time, not the request's: every request of a key gets the same frame, in any
            // generation (the URL is cached immutable; the thumbnail is re-made under a new generation).
            timeSec: Math.round(q.time * 10) / 10,
            width: q.width,
            height: q.height,
            fit: q.fit,
            format,
            timeoutMs: 30_000,
          });
          data = frame.data;
        } catch (err) {
          if (isMediaError(err))
            throw new AppError('unavailable', `The frame could not be extracted (${err.code})`);
          throw err;
        }
      } else {
        const poster = await this.storage.get(posterKey);
        const parts: Buffer[] = [];
        for await (const c of poster.body) parts.push(c as Buffer);
        let img = sharp(Buffer.concat(parts));
        if (q.width || q.height)
          img = img.resize({
            width: q.width,
            height: q.height,
            fit: q.fit === 'contain' ? 'inside' : q.fit,
            withoutEnlargement: true,
          });
        data = await (format === 'webp'
          ? img.webp({ quality: 80 })
          : img.jpeg({ quality: 82, mozjpeg: true })
        ).toBuffer();
      }
      await this.storage.put(key, data, { contentType: `image/${format}` });
      return key;
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.running < MAX_PARALLEL) {
      this.running++;
      return;
    }
    if (this.waiting.length >= MAX_WAITING)
      throw new AppError('unavailable', 'Too many thumbnails are being made; retry shortly', {
        headers: { 'retry-after': '2' },
      });
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
