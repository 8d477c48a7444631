import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  audioArgs,
  choosePoster,
  chunkArgs,
  chunkSegments,
  classify,
  copyArgs,
  copyableAudio,
  decodeCheck,
  extractFrame,
  fpsValue,
  isMediaError,
  makeStoryboard,
  mp4Args,
  planAudio,
  planLadder,
  planSegments,
  runFfmpeg,
  segmentsPerChunk,
  toFps,
  tryProbe,
  type WatermarkOptions,
  webReadyVideo,
} from '@vodcloud/media';
import { FileObjectStore, type ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config';
import type { Database } from '../../db/connect';
import type { VideosTable } from '../../db/schema';
import type { Metrics } from '../../http/metrics';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { open, seal } from '../../lib/secretbox';
import { nowIso } from '../../lib/time';
import { type JobContext, type JobQueue, UnrecoverableJobError } from '../../ports/queue';
import type { EventService } from '../events/service';
import { fetchToStorage } from '../imports/fetcher';
import type { TemplateService } from '../templates/service';
import type { VideoService } from '../videos/service';
import { encodedRenditions, outputPrefix, type VideoPlan } from './plan-state';
import {
  audioOnlyMaster,
  avcCodec,
  masterPlaylist,
  mediaPlaylist,
  segmentName,
  type VariantRef,
} from './playlists';
import type { SourceCache } from './sources';

export interface PipelineDeps {
  config: Config;
  db: Database;
  queue: JobQueue;
  storage: ObjectStore;
  videos: VideoService;
  templates: TemplateService;
  events: EventService;
  sources: SourceCache;
  secret: string;
  metrics?: Metrics;
  log: Logger;
}

const KEY_PURPOSE = 'hls-key';
const GenPayload = z.object({ tenantId: z.string(), videoId: z.string(), generation: z.string() });
const ChunkPayload = GenPayload.extend({ chunk: z.number().int().min(0) });
export const ProcessPayload = z.object({
  tenantId: z.string(),
  videoId: z.string(),
  templateId: z.string().optional(),
});

/** Segments a just-in-time encode makes after the requested one (see ensureSegment). */
const JIT_READ_AHEAD = 2;

export const LIMITS = {
  maxDurationSec: 6 * 3600,
  maxPixels: 8192 * 4320,
  maxSizeBytes: 200 * 1024 ** 3,
  maxFps: 240,
};

/** AES-128-CBC of one whole segment (see segmentIv). */
/** The IV players assume without an IV attribute: the segment's media sequence number, big-endian. */
function segmentIv(index: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index, 12);
  return iv;
}

export function encryptSegment(data: Buffer, key: Buffer, index: number): Buffer {
  const c = createCipheriv('aes-128-cbc', key, segmentIv(index));
  return Buffer.concat([c.update(data), c.final()]);
}

export interface SegmentRequest {
  tenantId: string;
  videoId: string;
  generation: string;
  rendition: string;
  index: number;
}

export interface Pipeline {
  /**
   * Just in time: makes one segment of one rendition unless it is stored already, and returns its key.
   * Concurrent calls for one segment share one encode.
   */
  ensureSegment(
    p: SegmentRequest,
    signal?: AbortSignal,
    opts?: { readAhead?: number; prefetch?: boolean },
  ): Promise<{ key: string; encoded: boolean; ms: number }>;
  /** Just-in-time encodes running in this process. */
  activeSegments(): number;
}

