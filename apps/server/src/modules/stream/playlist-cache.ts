import { randomBytes } from 'node:crypto';
import { isStorageError, type ObjectStore } from '@vodcloud/storage';
import { addTokenToPlaylist } from './playlist';

/** A stored playlist, ready to send: as stored (public videos), or split where a viewer's token goes (signed). */
export interface CachedPlaylist {
  body: Buffer;
  /** Quoted, as sendObject sends it. */
  etag: string;
  /** An HTTP date. */
  lastModified: string;
  /** The text with a token in every URI it names is `parts.join(encodeURIComponent(token))`. */
  parts: string[];
}

/** The playlist as a signed video's viewer gets it: every URI it names carries the token (playlist.ts). */
export const withToken = (p: CachedPlaylist, token: string) => p.parts.join(encodeURIComponent(token));

/** Splits a playlist where addTokenToPlaylist puts a token, so that each request only joins the parts. */
export function tokenParts(text: string): string[] {
  let mark = 'vodtoken';
  while (text.includes(mark)) mark = `vodtoken${randomBytes(6).toString('hex')}`;
  return addTokenToPlaylist(text, mark).split(mark);
}

/**
 * Playlists kept in memory (at most `maxBytes` of them, the oldest dropped first), so that a playlist
 * request reads no storage and rewrites nothing per line. A generation's playlists are written while it is
 * made, and once more when it is published (measured bandwidths): an entry is kept per object key and
 * publication state, so the first request that sees the generation published reads the final text.
 * Concurrent misses of one playlist share one read.
 */
export class PlaylistCache {
  private readonly entries = new Map<string, CachedPlaylist>();
  private readonly loading = new Map<string, Promise<CachedPlaylist | undefined>>();
  private bytes = 0;

  constructor(
    private readonly storage: ObjectStore,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** The cached playlist, or undefined when it must be read first (`get`). */
  peek(key: string, published: boolean): CachedPlaylist | undefined {
    return this.entries.get(`${published ? 'p' : 'w'}|${key}`);
  }

  /** The playlist (read and kept on a miss), or undefined when there is no such object. */
  get(key: string, published: boolean): Promise<CachedPlaylist | undefined> | CachedPlaylist | undefined {
    const k = `${published ? 'p' : 'w'}|${key}`;
    const hit = this.entries.get(k);
    if (hit) return hit;
    let pending = this.loading.get(k);
    if (!pending) {
      pending = this.read(key)
        .then((entry) => {
          if (entry) this.keep(k, entry);
          return entry;
        })
        .finally(() => this.loading.delete(k));
      this.loading.set(k, pending);
    }
    return pending;
  }

  private async read(key: string): Promise<CachedPlaylist | undefined> {
    let obj: Awaited<ReturnType<ObjectStore['get']>>;
    try {
      obj = await this.storage.get(key);
    } catch (err) {
      if (isStorageError(err, 'not_found')) return undefined;
      throw err;
    }
    const chunks: Buffer[] = [];
    for await (const c of obj.body) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    return {
      body,
      etag: `"${obj.etag.replace(/"/g, '')}"`,
      lastModified: obj.lastModified.toUTCString(),
      parts: tokenParts(body.toString('utf8')),
    };
  }

  private keep(k: string, entry: CachedPlaylist): void {
    const size = entry.body.length * 2; // the bytes and the parts
    if (size > this.maxBytes) return;
    for (const [old, e] of this.entries) {
      if (this.bytes + size <= this.maxBytes) break;
      this.entries.delete(old);
      this.bytes -= e.body.length * 2;
    }
    this.entries.set(k, entry);
    this.bytes += size;
  }
}
