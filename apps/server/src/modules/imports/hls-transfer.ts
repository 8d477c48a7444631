/**
 * The I/O of an HLS import, on top of the fetcher's requests (same SSRF checks, same Transfer): reading a
 * playlist (bounded), appending segment bodies to the one object being written (bounded, sniffed), and
 * waiting between polls of a live playlist.
 */

import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { ObjectStore, PutResult } from '@vodcloud/storage';
import { FetchError, formatBytes, toFetchError } from './fetch-errors';
import { parseContentLength, type SendOptions, sendFollowing, type Transfer } from './fetch-request';
import { type HlsPlaylist, parsePlaylist } from './hls-playlist';

/** A playlist larger than this is refused (a 24 h live recording at 2 s segments is about 3 MiB). */
export const MAX_PLAYLIST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export type Container = 'ts' | 'fmp4';

/** The box types an fMP4 init section or fragment may start with. */
const MP4_BOXES = new Set(['ftyp', 'styp', 'moov', 'moof', 'sidx', 'emsg', 'prft', 'free']);
const TS_SYNC = 0x47;

/** Refuses a body sent compressed although `identity` was asked for (we would store the compressed bytes). */
function checkEncoding(res: IncomingMessage, url: URL): void {
  const encoding = res.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    res.destroy();
    throw new FetchError(
      'not_media',
      `the server sent a ${encoding}-encoded body although an unencoded one was requested`,
      { url: url.href },
    );
  }
}

/** The failure a body's read error stands for: the transfer's own when it tore the body down. */
function readFailure(err: unknown, t: Transfer, url: URL): unknown {
  return t.failed ? t.failure : toFetchError(err, url);
}

/** Fetches and parses the playlist at `url`; returns it with the URL it came from after redirects. */
export async function loadPlaylist(
  url: URL,
  o: SendOptions,
  t: Transfer,
): Promise<{ playlist: HlsPlaylist; url: URL }> {
  const answer = await sendFollowing(url, o, t, MAX_REDIRECTS);
  const { res } = answer;
  checkEncoding(res, answer.url);
  const tooLarge = () =>
    new FetchError('too_large', `the playlist is larger than ${formatBytes(MAX_PLAYLIST_BYTES)}`, {
      url: answer.url.href,
    });
  const declared = parseContentLength(res.headers['content-length']);
  if (declared !== undefined && declared > MAX_PLAYLIST_BYTES) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > MAX_PLAYLIST_BYTES) {
        res.destroy();
        throw tooLarge();
      }
      t.touch();
      chunks.push(chunk);
    }
  } catch (err) {
    throw err instanceof FetchError ? err : readFailure(err, t, answer.url);
  }
  t.stopIdle();
  return { playlist: parsePlaylist(Buffer.concat(chunks).toString('utf8'), answer.url), url: answer.url };
}

/**
 * The one object the segments are concatenated into: a stream handed to `store.put` when the first bytes
 * are ready (so a failure before them leaves nothing behind), written with backpressure so memory stays
 * bounded whatever the recording's length.
 */
export class ObjectSink {
  size = 0;
  private out: PassThrough | undefined;
  private put: Promise<PutResult> | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
    private readonly maxBytes: number,
    private readonly t: Transfer,
  ) {}

  private begin(contentType: string): PassThrough {
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    out.on('error', () => undefined); // the store sees it through its own read; `fail` records it
    this.t.teardown.add((err) => out.destroy(err));
    this.t.putStarted = true;
    this.put = this.store.put(this.key, out, { contentType });
    // A failure of the store's own stops the downloads; its error is the one thrown.
    this.put.catch((err: unknown) => this.t.fail(err));
    this.out = out;
    return out;
  }

  /** Resolves once a started put has ended either way (a failed one has removed its temporary file). */
  async settled(): Promise<void> {
    await this.put?.catch(() => undefined);
  }

  /** Streams the body of the segment (or init section) at `url` onto the object. */
  async append(url: URL, container: Container, o: SendOptions): Promise<void> {
    const t = this.t;
    const answer = await sendFollowing(url, o, t, MAX_REDIRECTS);
    const { res } = answer;
    checkEncoding(res, answer.url);
    const left = this.maxBytes - this.size;
    const declared = parseContentLength(res.headers['content-length']);
    if (declared !== undefined && declared > left) {
      res.destroy();
      throw this.tooLarge(answer.url);
    }
    const out = this.out ?? this.begin(container === 'ts' ? 'video/mp2t' : 'video/mp4');
    let head: Buffer | undefined = Buffer.alloc(0);
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        t.touch();
        this.size += chunk.length;
        if (this.size > this.maxBytes) {
          res.destroy();
          throw this.tooLarge(answer.url);
        }
        if (head !== undefined) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= 8) {
            sniff(head, container, answer.url);
            head = undefined;
          }
        }
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } catch (err) {
      throw err instanceof FetchError ? err : readFailure(err, t, answer.url);
    }
    if (head !== undefined) sniff(head, container, answer.url);
    t.stopIdle();
  }

  private tooLarge(url: URL): FetchError {
    return new FetchError(
      'too_large',
      `the recording is larger than the ${formatBytes(this.maxBytes)} limit`,
      {
        url: url.href,
      },
    );
  }

  /** Ends the object; resolves once the store has it. Undefined when nothing was written. */
  async finish(): Promise<PutResult | undefined> {
    if (this.out === undefined || this.put === undefined) return undefined;
    this.out.end();
    return await this.put;
  }
}

/**
 * Refuses a segment whose first bytes are not of its container (say an HTML error page sent with 200).
 * Content types are not trusted for this: many servers label `.ts` files as TypeScript text.
 */
function sniff(head: Buffer, container: Container, url: URL): void {
  const ok =
    container === 'ts'
      ? head.length > 0 && head[0] === TS_SYNC
      : head.length >= 8 && MP4_BOXES.has(head.toString('latin1', 4, 8));
  if (!ok) {
    const what = container === 'ts' ? 'an MPEG-TS segment' : 'an fMP4 segment';
    throw new FetchError('not_media', `${url.href} is not ${what}`, { url: url.href });
  }
}

/** Waits `ms`, or rejects at once when the transfer fails (timeout, abort, a store failure). */
export function pause(ms: number, t: Transfer): Promise<void> {
  if (t.failed) return Promise.reject(t.failure);
  return new Promise<void>((resolve, reject) => {
    const stop = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => {
      t.teardown.delete(stop);
      resolve();
    }, ms);
    t.teardown.add(stop);
  });
}
