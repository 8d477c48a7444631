/**
 * HLS import: fetches an HLS playlist (a VOD or a live recording, e.g. nginx-rtmp's) and stores its
 * segments, in media-sequence order, as one object: MPEG-TS segments byte after byte, fMP4 as the init
 * section once and then the fragments. A live playlist is polled until it ends (ENDLIST), stops changing,
 * or the wait bound passes; a sliding window is followed by sequence number, each segment fetched once.
 *
 * Every request goes through the URL fetcher's primitives: the same address checks in the connection's
 * lookup, the same allow-list, redirects re-checked, one overall time bound (Transfer).
 */

import type { ObjectStore } from '@vodcloud/storage';
import { validateKey } from '@vodcloud/storage';
import { FetchError } from './fetch-errors';
import { defaultLookup, type LookupFn, type SendOptions, Transfer } from './fetch-request';
import { checkUrl, parseAllowHosts } from './fetch-urls';
import { DEFAULT_USER_AGENT } from './fetcher';
import { type HlsPlaylist, pickVariant } from './hls-playlist';
import { type Container, loadPlaylist, ObjectSink, pause } from './hls-transfer';

export interface HlsImportOptions {
  /** A media playlist (.m3u8), or a master playlist: then the variant with the highest BANDWIDTH. */
  url: string;
  store: ObjectStore;
  /** Where the concatenated media goes (one object); validated before anything is fetched. */
  key: string;
  /** Bound on the total bytes of all segments (init section included). */
  maxBytes: number;
  /** Bound on the whole operation (live waiting included), in ms. */
  timeoutMs: number;
  /** As for fetchToStorage: `host` or `host:port` entries whose addresses are not checked. */
  allowHosts?: readonly string[];
  lookup?: LookupFn;
  /** Aborting rejects with `signal.reason` (not a FetchError) after cleaning up. */
  signal?: AbortSignal;
  userAgent?: string;
  /**
   * A live/event playlist without #EXT-X-ENDLIST: keep polling it (every target duration) for up to this
   * long waiting for new segments or ENDLIST; when it has not changed for max(3 × target duration, idleSec)
   * the stream is taken as ended. Default 120.
   */
  liveWaitSec?: number;
  /** Default 6. */
  idleSec?: number;
  /** Default 20000. */
  maxSegments?: number;
}

export interface HlsImportResult {
  /** Bytes stored. */
  size: number;
  /** Media segments stored (the init section not counted). */
  segments: number;
  /** How the import decided the stream was over. */
  ended: 'endlist' | 'idle' | 'wait_bound';
  /** Sum of the stored segments' EXTINF durations. */
  durationSec: number;
  container: Container;
  /** The media playlist's URL, after redirects, at its last fetch. */
  finalUrl: string;
  /** Discontinuities between stored segments (EXT-X-DISCONTINUITY, gaps not included). */
  discontinuities: number;
  /** Segments that left a sliding window before they could be fetched (missing from the object). */
  gaps: number;
}

const HLS_CONTENT_TYPES = new Set([
  'application/vnd.apple.mpegurl',
  'application/x-mpegurl',
  'audio/mpegurl',
  'audio/x-mpegurl',
]);
const MAX_IDLE_DEFAULT_MS = 30_000;

