import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { audioArgs, chunkArgs, copyArgs, runFfmpeg } from '@vodcloud/media';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { type Limiter, limiter } from '../../lib/limiter';
import { AUDIO_RENDITION, segmentKey, segmentName } from '../videos';
import { type PipelineDeps, workDir } from './deps';
import { encodedRenditions, planOf, type VideoPlan } from './plan-state';
import { abandonable, deferred, RunTier } from './run-control';
import { storeSegments } from './segment-store';
import { watermarkFor } from './watermark';

/** Segments a just-in-time encode makes after the requested one (see ensureSegment). */
const JIT_READ_AHEAD = 2;
/** Just-in-time encodes that may wait for one of the VOD_JIT_MAX_CONCURRENT; beyond, 503 + Retry-After. */
const JIT_MAX_WAITING = 16;
/** A just-in-time run's own bound (source fetch, wait for an encode slot, the encode): 10 minutes. */
const JIT_RUN_TIMEOUT_MS = 600_000;

export interface SegmentRequest {
  tenantId: string;
  videoId: string;
  generation: string;
  rendition: string;
  index: number;
}

export interface JitOptions {
  /** Segments made after the requested one in the same run (default JIT_READ_AHEAD). */
  readAhead?: number;
  /** Not asked for by a player (not counted as a just-in-time encode). */
  prefetch?: boolean;
  /** The run itself ends with this signal (the process step's job: a deleted video's run stops). */
  runSignal?: AbortSignal;
  /**
   * Made before anyone asks for it (the segments after the first of a video just playable): the run takes a
   * prefetch slot and yields to this node's foreground work (stopped while a process step or a segment a player
   * waits for is made; lib/foreground.ts), background chunks yielding to it, until a request joins it.
   */
  yields?: boolean;
}

export interface SegmentResult {
  key: string;
  encoded: boolean;
  ms: number;
}

/**
 * The just-in-time encoder: makes the segments a player asks for before the background chunks reach
 * them, the audio track, and the web-ready fast path (stream copies). It keeps the runs in flight in this
 * process, so concurrent requests for one segment (or one audio track) share one ffmpeg run.
 */
export class JitEncoder {
  private readonly audioRuns = new Map<string, Promise<void>>();
  /** Runs in flight by segment (generation/rendition/index): a run's read-ahead segments are in it too. */
  private readonly segmentRuns = new Map<string, Promise<SegmentResult>>();
  /** Encodes players asked for, bounded per worker whatever players ask (VOD_JIT_MAX_CONCURRENT). */
  private readonly encodes: Limiter;
  /** The runs' places on this node by segment (as segmentRuns): a request that joins one waits with it. */
  private readonly tiers = new Map<string, RunTier>();

  constructor(private readonly d: PipelineDeps) {
    this.encodes = limiter(
      d.config.jitMaxConcurrent,
      JIT_MAX_WAITING,
      () =>
        new AppError('unavailable', 'Too many segments are being prepared on this worker; retry shortly', {
          headers: { 'retry-after': '1' },
        }),
    );
  }

  /** Just-in-time encodes running in this process (requested segments and their read-ahead). */
  active(): number {
    return this.segmentRuns.size;
  }

  /**
   * The audio track of a generation: a stream copy of the source's AAC cut at the segment boundaries when
   * it qualifies (instant), else encoded once for the whole video (no priming gaps between segments). One
   * run per generation per process.
   */
  makeAudio(row: VideosTable, plan: VideoPlan, signal: AbortSignal): Promise<void> {
    const running = this.audioRuns.get(plan.generation);
    if (running) return running;
    const job = this.runAudio(row, plan, signal).finally(() => this.audioRuns.delete(plan.generation));
    this.audioRuns.set(plan.generation, job);
    return job;
  }

