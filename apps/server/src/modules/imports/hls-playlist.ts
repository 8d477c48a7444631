/**
 * A small, strict parser of the HLS playlists (RFC 8216) the HLS import understands: a master playlist's
 * variants, and a media playlist's segments with their sequence numbers, init section and discontinuities.
 * Written here rather than taken from a library because the import must refuse what it cannot import
 * (encryption, byte ranges, a changing init section, separate audio) instead of reading past it, and a
 * lenient parser hides exactly that. Unknown tags are ignored, as the RFC asks of clients.
 */

import { FetchError } from './fetch-errors';
import { checkUrl } from './fetch-urls';

export interface HlsVariant {
  url: URL;
  bandwidth: number;
  /** Its audio is a separate rendition (EXT-X-MEDIA with URI): its own segments hold no sound. */
  separateAudio: boolean;
}

export interface HlsSegment {
  /** Media sequence number. */
  seq: number;
  url: URL;
  /** EXTINF duration, seconds. */
  duration: number;
  /** An EXT-X-DISCONTINUITY precedes this segment. */
  discontinuity: boolean;
  /** The EXT-X-MAP init section that applies to it, if any. */
  map: URL | undefined;
}

export type HlsPlaylist =
  | { kind: 'master'; variants: HlsVariant[] }
  | {
      kind: 'media';
      targetDuration: number;
      mediaSequence: number;
      endList: boolean;
      segments: HlsSegment[];
    };

/** Splits an attribute list (`A=1,B="x,y"`) into its names and values, quotes removed. */
export function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  for (const m of text.matchAll(re)) {
    const value = m[2]!.trim();
    out.set(m[1]!, value.startsWith('"') ? value.slice(1, -1) : value);
  }
  return out;
}

/** True when the first line is `#EXTM3U` (a UTF-8 byte order mark allowed before it). */
export function startsWithExtM3u(text: string): boolean {
  return /^\uFEFF?#EXTM3U[ \t]*(\r?\n|$)/.test(text);
}

function bad(url: URL, what: string): FetchError {
  return new FetchError('unsupported_playlist', `the playlist ${url.href} ${what}`, { url: url.href });
}

function decimal(value: string | undefined, url: URL, tag: string, integer: boolean): number {
  const ok = value !== undefined && (integer ? /^\d{1,15}$/ : /^\d{1,15}(\.\d{1,15})?$/).test(value.trim());
  if (!ok) throw bad(url, `has an invalid ${tag} value ${JSON.stringify((value ?? '').slice(0, 40))}`);
  return Number(value!.trim());
}

/** The URI attribute of a tag, resolved against the playlist and checked like any URL. */
function uriAttribute(attrs: Map<string, string>, url: URL, tag: string): URL {
  const uri = attrs.get('URI');
  if (uri === undefined || uri === '') throw bad(url, `has an ${tag} without URI`);
  return checkUrl(uri, url, 'playlist');
}

/** Parses a playlist fetched from `url` (its final URL, after redirects: relative entries resolve against it). */
export function parsePlaylist(text: string, url: URL): HlsPlaylist {
  if (!startsWithExtM3u(text)) {
    throw new FetchError('not_media', `${url.href} is not an HLS playlist (it does not start with #EXTM3U)`, {
      url: url.href,
    });
  }
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .slice(1);
  const variants: Array<HlsVariant & { audio: string | undefined }> = [];
  const audioWithUri = new Set<string>();
  const segments: HlsSegment[] = [];
  let targetDuration: number | undefined;
  let mediaSequence = 0;
  let endList = false;
  let map: URL | undefined;
  let pendingInf: number | undefined;
  let pendingStream: Map<string, string> | undefined;
  let discontinuity = false;

  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('#')) {
      const entry = checkUrl(line, url, 'playlist');
      if (pendingStream !== undefined) {
        const bandwidth = decimal(pendingStream.get('BANDWIDTH'), url, 'BANDWIDTH', true);
        variants.push({ url: entry, bandwidth, separateAudio: false, audio: pendingStream.get('AUDIO') });
        pendingStream = undefined;
      } else if (pendingInf !== undefined) {
        const seq = mediaSequence + segments.length;
        segments.push({ seq, url: entry, duration: pendingInf, discontinuity, map });
        pendingInf = undefined;
        discontinuity = false;
      } else {
        throw bad(
          url,
          `lists ${JSON.stringify(line.slice(0, 80))} without #EXTINF or #EXT-X-STREAM-INF before it`,
        );
      }
      continue;
    }
    const colon = line.indexOf(':');
    const tag = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1);
    switch (tag) {
      case '#EXT-X-TARGETDURATION':
        targetDuration = decimal(value, url, tag, true);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        if (segments.length > 0) throw bad(url, 'has #EXT-X-MEDIA-SEQUENCE after its first segment');
        mediaSequence = decimal(value, url, tag, true);
        break;
      case '#EXTINF':
        pendingInf = decimal(value.split(',')[0], url, tag, false);
        break;
      case '#EXT-X-ENDLIST':
        endList = true;
        break;
      case '#EXT-X-DISCONTINUITY':
        discontinuity = true;
        break;
      case '#EXT-X-BYTERANGE':
        throw bad(url, 'uses byte ranges (#EXT-X-BYTERANGE), not supported');
      case '#EXT-X-MAP': {
        const attrs = parseAttributes(value);
        if (attrs.has('BYTERANGE')) throw bad(url, 'uses a byte range in #EXT-X-MAP, not supported');
        const next = uriAttribute(attrs, url, tag);
        if (map !== undefined && map.href !== next.href) {
          throw bad(url, 'changes its init section (#EXT-X-MAP) mid-stream, not supported');
        }
        map = next;
        break;
      }
      case '#EXT-X-KEY': {
        const method = parseAttributes(value).get('METHOD') ?? '';
        if (method !== 'NONE') {
          throw bad(url, `is encrypted (#EXT-X-KEY METHOD=${method.slice(0, 20) || '?'}), not supported`);
        }
        break;
      }
      case '#EXT-X-STREAM-INF':
        pendingStream = parseAttributes(value);
        break;
      case '#EXT-X-MEDIA': {
        const attrs = parseAttributes(value);
        if (attrs.get('TYPE') === 'AUDIO' && attrs.has('URI')) audioWithUri.add(attrs.get('GROUP-ID') ?? '');
        break;
      }
    }
  }

  if (variants.length > 0 && segments.length > 0) throw bad(url, 'has both variants and segments');
  if (variants.length > 0) {
    return {
      kind: 'master',
      variants: variants.map(({ audio, ...v }) => ({
        ...v,
        separateAudio: audio !== undefined && audioWithUri.has(audio),
      })),
    };
  }
  if (pendingStream !== undefined) throw bad(url, 'ends with #EXT-X-STREAM-INF and no URI');
  if (pendingInf !== undefined && endList) throw bad(url, 'ends with #EXTINF and no URI');
  if (targetDuration === undefined) throw bad(url, 'has no #EXT-X-TARGETDURATION');
  if (targetDuration === 0) throw bad(url, 'has #EXT-X-TARGETDURATION 0');
  return { kind: 'media', targetDuration, mediaSequence, endList, segments };
}

/** The variant with the highest BANDWIDTH (the first of equals). */
export function pickVariant(variants: readonly HlsVariant[]): HlsVariant {
  let best = variants[0]!;
  for (const v of variants) if (v.bandwidth > best.bandwidth) best = v;
  return best;
}