export function definePipeline(d: PipelineDeps): Pipeline {
  const { queue, storage, videos } = d;
  const workRoot = path.join(d.config.dataDir, 'work');

  const current = async (
    tenantId: string,
    videoId: string,
    generation?: string,
  ): Promise<VideosTable | undefined> => {
    const row = await videos.repo.find(tenantId, videoId);
    if (!row) return undefined; // deleted meanwhile
    if (generation && row.generation !== generation) return undefined; // superseded by a retranscode
    return row;
  };
  const planOf = (row: VideosTable) => JSON.parse(row.plan ?? 'null') as VideoPlan;
  const keyOf = (row: VideosTable) => (row.hls_key ? open(row.hls_key, d.secret, KEY_PURPOSE) : undefined);
  const workDir = async (videoId: string, generation: string, part: string) => {
    await mkdir(workRoot, { recursive: true });
    return mkdtemp(path.join(workRoot, `${videoId}-${generation}-${part}-`));
  };
  /**
   * A pipeline step that fails for good (last attempt, or unrecoverable) errors its video, so no video
   * stays in `processing`: media trouble is `malformed_media` with ffmpeg's first words, anything else
   * `internal` (and logged). A step cancelled because its video went away changes nothing.
   */
  const failsVideo =
    <P extends { tenantId: string; videoId: string }, R>(
      attempts: number,
      fn: (p: P, ctx: JobContext) => Promise<R>,
    ) =>
    async (p: P, ctx: JobContext): Promise<R> => {
      try {
        return await fn(p, ctx);
      } catch (err) {
        const last = err instanceof UnrecoverableJobError || ctx.attempt >= attempts;
        if (last && !ctx.signal.aborted) {
          const row = await videos.repo.find(p.tenantId, p.videoId);
          if (row && row.status !== 'errored') {
            if (isMediaError(err)) {
              const first = err.message.split('\n')[0]!.slice(0, 300);
              await videos.fail(
                p.tenantId,
                p.videoId,
                'malformed_media',
                `the media could not be processed: ${first}`,
              );
            } else if (err instanceof UnrecoverableJobError) {
              await videos.fail(p.tenantId, p.videoId, 'malformed_media', err.message);
            } else {
              d.log.error({ err, job: ctx.name, videoId: p.videoId }, 'processing failed');
              await videos.fail(
                p.tenantId,
                p.videoId,
                'internal',
                `processing failed in ${ctx.name}; the error was logged`,
              );
            }
          }
        }
        throw err;
      }
    };

  /**
   * A video deleted while a job was writing its objects: the delete already removed the prefix, so the
   * job removes what it wrote after that and reports it skipped.
   */
  const deletedMeanwhile = async (tenantId: string, videoId: string) => {
    if (await videos.repo.find(tenantId, videoId)) return false;
    await storage.deletePrefix(`${tenantId}/${videoId}/`);
    return true;
  };
  /** Fair share: a tenant with many videos in flight gets lower priority than one with few. */
  const fairPriority = async (tenantId: string) => -(await videos.repo.countInStatus(tenantId, 'processing'));

  /** The template's watermark for ffmpeg, copied from the generation's objects into `dir`. */
  const watermarkFor = async (
    tenantId: string,
    videoId: string,
    plan: VideoPlan,
    dir: string,
  ): Promise<WatermarkOptions | undefined> => {
    const wm = plan.watermark as {
      position: 'top-left';
      margin: number;
      opacity: number;
      width: number;
    } | null;
    if (!wm) return undefined;
    const file = path.join(dir, 'watermark');
    const obj = await storage.get(`${outputPrefix(tenantId, videoId, plan.generation)}/watermark`);
    await writeFile(file, obj.body);
    return { path: file, position: wm.position, margin: wm.margin, opacity: wm.opacity, width: wm.width };
  };

  /** Stores one rendition's segment files from `dir`, encrypted when the video is; skips keys in `skip`. */
  const storeSegments = async (
    row: VideosTable,
    plan: VideoPlan,
    name: string,
    indices: number[],
    dir: string,
    /** Checked right before each write: a key already stored (made just in time and maybe served) stays. */
    keepExisting = false,
  ) => {
    const key = keyOf(row);
    const prefix = outputPrefix(row.tenant_id, row.id, plan.generation);
    for (const i of indices) {
      const objectKey = `${prefix}/hls/${name}/${segmentName(i)}`;
      // A segment made just in time may already have been served (and cached as immutable): keep it.
      if (keepExisting && (await storage.head(objectKey))) continue;
      const file = path.join(dir, name, segmentName(i));
      if (!(await stat(file).catch(() => undefined)))
        throw new UnrecoverableJobError(
          `the media data ends before ${plan.segments[i]?.start.toFixed(2)} s although the file declares ${plan.durationSec.toFixed(2)} s (truncated or damaged)`,
        );
      // With the file store an unencrypted segment is moved into place (a rename, not a second write).
      if (!key && storage instanceof FileObjectStore) {
        await storage.adoptFile(objectKey, file, { contentType: 'video/mp2t' });
        continue;
      }
      let data: Buffer = await readFile(file);
      if (key) data = encryptSegment(data, key, i);
      await storage.put(objectKey, data, { contentType: 'video/mp2t' });
    }
  };

  /**
   * The audio track of a generation: a stream copy of the source's AAC cut at the segment boundaries when
   * it qualifies (instant), else encoded once for the whole video (no priming gaps between segments). One
   * run per generation per process.
   */
  const audioRuns = new Map<string, Promise<void>>();
  const makeAudio = (row: VideosTable, plan: VideoPlan, signal: AbortSignal): Promise<void> => {
    const running = audioRuns.get(plan.generation);
    if (running) return running;
    const job = (async () => {
      const audio = plan.ladder.audio!;
      const input = await d.sources.local(row.tenant_id, row.id, signal);
      const dir = await workDir(row.id, plan.generation, 'audio');
      try {
        await mkdir(path.join(dir, 'audio'), { recursive: true });
        const all = plan.segments.map((s) => s.index);
        // A source whose audio ends early has fewer segments than the timeline: encoded instead (padded).
        if (plan.audioCopy && (await copyFast(row, plan, { video: false, audio: true }, signal)).audio)
          return;
        await runFfmpeg(
          audioArgs({
            input,
            map: `0:${audio.sourceIndex}`,
            durationSec: plan.durationSec,
            segments: plan.segments,
            outDir: dir,
            bitrate: audio.bitrate,
            channels: audio.channels,
            sampleRate: audio.sampleRate,
          }),
          { timeoutMs: Math.max(300_000, plan.durationSec * 10_000), signal },
        );
        await storeSegments(row, plan, 'audio', all, dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })().finally(() => audioRuns.delete(plan.generation));
    audioRuns.set(plan.generation, job);
    return job;
  };

  /**
   * Web-ready fast path, one ffmpeg: the source's video copied into TS segments cut at its keyframes at or
   * after each planned boundary (the passthrough rendition) and/or its AAC copied at the boundaries. The
   * video counts only when the cut gives one segment per planned boundary and none far longer than
   * planned (else it is encoded); the audio only when every segment is there (else it is encoded, padded).
   */
  const copyFast = async (
    row: VideosTable,
    plan: VideoPlan,
    want: { video: boolean; audio: boolean },
    signal: AbortSignal,
  ): Promise<{ video: Array<{ index: number; duration: number }> | null; audio: boolean }> => {
    const name = plan.passthrough?.rendition ?? 'passthrough';
    const input = await d.sources.local(row.tenant_id, row.id, signal);
    const dir = await workDir(row.id, plan.generation, 'copy');
    try {
      const list = path.join(dir, 'segments.csv');
      if (want.video) await mkdir(path.join(dir, name), { recursive: true });
      if (want.audio) await mkdir(path.join(dir, 'audio'), { recursive: true });
      await runFfmpeg(
        copyArgs({
          input,
          splitTimes: plan.segments.slice(1).map((s) => s.start),
          outDir: dir,
          video: want.video ? { name, segmentListFile: list } : undefined,
          audio: want.audio ? { index: plan.ladder.audio!.sourceIndex, name: 'audio' } : undefined,
        }),
        { timeoutMs: Math.max(60_000, plan.durationSec * 1_000), signal },
      );
      const all = plan.segments.map((s) => s.index);
      let video: Array<{ index: number; duration: number }> | null = null;
      if (want.video) {
        const rows = (await readFile(list, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => l.split(','))
          .map(([, start, end]) => Number(end) - Number(start));
        const target = plan.ladder.segmentDuration;
        if (rows.length === plan.segments.length && rows.every((dur) => dur > 0 && dur <= target * 2.5)) {
          await storeSegments(row, plan, name, all, dir);
          video = rows.map((duration, index) => ({ index, duration }));
        }
      }
      let audio = false;
      if (want.audio && (await readdir(path.join(dir, 'audio'))).length === plan.segments.length) {
        await storeSegments(row, plan, 'audio', all, dir);
        audio = true;
      }
      return { video, audio };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /**
   * Consecutive segments of one encoded rendition, alone (at normal priority: background chunks run
   * niced): the requested one and the read-ahead after it, in one ffmpeg run.
   */
  const encodeSegments = async (
    row: VideosTable,
    plan: VideoPlan,
    rendition: string,
    indices: number[],
    signal: AbortSignal,
  ) => {
    const r = plan.ladder.renditions.find((x) => x.name === rendition);
    const segs = indices.map((i) => plan.segments[i]);
    if (!r || !segs.length || segs.some((s) => !s))
      throw new AppError('not_found', `no segment ${indices[0]} of rendition ${rendition}`);
    const first = segs[0]!;
    const last = segs.at(-1)!;
    const input = await d.sources.local(row.tenant_id, row.id, signal);
    const dir = await workDir(row.id, plan.generation, `jit-${rendition}-${first.index}`);
    try {
      await mkdir(path.join(dir, r.name), { recursive: true });
      const watermark = await watermarkFor(row.tenant_id, row.id, plan, dir);
      await runFfmpeg(
        chunkArgs({
          input,
          startSec: first.start,
          endSec: last.end,
          segments: segs as NonNullable<(typeof segs)[number]>[],
          renditions: [r],
          outDir: dir,
          deinterlace: plan.ladder.deinterlace,
          watermark,
        }),
        { timeoutMs: 120_000 * indices.length, signal },
      );
      // The background chunk may have stored some meanwhile: what was stored first stays.
      await storeSegments(row, plan, r.name, indices, dir, true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /** Playable from now on: the first segment of the first variant (and the audio) can be served. */
  const markPlayable = async (tenantId: string, videoId: string, generation: string) => {
    const row = await videos.repo.find(tenantId, videoId);
    // A retranscode of a published video: it stays playable (its published generation) throughout.
    if (!row || row.generation !== generation || row.playable === 1) return;
    const at = nowIso();
    await videos.repo.update(tenantId, videoId, { playable: 1, playable_at: at, updated_at: at });
    await d.events.emit(tenantId, 'video.playable', videoId, { id: videoId });
    if (row.upload_completed_at)
      d.metrics?.videoTimes.observe(
        { stage: 'playable' },
        (Date.parse(at) - Date.parse(row.upload_completed_at)) / 1000,
      );
  };

  const segmentRuns = new Map<string, Promise<{ key: string; encoded: boolean; ms: number }>>();
  const flightOf = (p: SegmentRequest, index: number) => `${p.generation}/${p.rendition}/${index}`;
  /**
   * A player that asked for segment i asks for i+1 next: a just-in-time encode also makes the next
   * `readAhead` segments (not stored and not in flight) in the same ffmpeg run, so playback from a segment
   * nobody encoded yet keeps up with real time (one run per few segments instead of an ffmpeg start, seek
   * and encoder warm-up per segment). Requests for those join the run.
   */
  const ensureSegment: Pipeline['ensureSegment'] = (p, signal, opts) => {
    const readAhead = opts?.readAhead ?? JIT_READ_AHEAD;
    const flight = flightOf(p, p.index);
    const running = segmentRuns.get(flight);
    const requested = `${outputPrefix(p.tenantId, p.videoId, p.generation)}/hls/${p.rendition}/${segmentName(p.index)}`;
    // (A run started for an earlier segment may hold this one as read-ahead.)
    if (running) return running.then((r) => ({ ...r, key: requested, encoded: false }));
    const flights = [flight];
    let job: Promise<{ key: string; encoded: boolean; ms: number }> | undefined;
    job = (async () => {
      const started = performance.now();
      const row = await videos.repo.find(p.tenantId, p.videoId);
      if (!row || (row.generation !== p.generation && row.published_generation !== p.generation))
        throw new AppError('not_found', 'no such video generation');
      const plan = planOf(row);
      if (plan.generation !== p.generation) throw new AppError('not_found', 'the generation was replaced');
      if (!plan.segments[p.index]) throw new AppError('not_found', `no segment ${p.index}`);
      const key = requested;
      if (await storage.head(key)) return { key, encoded: false, ms: performance.now() - started };
      const sig = signal ?? AbortSignal.timeout(120_000);
      if (p.rendition === 'audio') {
        if (!plan.ladder.audio) throw new AppError('not_found', 'this video has no audio');
        await makeAudio(row, plan, sig);
      } else if (p.rendition === plan.passthrough?.rendition) {
        throw new AppError('not_found', 'the passthrough rendition has no such segment');
      } else {
        const indices = [p.index];
        const prefix = `${outputPrefix(p.tenantId, p.videoId, p.generation)}/hls/${p.rendition}`;
        for (let i = p.index + 1; i <= p.index + readAhead && plan.segments[i]; i++) {
          if (await storage.head(`${prefix}/${segmentName(i)}`)) break;
          if (segmentRuns.has(flightOf(p, i))) break; // checked right before it joins this run
          segmentRuns.set(flightOf(p, i), job!);
          flights.push(flightOf(p, i));
          indices.push(i);
        }
        await encodeSegments(row, plan, p.rendition, indices, sig);
        if (!opts?.prefetch) d.metrics?.jitEncodes.inc(); // counts what players asked for
      }
      return { key, encoded: true, ms: performance.now() - started };
    })().finally(() => {
      for (const f of flights) segmentRuns.delete(f);
    });
    segmentRuns.set(flight, job);
    return job;
  };

  // 1. probe → validate → plan → publish the playlists → enqueue the chunk/audio/images flow.
  queue.define('video.process', {
    queue: 'io',
    schema: ProcessPayload,
    attempts: 4,
    handler: failsVideo(4, async ({ tenantId, videoId, templateId }, ctx) => {
      const row = await current(tenantId, videoId);
      if (!row) return { skipped: 'deleted' };
      // Milliseconds from the job's start to each step (debug log and job result): the path to playable.
      const t0 = performance.now();
      const steps: Record<string, number> = {
        queued: row.upload_completed_at ? Date.now() - Date.parse(row.upload_completed_at) : -1,
      };
      const lap = (name: string) => {
        steps[name] = Math.round(performance.now() - t0);
      };
      await videos.setStatus(tenantId, videoId, 'processing');
      lap('status');
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      lap('source');
      const info = await tryProbe(input, { timeoutMs: 60_000, signal: ctx.signal });
      lap('probe');
      const verdict = classify(info, LIMITS);
      if (!verdict.ok) {
        await videos.fail(tenantId, videoId, verdict.code, verdict.message);
        return { errored: verdict.code };
      }
      if ('failed' in info) return { errored: 'probe' }; // classify refused it already
      // The decode check (one second at each end, at once) is not on the path to playable: the fast path's
      // own ffmpeg runs read the source first. It runs right after the video turns playable (a source damaged
      // at its end errors a moment later and stops being served), or at once when the fast path fails, to
      // tell damaged media from other trouble.
      const verify = () =>
        decodeCheck(input, {
          seconds: 1,
          durationSec: info.duration,
          hasVideo: info.video !== null,
          timeoutMs: 60_000,
          signal: ctx.signal,
          nice: 10, // players are fetching the first segments meanwhile
        });
      const template = await d.templates.getSpec(tenantId, templateId ?? row.template_id ?? undefined);
      const spec = template.spec;
      const audioOnly = verdict.kind === 'audio_only';
      const ladder = audioOnly
        ? {
            renditions: [],
            audio: planAudio(spec, info),
            fps: toFps(25),
            segmentDuration: spec.hls.segmentDuration,
            segmentFrames: 0,
            deinterlace: false,
            sourceDisplay: { width: 0, height: 0 },
          }
        : planLadder(spec, info);
      const segments = planSegments(info.duration, spec.hls.segmentDuration, ladder.fps);
      const perChunk = segmentsPerChunk(segments.length, spec.hls.segmentDuration, { minChunkSec: 20 });
      const chunks = audioOnly ? [] : chunkSegments(segments, perChunk).map((c) => c.map((s) => s.index));
      const names = ladder.renditions.map((r) => r.name);
      const mp4 =
        spec.mp4 === 'none'
          ? []
          : spec.mp4 === 'highest'
            ? names.slice(0, 1)
            : spec.mp4.filter((n) => names.includes(n));
      const generation = newId();
      const plan: VideoPlan = {
        generation,
        ladder: ladder as VideoPlan['ladder'],
        segments,
        chunks,
        mp4,
        encryption: spec.hls.encryption,
        audioOnly,
        durationSec: segments.at(-1)?.end ?? info.duration,
        watermark: spec.watermark ?? null,
        passthrough: null,
        audioCopy: ladder.audio ? copyableAudio(info, ladder.audio) : false,
      };
      const top = ladder.renditions[0];
      const web =
        top && !audioOnly && !spec.watermark && d.config.passthrough ? webReadyVideo(info, top) : undefined;
      if (web?.ok && top) plan.passthrough = { rendition: top.name, codec: web.codec, segments: [] };
      const hlsKey = spec.hls.encryption === 'aes-128' ? randomBytes(16) : undefined;
      const v = info.video;
      await videos.repo.update(tenantId, videoId, {
        duration: Number(plan.durationSec.toFixed(3)),
        width: v?.width ?? null,
        height: v?.height ?? null,
        source_info: JSON.stringify({
          container: info.container,
          videoCodec: v?.codec ?? null,
          audioCodec: info.audio[0]?.codec ?? null,
          width: v?.width ?? null,
          height: v?.height ?? null,
          fps: v ? Number(fpsValue(ladder.fps).toFixed(3)) : null,
          bitrate: info.bitrate,
          rotation: v?.rotation ?? 0,
        }),
        renditions: JSON.stringify(
          ladder.renditions.map((r) => ({
            name: r.name,
            width: r.width,
            height: r.height,
            videoBitrate: r.videoBitrate,
            status: 'pending',
            mp4: mp4.includes(r.name),
          })),
        ),
        plan: JSON.stringify(plan),
        generation,
        hls_key: hlsKey ? seal(hlsKey, d.secret, KEY_PURPOSE) : null,
        chunks_done: 0,
        progress: 0.02,
        processing_started_at: nowIso(),
        error_code: null,
        error_message: null,
        updated_at: nowIso(),
      });
      if (spec.watermark) {
        try {
          await storeWatermark(
            d,
            tenantId,
            spec.watermark,
            `${outputPrefix(tenantId, videoId, generation)}/watermark`,
            ctx.signal,
          );
        } catch (err) {
          await videos.fail(
            tenantId,
            videoId,
            'internal',
            `the template's watermark could not be loaded: ${(err as Error).message}`,
          );
          return { errored: 'watermark' };
        }
      }
      // Fast path, before anything is encoded: the audio track (copied, or encoded once: ~1 % of the
      // duration), the passthrough rendition (remuxed) or else the first segment of the first variant.
      const fresh = (await videos.repo.find(tenantId, videoId))!;
      const fastPath = async () => {
        const want = { video: !!plan.passthrough, audio: !!(plan.ladder.audio && plan.audioCopy) };
        if (want.video || want.audio) {
          const copied = await copyFast(fresh, plan, want, ctx.signal);
          lap('copy');
          if (plan.passthrough) {
            if (copied.video) plan.passthrough.segments = copied.video;
            else plan.passthrough = null;
          }
          if (want.audio && !copied.audio) plan.audioCopy = false;
          if (copied.audio) return;
        }
        if (plan.ladder.audio) {
          await makeAudio(fresh, plan, ctx.signal);
          lap('audio');
        }
      };
      lap('planned');
      // Without a passthrough, the first variant is the smallest: its first segment is encoded meanwhile.
      const smallest = firstVariant({ ...plan, passthrough: null });
      const firstEncoded = () =>
        smallest
          ? ensureSegment({ tenantId, videoId, generation, rendition: smallest, index: 0 }, ctx.signal, {
              readAhead: 0, // playable as soon as this one segment exists
            }).finally(() => lap('firstSegment'))
          : Promise.resolve();
      const early = plan.passthrough ? undefined : firstEncoded();
      early?.catch(() => undefined);
      try {
        await fastPath();
        lap('fastPath');
        if (!plan.passthrough) plan.passthrough = null;
        await videos.repo.update(tenantId, videoId, { plan: JSON.stringify(plan) });
        await writePlaylists(d, tenantId, row.playback_id, videoId, plan, hlsKey !== undefined);
        // The passthrough copy failed after all: the smallest rendition's first segment is made now.
        if (early) await early;
        else if (firstVariant(plan) && firstVariant(plan) !== plan.passthrough?.rendition)
          await firstEncoded();
      } catch (err) {
        await early?.catch(() => undefined);
        if (await deletedMeanwhile(tenantId, videoId)) return { skipped: 'deleted' };
        if (ctx.signal.aborted) throw err;
        const checked = await verify();
        if (!checked.ok) {
          await videos.fail(tenantId, videoId, checked.code, checked.message);
          return { errored: 'decode' };
        }
        throw err;
      }
      const first = firstVariant(plan);
      if (await deletedMeanwhile(tenantId, videoId)) return { skipped: 'deleted' };
      lap('firstSegment');
      await markPlayable(tenantId, videoId, generation);
      lap('playable');
      d.log.debug({ videoId, steps }, 'video playable');
      // A player starting now has one segment buffered: the next ones are made before it asks for them
      // (a request for one of them joins this run).
      if (first && first !== plan.passthrough?.rendition && plan.segments.length > 1)
        ensureSegment({ tenantId, videoId, generation, rendition: first, index: 1 }, undefined, {
          prefetch: true,
        })
          .then(() => deletedMeanwhile(tenantId, videoId))
          .catch((err) => d.log.warn({ err, videoId }, 'prefetching the first segments failed'));
      const checked = await verify();
      lap('decodeCheck');
      if (!checked.ok) {
        await videos.repo.update(tenantId, videoId, { playable: 0 });
        await videos.fail(tenantId, videoId, checked.code, checked.message);
        return { errored: 'decode' };
      }
      const priority = await fairPriority(tenantId);
      const base = { tenantId, videoId, generation };
      const children = [
        ...(encodedRenditions(plan).length ? chunks : []).map((_, k) => ({
          name: 'video.chunk',
          payload: { ...base, chunk: k },
          opts: { jobId: `chunk.${generation}.${k}`, priority },
        })),
        ...(audioOnly
          ? []
          : [{ name: 'video.images', payload: base, opts: { jobId: `images.${generation}`, priority } }]),
      ];
      const publish = {
        name: 'video.publish',
        payload: base,
        opts: { jobId: `publish.${generation}`, priority },
      };
      // Nothing left to encode (an audio-only source: its track was made above): publish at once.
      if (children.length === 0) await queue.enqueue(publish.name, publish.payload, publish.opts);
      else await queue.enqueueFlow({ parent: publish, children });
      return {
        generation,
        chunks: chunks.length,
        renditions: names,
        passthrough: plan.passthrough?.rendition ?? null,
        audioCopy: plan.audioCopy,
      };
    }),
  });

  // 2. one chunk of consecutive segments, every rendition, one decode.
  queue.define('video.chunk', {
    queue: 'cpu',
    schema: ChunkPayload,
    attempts: 4,
    timeoutMs: 60 * 60_000,
    handler: failsVideo(4, async ({ tenantId, videoId, generation, chunk }, ctx) => {
      const row = await current(tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      const segs = plan.chunks[chunk]!.map((i) => plan.segments[i]!);
      const renditions = encodedRenditions(plan);
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const dir = await workDir(videoId, generation, `c${chunk}`);
      try {
        for (const r of renditions) await mkdir(path.join(dir, r.name), { recursive: true });
        const start = segs[0]!.start;
        const end = segs.at(-1)!.end;
        const args = chunkArgs({
          input,
          startSec: start,
          endSec: end,
          segments: segs,
          renditions,
          outDir: dir,
          deinterlace: plan.ladder.deinterlace,
          watermark: await watermarkFor(tenantId, videoId, plan, dir),
        });
        await runFfmpeg(args, {
          timeoutMs: Math.max(300_000, (end - start) * 60_000),
          signal: ctx.signal,
          // Background work yields to just-in-time segments and fast paths (CFS weight 110 vs 1024).
          nice: 10,
        });
        for (const r of renditions)
          await storeSegments(
            row,
            plan,
            r.name,
            segs.map((x) => x.index),
            dir,
            true,
          );
        if (await deletedMeanwhile(tenantId, videoId)) return { skipped: 'deleted' };
        const done = await videos.repo.bumpChunks(tenantId, videoId, generation);
        await videos.repo.update(tenantId, videoId, {
          progress: Math.min(0.95, 0.05 + (0.85 * done) / plan.chunks.length),
        });
        return { segments: segs.length };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  });

  // 3. the audio track (now made by video.process itself; kept for jobs enqueued by earlier versions).
  queue.define('video.audio', {
    queue: 'cpu',
    schema: GenPayload,
    attempts: 4,
    timeoutMs: 60 * 60_000,
    handler: failsVideo(4, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      await makeAudio(row, plan, ctx.signal);
      if (await deletedMeanwhile(tenantId, videoId)) return { skipped: 'deleted' };
      return { segments: plan.segments.length };
    }),
  });

  // 4. poster and storyboard.
  queue.define('video.images', {
    queue: 'cpu',
    schema: GenPayload,
    attempts: 3,
    timeoutMs: 30 * 60_000,
    handler: failsVideo(3, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const prefix = outputPrefix(tenantId, videoId, generation);
      const images = await makeImages(input, plan, row, ctx.signal);
      for (const [name, body, type] of images.files)
        await storage.put(`${prefix}/images/${name}`, body, { contentType: type });
      if (await deletedMeanwhile(tenantId, videoId)) return { skipped: 'deleted' };
      return images.summary;
    }),
  });

  // A new cover for a published video: a new poster object (objects of a generation are cached as immutable).
  queue.define('video.cover', {
    queue: 'cpu',
    schema: z.object({ tenantId: z.string(), videoId: z.string(), time: z.number().min(0) }),
    attempts: 3,
    handler: async ({ tenantId, videoId, time }, ctx) => {
      const row = await current(tenantId, videoId);
      if (!row?.published_generation) return { skipped: true };
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const frame = await extractFrame(input, {
        timeSec: time,
        width: 1280,
        format: 'jpeg',
        timeoutMs: 120_000,
        signal: ctx.signal,
      });
      const name = `poster-${Math.round(frame.timeSec * 1000)}.jpg`;
      await storage.put(
        `${outputPrefix(tenantId, videoId, row.published_generation)}/images/${name}`,
        frame.data,
        { contentType: 'image/jpeg' },
      );
      const outputs = JSON.parse(row.outputs ?? '{}') as { images?: Record<string, unknown> };
      outputs.images = { ...(outputs.images ?? {}), poster: name, posterTime: frame.timeSec };
      await videos.repo.update(tenantId, videoId, { outputs: JSON.stringify(outputs), updated_at: nowIso() });
      return { poster: name };
    },
  });

  // 5. progressive MP4s, measured bandwidths, then one update publishes the generation.
  queue.define('video.publish', {
    queue: 'io',
    schema: GenPayload,
    attempts: 5,
    timeoutMs: 60 * 60_000,
    handler: failsVideo(5, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      const prefix = outputPrefix(tenantId, videoId, generation);
      const key = keyOf(row);
      const dir = await workDir(videoId, generation, 'publish');
      const sizes: Record<string, number> = {};
      try {
        // Sizes for the measured bandwidths come from a listing; only the renditions that are remuxed to
        // MP4 or cut into the storyboard (and the audio they need) are fetched back to this node.
        for (let cursor: string | null | undefined; cursor !== null; ) {
          const page = await storage.list(`${prefix}/hls/`, { cursor });
          for (const item of page.items) {
            const m = /\/hls\/([^/]+)\/seg-\d{5}\.ts$/.exec(item.key);
            if (m) sizes[m[1]!] = (sizes[m[1]!] ?? 0) + item.size;
          }
          cursor = page.nextCursor;
        }
        const fetchSegments = async (name: string) => {
          const files: string[] = [];
          await mkdir(path.join(dir, name), { recursive: true });
          for (const s of plan.segments) {
            const obj = await storage.get(`${prefix}/hls/${name}/${segmentName(s.index)}`);
            const chunks: Buffer[] = [];
            for await (const c of obj.body) chunks.push(c as Buffer);
            let data: Buffer = Buffer.concat(chunks);
            if (key) data = decryptSegment(data, key, s.index);
            const f = path.join(dir, name, segmentName(s.index));
            await writeFile(f, data);
            files.push(f);
          }
          return files;
        };
        const smallest = [...plan.ladder.renditions].sort(
          (a, b) => a.width * a.height - b.width * b.height,
        )[0];
        const needsAudio = plan.audioOnly || plan.mp4.length > 0;
        const audioFiles = plan.ladder.audio && needsAudio ? await fetchSegments('audio') : null;
        const audioList = audioFiles ? path.join(dir, 'audio.list') : null;
        if (audioList && audioFiles) await writeFile(audioList, audioFiles.join('\n'));
        const mp4s: Record<string, string> = {};
        const targets = plan.audioOnly
          ? []
          : plan.ladder.renditions
              .map((r) => r.name)
              .filter((n) => plan.mp4.includes(n) || n === smallest?.name);
        for (const name of targets) {
          const files = await fetchSegments(name);
          if (!plan.mp4.includes(name)) continue;
          const listFile = path.join(dir, `${name}.list`);
          await writeFile(listFile, files.join('\n'));
          const out = path.join(dir, `${name}.mp4`);
          await runFfmpeg(
            mp4Args({ video: { listFile }, audio: audioList ? { listFile: audioList } : null, output: out }),
            {
              timeoutMs: Math.max(300_000, plan.durationSec * 5_000),
              signal: ctx.signal,
            },
          );
          const mp4Key = `${prefix}/mp4/${name}.mp4`;
          await storage.put(mp4Key, createReadStream(out), {
            contentType: 'video/mp4',
            contentLength: (await stat(out)).size,
          });
          mp4s[name] = mp4Key;
        }
        if (plan.audioOnly && audioList) {
          const listFile = audioList;
          const out = path.join(dir, 'audio.m4a');
          await runFfmpeg(
            [
              '-copyts',
              '-f',
              'mpegts',
              '-i',
              `concatf:${listFile}`,
              '-map',
              '0:a:0',
              '-c',
              'copy',
              '-bsf:a',
              'aac_adtstoasc',
              '-movflags',
              '+faststart',
              '-f',
              'mp4',
              '-y',
              out,
            ],
            {
              timeoutMs: 300_000,
              signal: ctx.signal,
            },
          );
          const m4aKey = `${prefix}/mp4/audio.m4a`;
          await storage.put(m4aKey, await readFile(out), { contentType: 'audio/mp4' });
          mp4s.audio = m4aKey;
        }
        // The storyboard is cut from the smallest rendition, already encoded and on this node: decoding a
        // 360p stream costs a fraction of decoding the source a second time.
        let storyboard: Record<string, unknown> | null = null;
        if (smallest) {
          const list = path.join(dir, `${smallest.name}.board.list`);
          await writeFile(
            list,
            plan.segments.map((seg) => path.join(dir, smallest.name, segmentName(seg.index))).join('\n'),
          );
          const small = path.join(dir, 'storyboard-source.mp4');
          await runFfmpeg(mp4Args({ video: { listFile: list }, audio: null, output: small }), {
            timeoutMs: 300_000,
            signal: ctx.signal,
          });
          const board = await makeStoryboard(small, {
            durationSec: plan.durationSec,
            format: 'jpeg',
            spriteUrl: (i: number) => `storyboard-${i}.jpg`,
            timeoutMs: 600_000,
            signal: ctx.signal,
          });
          for (const [i, sheet] of board.sheets.entries())
            await storage.put(`${prefix}/images/storyboard-${i}.jpg`, sheet, { contentType: 'image/jpeg' });
          await storage.put(`${prefix}/images/storyboard.vtt`, board.vtt, { contentType: 'text/vtt' });
          storyboard = { vtt: 'storyboard.vtt', sheets: board.sheets.length, tiles: board.count };
        }
        // Measured average bandwidths replace the planned ones in the master playlist.
        await writePlaylists(d, tenantId, row.playback_id, videoId, plan, key !== undefined, sizes);
        const images = (await ctx.childResults()) as Record<
          string,
          { poster?: string; storyboard?: unknown }
        >;
        const imageResult =
          Object.values(images).find((r) => r && typeof r === 'object' && 'poster' in r) ?? null;
        const previous = row.published_generation;
        const at = nowIso();
        const renditions = JSON.parse(row.renditions) as Array<Record<string, unknown>>;
        await videos.repo.update(tenantId, videoId, {
          published_generation: generation,
          outputs: JSON.stringify({ prefix, mp4: mp4s, images: { ...(imageResult ?? {}), storyboard } }),
          renditions: JSON.stringify(renditions.map((r) => ({ ...r, status: 'ready' }))),
          progress: 1,
          playable: 1,
          playable_at: row.playable_at ?? at,
          ready_at: at,
          updated_at: at,
        });
        await videos.setStatus(tenantId, videoId, 'ready');
        const fresh = await videos.repo.find(tenantId, videoId);
        if (row.playable !== 1) await d.events.emit(tenantId, 'video.playable', videoId, { id: videoId });
        // Time to ready of a new video (not of a retranscode), for /metrics (playable was observed when it
        // became playable).
        if (!previous && row.upload_completed_at) {
          const since = (Date.parse(at) - Date.parse(row.upload_completed_at)) / 1000;
          if (!row.playable_at) d.metrics?.videoTimes.observe({ stage: 'playable' }, since);
          d.metrics?.videoTimes.observe({ stage: 'ready' }, since);
        }
        await d.events.emit(tenantId, 'video.ready', videoId, {
          id: videoId,
          duration: fresh?.duration,
          renditions: plan.ladder.renditions.map((r) => r.name),
        });
        if (previous && previous !== generation)
          await storage.deletePrefix(`${tenantId}/${videoId}/${previous}/`).catch(() => undefined);
        await d.sources.drop(videoId).catch(() => undefined);
        return { published: generation };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  });
  return { ensureSegment, activeSegments: () => segmentRuns.size };
}

/** Puts the template's watermark image into the generation's objects (URL: fetched under the SSRF rules). */
async function storeWatermark(
  d: PipelineDeps,
  tenantId: string,
  wm: { imageUrl?: string; objectKey?: string },
  key: string,
  signal: AbortSignal,
) {
  if (wm.imageUrl) {
    await fetchToStorage({
      url: wm.imageUrl,
      store: d.storage,
      key,
      maxBytes: 5 * 1024 * 1024,
      timeoutMs: 30_000,
      allowHosts: d.config.fetchAllowHosts,
      signal,
    });
    return;
  }
  // An object key is the tenant's own: it is looked up under the tenant's prefix only.
  await d.storage.copy(`${tenantId}/${wm.objectKey}`, key);
}

/** Cancels every job of a video's current generation (on delete): waiting ones never run, running ones stop. */
export async function cancelVideoJobs(queue: JobQueue, row: VideosTable): Promise<void> {
  const ids = [`process.${row.id}`, `finalize.${row.id}`, `import.${row.id}`];
  if (row.generation) {
    const plan = JSON.parse(row.plan ?? 'null') as VideoPlan | null;
    const g = row.generation;
    ids.push(
      `publish.${g}`,
      `audio.${g}`,
      `images.${g}`,
      ...(plan?.chunks ?? []).map((_, k) => `chunk.${g}.${k}`),
    );
  }
  await Promise.allSettled(ids.map((id) => queue.cancel(id)));
}

export function decryptSegment(data: Buffer, key: Buffer, index: number): Buffer {
  const c = createDecipheriv('aes-128-cbc', key, segmentIv(index));
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * The variant players start with (listed first in the master): the passthrough rendition when there is
 * one (ready at once), else the smallest (its first segment is made before the video turns playable and is
 * the quickest to make just in time); players then switch up by measured bandwidth.
 */
export function firstVariant(plan: VideoPlan): string | undefined {
  if (plan.audioOnly) return undefined;
  if (plan.passthrough?.segments.length) return plan.passthrough.rendition;
  return [...plan.ladder.renditions].sort((a, b) => a.width * a.height - b.width * b.height)[0]?.name;
}

/** Writes master and child playlists of a generation; with `sizes`, the master carries measured bandwidths. */
async function writePlaylists(
  d: PipelineDeps,
  tenantId: string,
  playbackId: string,
  videoId: string,
  plan: VideoPlan,
  encrypted: boolean,
  sizes?: Record<string, number>,
): Promise<void> {
  const prefix = `${outputPrefix(tenantId, videoId, plan.generation)}/hls`;
  const segs = plan.segments.map((s) => ({ index: s.index, duration: s.end - s.start }));
  // Relative to the media playlist; the stream role adds the playback token to each URL it serves.
  const key = encrypted ? { uri: `/hls/${playbackId}/key` } : undefined;
  const put = (k: string, text: string) =>
    d.storage.put(`${prefix}/${k}`, text, { contentType: 'application/vnd.apple.mpegurl' });
  const audio = plan.ladder.audio;
  if (audio) await put('audio/index.m3u8', mediaPlaylist(segs, { key }));
  if (plan.audioOnly) {
    await put('master.m3u8', audioOnlyMaster('audio/index.m3u8', audio?.bitrate ?? 128_000));
    return;
  }
  const audioAvg = audio
    ? sizes?.audio !== undefined
      ? (sizes.audio * 8) / plan.durationSec
      : audio.bitrate
    : 0;
  const variants: VariantRef[] = [];
  const pass = plan.passthrough?.segments.length ? plan.passthrough : null;
  for (const r of plan.ladder.renditions) {
    const own = pass?.rendition === r.name ? pass.segments : segs;
    await put(`${r.name}/index.m3u8`, mediaPlaylist(own, { key }));
    const measured = sizes?.[r.name] !== undefined ? (sizes[r.name]! * 8) / plan.durationSec : undefined;
    const average = (measured ?? r.videoBitrate) + audioAvg;
    variants.push({
      name: r.name,
      width: r.width,
      height: r.height,
      bandwidth: Math.max(r.maxrate + (audio?.bitrate ?? 0), average),
      averageBandwidth: average,
      fps: fpsValue(r.fps),
      videoCodec:
        pass?.rendition === r.name
          ? avcCodec(pass.codec.profile, pass.codec.level)
          : avcCodec(r.profile, r.level),
      uri: `${r.name}/index.m3u8`,
    });
  }
  await put(
    'master.m3u8',
    masterPlaylist(variants, audio ? { uri: 'audio/index.m3u8', channels: audio.channels } : null, {
      first: firstVariant(plan),
    }),
  );
}

/** The poster: the cover frame when one was chosen, else a representative non-black one (a few seeks, no full decode). */
async function makeImages(
  input: string,
  plan: VideoPlan,
  row: VideosTable,
  signal: AbortSignal,
): Promise<{ files: Array<[string, Buffer | string, string]>; summary: Record<string, unknown> }> {
  const files: Array<[string, Buffer | string, string]> = [];
  let posterTime: number;
  if (row.cover_time !== null && row.cover_time !== undefined) {
    const frame = await extractFrame(input, {
      timeSec: row.cover_time,
      width: 1280,
      format: 'jpeg',
      timeoutMs: 120_000,
      signal,
    });
    files.push(['poster.jpg', frame.data, 'image/jpeg']);
    posterTime = row.cover_time;
  } else {
    const poster = await choosePoster(input, { durationSec: plan.durationSec, timeoutMs: 120_000, signal });
    files.push(['poster.jpg', poster.jpeg, 'image/jpeg']);
    posterTime = poster.timeSec;
  }
  return {
    files,
    summary: { poster: 'poster.jpg', posterTime },
  };
}