  private async runAudio(row: VideosTable, plan: VideoPlan, signal: AbortSignal): Promise<void> {
    const audio = plan.ladder.audio!;
    const input = await this.d.sources.local(row.tenant_id, row.id, signal);
    const dir = await workDir(this.d, row.id, plan.generation, 'audio');
    try {
      await mkdir(path.join(dir, AUDIO_RENDITION), { recursive: true });
      const all = plan.segments.map((s) => s.index);
      // A source whose audio ends early has fewer segments than the timeline: encoded instead (padded).
      if (plan.audioCopy && (await this.copyFast(row, plan, { video: false, audio: true }, signal)).audio)
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
        { timeoutMs: Math.max(300_000, plan.durationSec * 10_000), signal, priority: 'interactive' },
      );
      await storeSegments(this.d, row, plan, AUDIO_RENDITION, all, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Web-ready fast path, one ffmpeg: the source's video copied into TS segments cut at its keyframes at or
   * after each planned boundary (the passthrough rendition) and/or its AAC copied at the boundaries. The
   * video counts only when the cut gives one segment per planned boundary and none far longer than
   * planned (else it is encoded); the audio only when every segment is there (else it is encoded, padded).
   */
  async copyFast(
    row: VideosTable,
    plan: VideoPlan,
    want: { video: boolean; audio: boolean },
    signal: AbortSignal,
  ): Promise<{ video: Array<{ index: number; duration: number }> | null; audio: boolean }> {
    const name = plan.passthrough?.rendition ?? 'passthrough';
    const input = await this.d.sources.local(row.tenant_id, row.id, signal);
    const dir = await workDir(this.d, row.id, plan.generation, 'copy');
    try {
      const list = path.join(dir, 'segments.csv');
      if (want.video) await mkdir(path.join(dir, name), { recursive: true });
      if (want.audio) await mkdir(path.join(dir, AUDIO_RENDITION), { recursive: true });
      await runFfmpeg(
        copyArgs({
          input,
          splitTimes: plan.segments.slice(1).map((s) => s.start),
          outDir: dir,
          video: want.video ? { name, segmentListFile: list } : undefined,
          audio: want.audio ? { index: plan.ladder.audio!.sourceIndex, name: AUDIO_RENDITION } : undefined,
        }),
        // The path to playable: ahead of background runs for a slot.
        { timeoutMs: Math.max(60_000, plan.durationSec * 1_000), signal, priority: 'interactive' },
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
          await storeSegments(this.d, row, plan, name, all, dir);
          video = rows.map((duration, index) => ({ index, duration }));
        }
      }
      let audio = false;
      if (want.audio && (await readdir(path.join(dir, AUDIO_RENDITION))).length === plan.segments.length) {
        await storeSegments(this.d, row, plan, AUDIO_RENDITION, all, dir);
        audio = true;
      }
      return { video, audio };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Consecutive segments of one encoded rendition, alone (at normal priority: background chunks run
   * niced): the requested one and the read-ahead after it, in one ffmpeg run.
   */
  async encodeSegments(
    row: VideosTable,
    plan: VideoPlan,
    rendition: string,
    indices: number[],
    signal: AbortSignal,
    onStored: (index: number) => void,
    tier: RunTier,
  ): Promise<void> {
    const r = plan.ladder.renditions.find((x) => x.name === rendition);
    const segs = indices.map((i) => plan.segments[i]);
    if (!r || !segs.length || segs.some((s) => !s))
      throw new AppError('not_found', `no segment ${indices[0]} of rendition ${rendition}`);
    const first = segs[0]!;
    const last = segs.at(-1)!;
    const input = await this.d.sources.local(row.tenant_id, row.id, signal);
    const dir = await workDir(this.d, row.id, plan.generation, `jit-${rendition}-${first.index}`);
    try {
      await mkdir(path.join(dir, r.name), { recursive: true });
      const watermark = await watermarkFor(this.d, row.tenant_id, row.id, plan, dir);
      // Each segment is stored as soon as ffmpeg moved on to the next one (the segment muxer closed it): the
      // requested segment is served while its read-ahead is still encoding. The background chunk may have
      // stored some meanwhile: what was stored first stays.
      const pending = [...indices];
      let storing = Promise.resolve();
      const storeDone = (upTo: number) => {
        const ready: number[] = [];
        while (pending.length && pending[0]! < upTo) ready.push(pending.shift()!);
        if (!ready.length) return;
        storing = storing.then(async () => {
          for (const i of ready) {
            await storeSegments(this.d, row, plan, r.name, [i], dir, true);
            onStored(i);
          }
        });
        storing.catch(() => {}); // awaited below; a failure is not unhandled if ffmpeg fails first
      };
      const watch = setInterval(() => {
        const next = pending[1];
        if (next !== undefined)
          void stat(path.join(dir, r.name, segmentName(next))).then(
            () => storeDone(next),
            () => {},
          );
      }, 50);
      const prefetch = tier.yieldingNow();
      tier.start();
      try {
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
          {
            timeoutMs: 120_000 * indices.length,
            signal,
            priority: prefetch ? 'prefetch' : 'interactive',
            raise: prefetch ? tier.promoted : undefined,
            onSpawn: tier.spawned,
          },
        );
      } finally {
        clearInterval(watch);
        tier.end();
      }
      storeDone(Number.POSITIVE_INFINITY);
      await storing;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Just in time: makes one segment of one rendition unless it is stored already, and returns its key.
   * Concurrent calls for one segment share one encode.
   *
   * A player that asked for segment i asks for i+1 next: a just-in-time encode also makes the next
   * `readAhead` segments (not stored and not in flight) in the same ffmpeg run, so playback from a segment
   * nobody encoded yet keeps up with real time (one run per few segments instead of an ffmpeg start, seek
   * and encoder warm-up per segment). Each segment of a run is stored, and its waiters answered, as soon
   * as it is encoded. Requests for those join the run.
   *
   * A run does not end with its caller: a player that gave up on a request (hls.js abandons a slow
   * fragment and asks a lower rendition, a deadline passes) finds the segment stored when it asks again,
   * instead of a run started from zero each time. `signal` only ends the caller's wait.
   */
  ensureSegment(p: SegmentRequest, signal?: AbortSignal, opts?: JitOptions): Promise<SegmentResult> {
    const requested = segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, p.index);
    // (A run started for an earlier segment may hold this one as read-ahead.)
    const running = this.segmentRuns.get(flightOf(p, p.index));
    const job =
      running?.then((r) => ({ ...r, key: requested, encoded: false })) ?? this.startRun(p, requested, opts);
    // Someone waits for it now (not a prefetch's own start): the run is foreground work while they do.
    const tier = this.tiers.get(flightOf(p, p.index));
    if (tier && !opts?.yields) return tier.wait(job, signal);
    return signal ? abandonable(job, signal) : job;
  }

  /** Starts the run for segment `p.index` (and its read-ahead); each index's flight ends when it is stored. */
  private startRun(p: SegmentRequest, key: string, opts?: JitOptions): Promise<SegmentResult> {
    const started = performance.now();
    const flights = new Map<number, ReturnType<typeof deferred<SegmentResult>>>();
    const tier = new RunTier(this.d.foreground, !!opts?.yields);
    const join = (i: number) => {
      const f = deferred<SegmentResult>();
      f.promise.catch(() => {}); // a read-ahead flight nobody joined may fail unobserved
      flights.set(i, f);
      this.segmentRuns.set(flightOf(p, i), f.promise);
      this.tiers.set(flightOf(p, i), tier);
    };
    join(p.index);
    const settle = (i: number, r: SegmentResult | Error) => {
      const f = flights.get(i);
      if (!f) return;
      flights.delete(i);
      this.segmentRuns.delete(flightOf(p, i));
      this.tiers.delete(flightOf(p, i));
      if (r instanceof Error) f.reject(r);
      else f.resolve(r);
    };
    const encoded = (i: number) =>
      settle(i, {
        key: segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, i),
        encoded: i === p.index,
        ms: performance.now() - started,
      });
    this.runSegment(p, key, join, encoded, tier, opts).then(
      (r) => {
        settle(p.index, r);
        for (const i of [...flights.keys()]) encoded(i);
      },
      (err: Error) => {
        for (const i of [...flights.keys()]) settle(i, err);
      },
    );
    return flights.get(p.index)!.promise;
  }

  /**
   * A player that asks for segment i of a rendition whose segment i-1 is neither stored nor being made has
   * just seeked (or switched level there). hls.js asks for the level it played, often the top one, and when
   * that segment has not arrived after half its duration with an empty buffer it abandons it and asks the
   * lowest level instead (its emergency switch-down). So segment i (and its read-ahead) of the cheapest
   * rendition is made first: when the player falls back to it, it is there; the requested run starts as
   * soon as that first segment is stored, and completes for when the player switches up again.
   */
  private async cheapestFirst(p: SegmentRequest, plan: VideoPlan, opts?: JitOptions): Promise<void> {
    const low = cheapest(plan);
    if (opts?.prefetch || p.index === 0 || !low || low === p.rendition) return;
    const before = { ...p, index: p.index - 1 };
    if (this.segmentRuns.has(flightOf(before, before.index))) return;
    const { storage } = this.d;
    if (await storage.head(segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, before.index)))
      return;
    await this.ensureSegment({ ...p, rendition: low }, undefined, { prefetch: true }).catch(() => undefined);
  }

  private async runSegment(
    p: SegmentRequest,
    key: string,
    join: (index: number) => void,
    encoded: (index: number) => void,
    tier: RunTier,
    opts?: JitOptions,
  ): Promise<SegmentResult> {
    const { storage } = this.d;
    const started = performance.now();
    const row = await this.d.videos.repo.find(p.tenantId, p.videoId);
    if (!row || (row.generation !== p.generation && row.published_generation !== p.generation))
      throw new AppError('not_found', 'no such video generation');
    const plan = planOf(row);
    if (plan.generation !== p.generation) throw new AppError('not_found', 'the generation was replaced');
    if (!plan.segments[p.index]) throw new AppError('not_found', `no segment ${p.index}`);
    if (await storage.head(key)) return { key, encoded: false, ms: performance.now() - started };
    // The run's own bound, whoever waits for it (see ensureSegment).
    const timeout = AbortSignal.timeout(JIT_RUN_TIMEOUT_MS);
    const sig = opts?.runSignal ? AbortSignal.any([timeout, opts.runSignal]) : timeout;
    if (p.rendition === AUDIO_RENDITION) {
      if (!plan.ladder.audio) throw new AppError('not_found', 'this video has no audio');
      await this.makeAudio(row, plan, sig);
    } else if (p.rendition === plan.passthrough?.rendition) {
      throw new AppError('not_found', 'the passthrough rendition has no such segment');
    } else {
      await this.cheapestFirst(p, plan, opts);
      const readAhead = opts?.readAhead ?? JIT_READ_AHEAD;
      const indices = [p.index];
      for (let i = p.index + 1; i <= p.index + readAhead && plan.segments[i]; i++) {
        if (await storage.head(segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, i))) break;
        if (this.segmentRuns.has(flightOf(p, i))) break; // checked right before it joins this run
        join(i);
        indices.push(i);
      }
      const encode = () => this.encodeSegments(row, plan, p.rendition, indices, sig, encoded, tier);
      // A yielding prefetch is bounded by its slot class (ProcessSlots), not by the players' bound: stopped
      // for a process step, it must not hold a place that step's own first segment waits for.
      if (opts?.yields) await encode();
      else
        await this.encodes(() => {
          // Counts the runs players asked for, as they start (a run answers its first segment before it ends).
          if (!opts?.prefetch) this.d.metrics?.jitEncodes.inc();
          return encode();
        });
    }
    return { key, encoded: true, ms: performance.now() - started };
  }
}

/** The encoded rendition that costs least to make (the lowest bitrate). */
function cheapest(plan: VideoPlan): string | undefined {
  return encodedRenditions(plan).sort((a, b) => a.videoBitrate - b.videoBitrate)[0]?.name;
}

const flightOf = (p: SegmentRequest, index: number) => `${p.generation}/${p.rendition}/${index}`;
