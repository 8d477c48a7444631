import { extractFrame, isMediaError, loadSharp } from '@vodcloud/media';
import { isStorageError, type ObjectStore } from '@vodcloud/storage';
import { z } from 'zod';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { limiter } from '../../lib/limiter';
import type { Cache } from '../../ports/cache';
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

/** ffmpeg (or sharp) runs at once per node, and requests that may wait for one (503 beyond). */
export const MAX_PARALLEL = 2;
export const MAX_WAITING = 32;

/** Widths a thumbnail is made at: a request is rounded up to the next one (3840 at most). */
export const THUMB_WIDTHS = [64, 128, 160, 240, 320, 480, 640, 854, 1280, 1920, 3840] as const;
/** Heights a thumbnail asked for by height only is made at (2160 at most). */
export const THUMB_HEIGHTS = [36, 72, 90, 120, 180, 240, 360, 480, 720, 1080, 2160] as const;
/** Shapes (height ÷ width) a thumbnail asked for by width and height is made in: the nearest one. */
export const THUMB_ASPECTS = [
  1 / 3,
  9 / 21,
  1 / 2,
  9 / 16,
  2 / 3,
  3 / 4,
  4 / 5,
  1,
  5 / 4,
  4 / 3,
  3 / 2,
  16 / 9,
  2,
  3,
];
/** Times are rounded to this grid (seconds). */
export const THUMB_TIME_STEP = 0.5;

const snapUp = (v: number, set: readonly number[]) => set.find((x) => x >= v) ?? set.at(-1)!;

/**
 * The thumbnail a request gets, from a small set so that no client can make unbounded variants:
 * a width alone is rounded up to THUMB_WIDTHS, a height alone up to THUMB_HEIGHTS (the other side follows
 * the video); width and height together keep the asked shape, rounded to the nearest of THUMB_ASPECTS, at
 * the rounded-up width (scaled down to fit 3840×2160). The time is rounded to THUMB_TIME_STEP (down when
 * rounding would pass the end of the video).
 */
export function normaliseThumb(q: ThumbQuery, durationSec: number | null): ThumbQuery {
  const out = { ...q };
  if (q.width !== undefined && q.height !== undefined) {
    const asked = q.height / q.width;
    const aspect = THUMB_ASPECTS.reduce((best, a) =>
      Math.abs(Math.log(a / asked)) < Math.abs(Math.log(best / asked)) ? a : best,
    );
    const width = Math.min(snapUp(q.width, THUMB_WIDTHS), 3840, Math.floor(2160 / aspect));
    out.width = width;
    out.height = Math.max(16, Math.round(width * aspect));
  } else if (q.width !== undefined) out.width = snapUp(q.width, THUMB_WIDTHS);
  else if (q.height !== undefined) out.height = snapUp(q.height, THUMB_HEIGHTS);
  if (q.time !== undefined) {
    let t = Math.round(q.time / THUMB_TIME_STEP) * THUMB_TIME_STEP;
    if (durationSec !== null && q.time <= durationSec && t > durationSec)
      t = Math.floor(durationSec / THUMB_TIME_STEP) * THUMB_TIME_STEP;
    out.time = t;
  }
  return out;
}

/** A thumbnail's key, and its bytes when the request made it. */
export interface Made {
  key: string;
  data?: Buffer;
}

export interface ThumbnailLimits {
  /** Cluster-wide counters (the cache port) for the per-address generation limit. */
  cache?: Cache;
  /** Images one address may have made per minute (cache hits are not counted); 0: unlimited. */
  generatePerMinute: number;
  /** Thumbnails kept per generation; beyond, the oldest made are deleted. */
  maxVariants: number;
}

/**
 * Thumbnails at any time and size, made on first request and kept in storage under the published
 * generation (so every later request is a plain object read). Bounded whatever clients ask:
 * - sizes and times are normalised (normaliseThumb), so one video has a small set of possible images;
 * - at most `maxVariants` are kept per generation: making one more deletes the oldest made (a least
 *   recently made eviction; one evicted that is still wanted is made again, within the limits below);
 * - one address may have `generatePerMinute` images made per minute (429 + Retry-After beyond; cache
 *   hits and requests joining an image being made are not counted);
 * - generation is single-flight per key and at most MAX_PARALLEL run at once on a node, with MAX_WAITING
 *   requests queued behind them (503 beyond), so requests cannot pile ffmpeg processes onto the machine.
 */
export class Thumbnailer {
  private readonly slots = limiter(
    MAX_PARALLEL,
    MAX_WAITING,
    () =>
      new AppError('unavailable', 'Too many thumbnails are being made; retry shortly', {
        headers: { 'retry-after': '2' },
      }),
  );
  private readonly inflight = new Map<string, Promise<Made>>();