/** True for what looks like an HLS playlist: `#EXTM3U` at the start, an HLS content type, or a .m3u8 path. */
export function isHlsPlaylist(
  contentType: string | undefined,
  firstBytes: Buffer | string,
  url: string,
): boolean {
  const text = typeof firstBytes === 'string' ? firstBytes : firstBytes.toString('latin1', 0, 16);
  if (/^(\uFEFF|\xEF\xBB\xBF)?#EXTM3U/.test(text)) return true; // a UTF-8 BOM, as text or as bytes
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (HLS_CONTENT_TYPES.has(mime)) return true;
  try {
    return new URL(url).pathname.toLowerCase().endsWith('.m3u8');
  } catch {
    return false;
  }
}

/** What has been stored so far, across the polls of a live playlist. */
interface Progress {
  /** Sequence number of the next segment wanted; undefined before the first. */
  next: number | undefined;
  container: Container | undefined;
  map: string | undefined;
  segments: number;
  durationSec: number;
  discontinuities: number;
  gaps: number;
}

interface Run {
  sink: ObjectSink;
  send: SendOptions;
  maxSegments: number;
  progress: Progress;
}

export async function importHlsToStorage(o: HlsImportOptions): Promise<HlsImportResult> {
  const { store, key, maxBytes, timeoutMs } = o;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError('maxBytes must be an integer >= 0');
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  const liveWaitSec = o.liveWaitSec ?? 120;
  const idleSec = o.idleSec ?? 6;
  const maxSegments = o.maxSegments ?? 20_000;
  if (!(liveWaitSec >= 0) || !(idleSec >= 0)) throw new RangeError('liveWaitSec and idleSec must be >= 0');
  if (!Number.isInteger(maxSegments) || maxSegments < 1) throw new RangeError('maxSegments must be >= 1');
  const send: SendOptions = {
    allow: parseAllowHosts(o.allowHosts ?? []),
    lookup: o.lookup ?? defaultLookup,
    userAgent: o.userAgent ?? DEFAULT_USER_AGENT,
  };
  validateKey(key);
  o.signal?.throwIfAborted();
  const start = checkUrl(o.url);

  const t = new Transfer(timeoutMs, Math.min(timeoutMs, MAX_IDLE_DEFAULT_MS), o.signal);
  const run: Run = {
    sink: new ObjectSink(store, key, maxBytes, t),
    send,
    maxSegments,
    progress: {
      next: undefined,
      container: undefined,
      map: undefined,
      segments: 0,
      durationSec: 0,
      discontinuities: 0,
      gaps: 0,
    },
  };
  try {
    const media = await mediaPlaylist(start, send, t);
    const { ended, finalUrl } = await follow(media, run, t, { liveWaitSec, idleSec });
    const p = run.progress;
    const put = await run.sink.finish();
    if (put === undefined || p.container === undefined) {
      throw new FetchError('unsupported_playlist', `the playlist ${finalUrl.href} listed no segments`, {
        url: finalUrl.href,
      });
    }
    return {
      size: put.size,
      segments: p.segments,
      ended,
      durationSec: Math.round(p.durationSec * 1e6) / 1e6,
      container: p.container,
      finalUrl: finalUrl.href,
      discontinuities: p.discontinuities,
      gaps: p.gaps,
    };
  } catch (err) {
    // As in fetchToStorage: whatever is in flight stops, the first failure wins, a started object goes.
    t.fail(err);
    // The store's write ends (and cleans up after itself) before the object is removed and the error thrown.
    await run.sink.settled();
    if (t.putStarted) await store.delete(key).catch(() => undefined);
    throw t.failure;
  } finally {
    t.close();
  }
}

type MediaPlaylist = Extract<HlsPlaylist, { kind: 'media' }>;

/** Loads the playlist at `url`; for a master playlist, its highest-bandwidth variant's. */
async function mediaPlaylist(
  url: URL,
  send: SendOptions,
  t: Transfer,
): Promise<{ playlist: MediaPlaylist; url: URL; listed: URL }> {
  const first = await loadPlaylist(url, send, t);
  if (first.playlist.kind === 'media') return { playlist: first.playlist, url: first.url, listed: url };
  const variant = pickVariant(first.playlist.variants);
  if (variant.separateAudio) {
    throw new FetchError(
      'unsupported_playlist',
      `the chosen variant of ${first.url.href} has its audio in a separate rendition (EXT-X-MEDIA), not supported`,
      { url: first.url.href },
    );
  }
  const second = await loadPlaylist(variant.url, send, t);
  if (second.playlist.kind !== 'media') {
    throw new FetchError(
      'unsupported_playlist',
      `the variant ${second.url.href} is a master playlist itself`,
      {
        url: second.url.href,
      },
    );
  }
  return { playlist: second.playlist, url: second.url, listed: variant.url };
}

/**
 * Stores the playlist's segments, and for a live playlist polls it (at the URL it was listed at, so a
 * redirect is followed afresh each time) until ENDLIST, until it has not grown for the idle bound, or
 * until the wait bound. RFC 8216 §6.3.4: after a reload that changed nothing, wait half a target duration.
 */
async function follow(
  first: { playlist: MediaPlaylist; url: URL; listed: URL },
  run: Run,
  t: Transfer,
  bounds: { liveWaitSec: number; idleSec: number },
): Promise<{ ended: HlsImportResult['ended']; finalUrl: URL }> {
  let { playlist, url } = first;
  const began = performance.now();
  let fetchedAt = began;
  let changedAt = began;
  for (;;) {
    const grew = await storeSegments(playlist, url, run);
    if (playlist.endList) return { ended: 'endlist', finalUrl: url };
    if (grew) changedAt = fetchedAt;
    const now = performance.now();
    const idleAt = changedAt + Math.max(3 * playlist.targetDuration, bounds.idleSec) * 1000;
    const waitEndsAt = began + bounds.liveWaitSec * 1000;
    if (now >= idleAt) return { ended: 'idle', finalUrl: url };
    if (now >= waitEndsAt) return { ended: 'wait_bound', finalUrl: url };
    const interval = (grew ? playlist.targetDuration : playlist.targetDuration / 2) * 1000;
    await pause(Math.max(0, Math.min(interval, idleAt - now, waitEndsAt - now)), t);
    fetchedAt = performance.now();
    const again = await loadPlaylist(first.listed, run.send, t);
    if (again.playlist.kind !== 'media') {
      throw new FetchError(
        'unsupported_playlist',
        `the playlist ${again.url.href} turned into a master playlist`,
        {
          url: again.url.href,
        },
      );
    }
    ({ playlist, url } = { playlist: again.playlist, url: again.url });
  }
}

/** Stores the segments of `playlist` not stored yet, in sequence order; true when there was any. */
async function storeSegments(playlist: MediaPlaylist, url: URL, run: Run): Promise<boolean> {
  const p = run.progress;
  let grew = false;
  for (const seg of playlist.segments) {
    if (p.next !== undefined && seg.seq < p.next) continue; // stored at an earlier poll
    if (p.next !== undefined && seg.seq > p.next) p.gaps += seg.seq - p.next; // slid away unseen
    if (p.segments >= run.maxSegments) {
      throw new FetchError('too_large', `the recording has more than ${run.maxSegments} segments`, {
        url: url.href,
      });
    }
    const container: Container = seg.map === undefined ? 'ts' : 'fmp4';
    if (p.container === undefined) p.container = container;
    else if (p.container !== container || (seg.map !== undefined && seg.map.href !== p.map)) {
      throw new FetchError(
        'unsupported_playlist',
        `the playlist ${url.href} changes its container mid-stream`,
        {
          url: url.href,
        },
      );
    }
    if (seg.map !== undefined && p.map === undefined) {
      await run.sink.append(seg.map, container, run.send);
      p.map = seg.map.href;
    }
    await run.sink.append(seg.url, container, run.send);
    if (seg.discontinuity && p.segments > 0) p.discontinuities++;
    p.next = seg.seq + 1;
    p.segments++;
    p.durationSec += seg.duration;
    grew = true;
  }
  return grew;
}
