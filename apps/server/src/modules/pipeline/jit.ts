import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { audioArgs, chunkArgs, copyArgs, runFfmpeg } from '@vodcloud/media';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { type Limiter, limiter } from '../../lib/limiter';
import { AUDIO_RENDITION, segmentKey } from '../videos';
import { type PipelineDeps, workDir } from './deps';
import { planOf, type VideoPlan } from './plan-state';
import { storeSegments } from './segment-store';
import { watermarkFor } from './watermark';

/** Segments a just-in-time encode makes after the requested one (see ensureSegment). */
const JIT_READ_AHEAD = 2;
/** Just-in-time encodes that may wait for one of the VOD_JIT_MAX_CONCURRENT; beyond, 503 + Retry-After. */
const JIT_MAX_WAITING = 16;

export interface SegmentRequest {
  tenantId: string;
  videoId: string;
  generation: string;
  rendition: string;
  index: number;
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
  private readonly segmentRuns = new Map<string, Promise<SegmentResult>>();
  /** Encodes players asked for, bounded per worker whatever players ask (VOD_JIT_MAX_CONCURRENT). */
  private readonly encodes: Limiter;

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
        { timeoutMs: Math.max(300_000, plan.durationSec * 10_000), signal },
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
      const exitForeground = this.d.foreground?.enter();
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
        { timeoutMs: 120_000 * indices.length, signal, priority: 'interactive' },
      ).finally(() => exitForeground?.());
      // The background chunk may have stored some meanwhile: what was stored first stays.
      await storeSegments(this.d, row, plan, r.name, indices, dir, true);
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
   * and encoder warm-up per segment). Requests for those join the run.
   */
  ensureSegment(
    p: SegmentRequest,
    signal?: AbortSignal,
    opts?: { readAhead?: number; prefetch?: boolean },
  ): Promise<SegmentResult> {
    const flight = flightOf(p, p.index);
    const running = this.segmentRuns.get(flight);
    const requested = segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, p.index);
    // (A run started for an earlier segment may hold this one as read-ahead.)
    if (running) return running.then((r) => ({ ...r, key: requested, encoded: false }));
    const flights = [flight];
    const job: Promise<SegmentResult> = this.runSegment(
      p,
      requested,
      flights,
      () => job,
      signal,
      opts,
    ).finally(() => {
      for (const f of flights) this.segmentRuns.delete(f);
    });
    this.segmentRuns.set(flight, job);
    return job;
  }

  private async runSegment(
    p: SegmentRequest,
    key: string,
    flights: string[],
    self: () => Promise<SegmentResult>,
    signal?: AbortSignal,
    opts?: { readAhead?: number; prefetch?: boolean },
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
    const sig = signal ?? AbortSignal.timeout(120_000);
    if (p.rendition === AUDIO_RENDITION) {
      if (!plan.ladder.audio) throw new AppError('not_found', 'this video has no audio');
      await this.makeAudio(row, plan, sig);
    } else if (p.rendition === plan.passthrough?.rendition) {
      throw new AppError('not_found', 'the passthrough rendition has no such segment');
    } else {
      const readAhead = opts?.readAhead ?? JIT_READ_AHEAD;
      const indices = [p.index];
      for (let i = p.index + 1; i <= p.index + readAhead && plan.segments[i]; i++) {
        if (await storage.head(segmentKey(p.tenantId, p.videoId, p.generation, p.rendition, i))) break;
        if (this.segmentRuns.has(flightOf(p, i))) break; // checked right before it joins this run
        this.segmentRuns.set(flightOf(p, i), self());
        flights.push(flightOf(p, i));
        indices.push(i);
      }
      await this.encodes(() => this.encodeSegments(row, plan, p.rendition, indices, sig));
      if (!opts?.prefetch) this.d.metrics?.jitEncodes.inc(); // counts what players asked for
    }
    return { key, encoded: true, ms: performance.now() - started };
  }
}

const flightOf = (p: SegmentRequest, index: number) => `${p.generation}/${p.rendition}/${index}`;