  constructor(
    private readonly storage: ObjectStore,
    private readonly sources: SourceCache,
    private readonly limits: ThumbnailLimits = { generatePerMinute: 0, maxVariants: 100 },
  ) {}

  /** The key of a thumbnail under `thumbs` (the generation's thumbs folder), or null for the plain poster. */
  keyFor(thumbs: string, q: ThumbQuery, format: 'jpeg' | 'webp', posterName: string): string | null {
    if (q.time === undefined && q.width === undefined && q.height === undefined && format === 'jpeg')
      return null;
    const t = q.time === undefined ? `p-${posterName.replace(/\W/g, '')}` : `t${Math.round(q.time * 10)}`;
    return `${thumbs}/${t}-${q.width ?? 0}x${q.height ?? 0}-${q.fit}.${format === 'webp' ? 'webp' : 'jpg'}`;
  }

  /**
   * Makes the thumbnail at `key` unless it exists; resolves when it is stored, with its bytes when this
   * request made it (or joined its making): those are served as they are, since eviction for another
   * thumbnail may delete the object before it is read back. `q` is normalised (normaliseThumb);
   * `address` is the client's, for the generation limit.
   */
  async ensure(
    row: VideosTable,
    key: string,
    q: ThumbQuery,
    format: 'jpeg' | 'webp',
    posterKey: string,
    address = '',
  ): Promise<Made> {
    if (await this.storage.head(key)) return { key };
    const running = this.inflight.get(key);
    if (running) return running;
    await this.countGeneration(address);
    const job = this.make(row, key, q, format, posterKey)
      .then(async (made) => {
        await this.evict(key).catch(() => undefined);
        return made;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, job);
    return job;
  }

  /** One more image made for `address` this minute; 429 + Retry-After past the limit. */
  private async countGeneration(address: string): Promise<void> {
    const { cache, generatePerMinute } = this.limits;
    if (!cache || generatePerMinute <= 0) return;
    const windowMs = 60_000;
    const slot = Math.floor(Date.now() / windowMs);
    const n = await cache.incr(`thumbgen:${address}:${slot}`, 1, { ttlMs: windowMs + 5_000 });
    if (n > generatePerMinute) {
      const retry = Math.max(1, Math.ceil(((slot + 1) * windowMs - Date.now()) / 1000));
      throw new AppError(
        'rate_limited',
        `At most ${generatePerMinute} new thumbnails per minute are made for one address; retry in ${retry} s (thumbnails already made are not limited)`,
        { headers: { 'retry-after': String(retry) } },
      );
    }
  }

  /** Keeps at most `maxVariants` thumbnails in the folder of `key`: the oldest made go, never `key`. */
  private async evict(key: string): Promise<void> {
    const prefix = key.slice(0, key.lastIndexOf('/') + 1);
    const items: Array<{ key: string; lastModified: Date }> = [];
    let cursor: string | null = null;
    do {
      const page = await this.storage.list(prefix, { cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const extra = items.length - this.limits.maxVariants;
    if (extra <= 0) return;
    const oldest = items
      .filter((i) => i.key !== key)
      .sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || a.key.localeCompare(b.key))
      .slice(0, extra);
    for (const i of oldest) await this.storage.delete(i.key);
  }

  private make(
    row: VideosTable,
    key: string,
    q: ThumbQuery,
    format: 'jpeg' | 'webp',
    posterKey: string,
  ): Promise<Made> {
    return this.slots(() => this.makeNow(row, key, q, format, posterKey));
  }

  private async makeNow(
    row: VideosTable,
    key: string,
    q: ThumbQuery,
    format: 'jpeg' | 'webp',
    posterKey: string,
  ): Promise<Made> {
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
          priority: 'interactive',
        });
        data = frame.data;
      } catch (err) {
        if (isMediaError(err))
          throw new AppError('unavailable', `The frame could not be extracted (${err.code})`);
        throw err;
      }
    } else {
      // A video being processed has no poster yet: 404 like the plain poster URL, not a server error.
      const poster = await this.storage.get(posterKey).catch((err: unknown) => {
        if (isStorageError(err, 'not_found'))
          throw new AppError(
            'not_found',
            'This video has no poster yet: it is made while the video is processed',
          );
        throw err;
      });
      const parts: Buffer[] = [];
      for await (const c of poster.body) parts.push(c as Buffer);
      let img = (await loadSharp())(Buffer.concat(parts));
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
    return { key, data };
  }
}
