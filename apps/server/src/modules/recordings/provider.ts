import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, type FileHandle, mkdir, mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { concatMedia, isMediaError, tryProbe } from '@vodcloud/media';
import { FileObjectStore, type ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { AppError } from '../../lib/errors';
import { fetchToStorage, importHlsToStorage, isFetchError, isHlsPlaylist } from '../imports';
import type { Impl, recordingService } from '../rpc';
import { openRecording, resolveUnderDirs } from './paths';

interface ProviderDeps {
  storage: ObjectStore;
  config: Pick<Config, 'fetchAllowHosts' | 'fetchTimeoutMs' | 'recording'>;
  /** This node's work folder (parts downloaded for a merge live below it, briefly). */
  workDir: string;
  log: Logger;
}

type Stored = Awaited<ReturnType<Impl<typeof recordingService>['ingest']>>;

/**
 * The `recording` RPC service, provided by workers: a recorder's file read from a shared directory (realpath
 * checked here again, on the node that reads it) or downloaded, a recording's URL (a file or an HLS playlist
 * followed while live), and the merge of a broadcast's parts with ffmpeg (stream copy when they match).
 */
export function recordingProvider(d: ProviderDeps): Impl<typeof recordingService> {
  const rc = d.config.recording;
  return {
    async ingest({ location, key, deleteAfter }, ctx) {
      if (location.kind === 'path') {
        const real = await resolveUnderDirs(location.path, rc.dirs);
        const { fh, size } = await openRecording(real);
        try {
          if (size > rc.maxBytes)
            throw new AppError('payload_too_large', `the recording is larger than ${rc.maxBytes} bytes`);
          // Probed from the recorder's own file first: a file that is not media is refused before any copy.
          const media = await probeStored(real, ctx.signal);
          await storeFile(d, real, fh, size, key);
          if (deleteAfter)
            await unlink(real).catch((err) => d.log.warn({ err, path: real }, 'recording not removed'));
          return { ...media, size };
        } finally {
          await fh.close();
        }
      }
      try {
        await fetchToStorage({ url: location.url, store: d.storage, key, ...fetchOptions(d, ctx.signal) });
      } catch (err) {
        throw fetchProblem(err);
      }
      return withLocal(d, key, (file) => probeStored(file, ctx.signal));
    },

    async fetch({ url, key }, ctx) {
      try {
        if (isHlsPlaylist(undefined, '', url)) return await fetchHls(d, url, key, ctx.signal);
        const got = await fetchToStorage({ url, store: d.storage, key, ...fetchOptions(d, ctx.signal) });
        // A playlist served under another name (no .m3u8 in its path): follow it as HLS.
        if (isHlsPlaylist(got.contentType, await head(d.storage, key), got.finalUrl)) {
          await d.storage.delete(key);
          return await fetchHls(d, got.finalUrl, key, ctx.signal);
        }
      } catch (err) {
        throw fetchProblem(err);
      }
      const media = await normalized(d, key, ctx.signal);
      return { ...media, kind: 'file' as const, segments: null, ended: null };
    },

    async merge({ recordingId, keys, outKey }, ctx) {
      return inWork(d, `${recordingId}-`, async (work) => {
        const inputs: string[] = [];
        for (const [i, key] of keys.entries())
          inputs.push(await localCopy(d.storage, key, path.join(work, `part-${i}`)));
        const out = path.join(work, 'merged.mp4');
        const r = await concatMedia(inputs, out, {
          timeoutMs: 2 * 60 * 60_000,
          signal: ctx.signal,
          nice: 5,
          tmpDir: work,
        }).catch((err: unknown) => {
          // A part that is not usable media, or ffmpeg refusing the parts: another attempt cannot help. A
          // timeout, an abort or an ffmpeg killed by a signal can.
          const final =
            isMediaError(err) &&
            (err.code === 'invalid_input' || (err.code === 'ffmpeg_failed' && !err.signal));
          if (final)
            throw new AppError(
              'unsupported_media',
              `the parts could not be merged: ${err.message.slice(0, 300)}`,
            );
          throw err;
        });
        const put = await d.storage.put(outKey, createReadStream(out), { contentLength: r.sizeBytes });
        return {
          mode: r.mode,
          size: put.size,
          durationSec: r.durationSec,
          videoFrames: r.videoFrames,
          ms: r.ms,
        };
      });
    },
  };
}

/**
 * The recorder's file stored at `key`. With the file store: a kernel copy (copy_file_range) into the work
 * folder, then renamed into place (adoptFile: no second write, no md5 pass over a multi-GB file); else
 * streamed from the open handle.
 */
async function storeFile(
  d: ProviderDeps,
  real: string,
  fh: FileHandle,
  size: number,
  key: string,
): Promise<void> {
  const store = d.storage;
  if (store instanceof FileObjectStore) {
    await inWork(d, 'ingest-', async (work) => {
      const tmp = path.join(work, 'file');
      await copyFile(real, tmp);
      await store.adoptFile(key, tmp);
    });
    return;
  }
  await d.storage.put(key, fh.createReadStream({ autoClose: false }), { contentLength: size });
}

/** A fetch failure as the API's error: the URL's problem, not ours (a 422-like `unsupported_media`). */
function fetchProblem(err: unknown): unknown {
  if (isFetchError(err))
    return new AppError('unsupported_media', `the recording could not be fetched: ${err.message}`);
  return err;
}

/** The first bytes of an object (to recognise a playlist). */
async function head(storage: ObjectStore, key: string): Promise<Buffer> {
  const obj = await storage.get(key, { range: { start: 0, end: 15 } });
  const chunks: Buffer[] = [];
  for await (const c of obj.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Duration and streams of a stored file; a file that is not media → 415 `unsupported_media`. */
async function probeStored(file: string, signal: AbortSignal): Promise<Stored> {
  const info = await tryProbe(file, { timeoutMs: 60_000, signal });
  if ('failed' in info)
    throw new AppError('unsupported_media', `the recording is not a media file: ${info.message}`);
  const a = info.audio[0];
  if (!info.video && !a) throw new AppError('unsupported_media', 'the recording has neither video nor audio');
  return {
    size: info.size,
    durationSec: info.duration,
    container: info.container,
    video: info.video
      ? { codec: info.video.codec, width: info.video.width, height: info.video.height }
      : null,
    audio: a ? { codec: a.codec, sampleRate: a.sampleRate, channels: a.channels } : null,
  };
}

/**
 * Runs `fn` on a local path of the object (the file store's own file, or a download) and a work folder for
 * what it writes; both removed afterwards (never the store's file).
 */
function withLocal<T>(
  d: ProviderDeps,
  key: string,
  fn: (file: string, work: string) => Promise<T>,
): Promise<T> {
  return inWork(d, 'local-', async (work) =>
    fn(await localCopy(d.storage, key, path.join(work, 'file')), work),
  );
}

/** Runs `fn` in a fresh folder below the work folder, removed afterwards whatever happens. */
async function inWork<T>(d: ProviderDeps, prefix: string, fn: (work: string) => Promise<T>): Promise<T> {
  const dir = path.join(d.workDir, 'recordings');
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(path.join(dir, prefix));
  try {
    return await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The object as a local file: the file store's own path, or a download to `dest`. */
async function localCopy(storage: ObjectStore, key: string, dest: string): Promise<string> {
  if (storage instanceof FileObjectStore) {
    const p = await storage.localPath(key);
    if (p) return p;
  }
  const obj = await storage.get(key);
  await pipeline(obj.body, createWriteStream(dest));
  return dest;
}

async function fetchHls(d: ProviderDeps, url: string, key: string, signal: AbortSignal) {
  const r = await importHlsToStorage({
    url,
    store: d.storage,
    key,
    ...fetchOptions(d, signal),
    liveWaitSec: d.config.recording.hlsWaitSec,
    idleSec: d.config.recording.hlsIdleSec,
  });
  const media = await normalized(d, key, signal);
  return { ...media, kind: 'hls' as const, segments: r.segments, ended: r.ended };
}

/**
 * The stored recording, probed; an MPEG-TS (a .ts file, or HLS segments joined) is remuxed into Matroska
 * first, without re-encoding: a recorder's TS starts at an arbitrary timestamp and ffmpeg seeks in it
 * poorly (nginx-rtmp's HLS: no frame decoded 1 s after a seek), which the pipeline's checks and its
 * just-in-time segments rely on. Matroska carries an index; MP4 would move the video 23 ms after the audio
 * in nginx-rtmp's TS and the plan would count a frame that is not there.
 */
async function normalized(d: ProviderDeps, key: string, signal: AbortSignal): Promise<Stored> {
  // One local copy (a download with S3) serves the probe and the remux.
  return withLocal(d, key, async (file, work) => {
    const media = await probeStored(file, signal);
    if (!/(^|,)mpegts(,|$)/.test(media.container ?? '')) return media;
    const out = path.join(work, 'remuxed.mkv');
    await concatMedia([file], out, { timeoutMs: 60 * 60_000, signal, tmpDir: work, format: 'matroska' });
    await d.storage.put(key, createReadStream(out), { contentLength: (await stat(out)).size });
    return probeStored(out, signal);
  });
}

/** The bounds of every download (the URL-import rules, with the recordings' own size bound). */
function fetchOptions(d: ProviderDeps, signal: AbortSignal) {
  return {
    maxBytes: d.config.recording.maxBytes,
    timeoutMs: d.config.fetchTimeoutMs,
    allowHosts: d.config.fetchAllowHosts,
    signal,
  };
}
