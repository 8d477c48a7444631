import { randomBytes } from 'node:crypto';
import { classify, decodeCheck, type MediaInfo, tryProbe } from '@vodcloud/media';
import type { VideosTable } from '../../../db/schema';
import { JOBS, type JobPayload } from '../../../jobs';
import { nowIso } from '../../../lib/time';
import type { JobContext } from '../../../ports/queue';
import { sealKey, watermarkKey } from '../../videos';
import { current, fairPriority, LIMITS, type PipelineDeps } from '../deps';
import { deletedMeanwhile, failsVideo } from '../failure';
import type { JitEncoder } from '../jit';
import { encodedRenditions, type VideoPlan } from '../plan-state';
import { firstVariant, writePlaylists } from '../playlist-writer';
import { storeWatermark } from '../watermark';
import { planGeneration, sourceFacts } from './plan';

/** The job's result when it stops early: the video went away, or it errored. */
type Early = { skipped: string } | { errored: string };

/** One run of the process step: its video, its job and its timings. */
interface Run {
  d: PipelineDeps;
  jit: JitEncoder;
  tenantId: string;
  videoId: string;
  row: VideosTable;
  ctx: JobContext;
  steps: Record<string, number>;
  lap(name: string): void;
}

interface Probed {
  input: string;
  info: MediaInfo;
  audioOnly: boolean;
  /** The decode check (see `probe`). */
  verify: () => ReturnType<typeof decodeCheck>;
}

/** 1. probe → validate → plan → publish the playlists → enqueue the chunk/audio/images flow. */
export function defineProcessStep(d: PipelineDeps, jit: JitEncoder): void {
  d.jobs.define('video.process', {
    // Foreground: the path to playable pauses yielding background work on this node (lib/foreground.ts).
    handler: failsVideo(d, JOBS['video.process'].attempts, (p, ctx) =>
      d.foreground ? d.foreground.run(() => processVideo(d, jit, p, ctx)) : processVideo(d, jit, p, ctx),
    ),
  });
}

async function processVideo(
  d: PipelineDeps,
  jit: JitEncoder,
  { tenantId, videoId, templateId }: JobPayload<'video.process'>,
  ctx: JobContext,
): Promise<Early | Record<string, unknown>> {
  const row = await current(d, tenantId, videoId);
  if (!row) return { skipped: 'deleted' };
  // Milliseconds from the job's start to each step (debug log and job result): the path to playable.
  const t0 = performance.now();
  const steps: Record<string, number> = {
    queued: row.upload_completed_at ? Date.now() - Date.parse(row.upload_completed_at) : -1,
  };
  const lap = (name: string) => {
    steps[name] = Math.round(performance.now() - t0);
  };
  const run: Run = { d, jit, tenantId, videoId, row, ctx, steps, lap };
  const probed = await probe(run);
  if ('errored' in probed) return probed;
  const planned = await plan(run, probed, templateId);
  if ('errored' in planned) return planned;
  const { plan: p, hlsKey } = planned;
  const stopped = (await fastPath(run, probed, p, hlsKey)) ?? (await becomePlayable(run, probed, p));
  if (stopped) return stopped;
  await enqueueFlow(run, p);
  return {
    generation: p.generation,
    chunks: p.chunks.length,
    renditions: p.ladder.renditions.map((r) => r.name),
    passthrough: p.passthrough?.rendition ?? null,
    audioCopy: p.audioCopy,
  };
}

/** Status `processing`, the source on this node, its probe, and the platform's verdict on it. */
async function probe(run: Run): Promise<Probed | { errored: string }> {
  const { d, tenantId, videoId, ctx, lap } = run;
  await d.videos.setStatus(tenantId, videoId, 'processing');
  lap('status');
  const input = await d.sources.local(tenantId, videoId, ctx.signal);
  lap('source');
  const info = await tryProbe(input, { timeoutMs: 60_000, signal: ctx.signal });
  lap('probe');
  const verdict = classify(info, LIMITS);
  if (!verdict.ok) {
    await d.videos.fail(tenantId, videoId, verdict.code, verdict.message);
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
      // Part of the process step (foreground work): never queued behind background encodes stopped for it.
      priority: 'interactive',
    });
  return { input, info, audioOnly: verdict.kind === 'audio_only', verify };
}

/** The new generation's plan and key, recorded on the row; the template's watermark stored beside it. */
async function plan(
  run: Run,
  probed: Probed,
  templateId: string | undefined,
): Promise<{ plan: VideoPlan; hlsKey: Buffer | undefined } | { errored: string }> {
  const { d, tenantId, videoId, row, ctx } = run;
  const template = await d.templates.getSpec(tenantId, templateId ?? row.template_id ?? undefined);
  const spec = template.spec;
  const p = planGeneration(spec, probed.info, {
    audioOnly: probed.audioOnly,
    passthrough: d.config.passthrough,
  });
  const hlsKey = spec.hls.encryption === 'aes-128' ? randomBytes(16) : undefined;
  await d.videos.repo.recordPlan(tenantId, videoId, {
    ...sourceFacts(probed.info, p),
    plan: p,
    hlsKey: hlsKey ? sealKey(hlsKey, d.box, videoId, p.generation) : null,
  });
  if (spec.watermark) {
    try {
      await storeWatermark(
        d,
        tenantId,
        spec.watermark,
        watermarkKey(tenantId, videoId, p.generation),
        ctx.signal,
      );
    } catch (err) {
      await d.videos.fail(
        tenantId,
        videoId,
        'internal',
        `the template's watermark could not be loaded: ${(err as Error).message}`,
      );
      return { errored: 'watermark' };
    }
  }
  return { plan: p, hlsKey };
}

/**
 * Fast path, before anything is encoded: the audio track (copied, or encoded once: ~1 % of the
 * duration), the passthrough rendition (remuxed) or else the first segment of the first variant; then
 * the playlists. On failure the decode check tells damaged media (the video errors) from other trouble.
 */
async function fastPath(
  run: Run,
  probed: Probed,
  plan: VideoPlan,
  hlsKey: Buffer | undefined,
): Promise<Early | undefined> {
  const { d, jit, tenantId, videoId, row, ctx, lap } = run;
  const { generation } = plan;
  const fresh = (await d.videos.repo.find(tenantId, videoId))!;
  const copyOrEncode = async () => {
    const want = { video: !!plan.passthrough, audio: !!(plan.ladder.audio && plan.audioCopy) };
    if (want.video || want.audio) {
      const copied = await jit.copyFast(fresh, plan, want, ctx.signal);
      lap('copy');
      if (plan.passthrough) {
        if (copied.video) plan.passthrough.segments = copied.video;
        else plan.passthrough = null;
      }
      if (want.audio && !copied.audio) plan.audioCopy = false;
      if (copied.audio) return;
    }
    if (plan.ladder.audio) {
      await jit.makeAudio(fresh, plan, ctx.signal);
      lap('audio');
    }
  };
  lap('planned');
  // Without a passthrough, the first variant is the smallest: its first segment is encoded meanwhile.
  const smallest = firstVariant({ ...plan, passthrough: null });
  const firstEncoded = () =>
    smallest
      ? jit
          .ensureSegment({ tenantId, videoId, generation, rendition: smallest, index: 0 }, ctx.signal, {
            readAhead: 0, // playable as soon as this one segment exists
            runSignal: ctx.signal,
          })
          .finally(() => lap('firstSegment'))
      : Promise.resolve();
  const early = plan.passthrough ? undefined : firstEncoded();
  early?.catch(() => undefined);
  try {
    await copyOrEncode();
    lap('fastPath');
    if (!plan.passthrough) plan.passthrough = null;
    await d.videos.repo.savePlan(tenantId, videoId, plan);
    await writePlaylists(d, tenantId, row.playback_id, videoId, plan, hlsKey !== undefined);
    // The passthrough copy failed after all: the smallest rendition's first segment is made now.
    if (early) await early;
    else if (firstVariant(plan) && firstVariant(plan) !== plan.passthrough?.rendition) await firstEncoded();
  } catch (err) {
    await early?.catch(() => undefined);
    if (await deletedMeanwhile(d, tenantId, videoId)) return { skipped: 'deleted' };
    if (ctx.signal.aborted) throw err;
    const checked = await probed.verify();
    if (!checked.ok) {
      await d.videos.fail(tenantId, videoId, checked.code, checked.message);
      return { errored: 'decode' };
    }
    throw err;
  }
  return undefined;
}

/** Playable now; the next segments are prefetched; then the decode check may still error the video. */
async function becomePlayable(run: Run, probed: Probed, plan: VideoPlan): Promise<Early | undefined> {
  const { d, jit, tenantId, videoId, lap, steps } = run;
  const { generation } = plan;
  const first = firstVariant(plan);
  if (await deletedMeanwhile(d, tenantId, videoId)) return { skipped: 'deleted' };
  lap('firstSegment');
  await markPlayable(d, tenantId, videoId, generation);
  lap('playable');
  d.log.debug({ videoId, steps }, 'video playable');
  // A player starting now has one segment buffered: the next ones are made before it asks for them
  // (a request for one of them joins this run). The run yields to the next upload's process step and to
  // segments players wait for until a request joins it (JitOptions.yields).
  if (first && first !== plan.passthrough?.rendition && plan.segments.length > 1)
    jit
      .ensureSegment({ tenantId, videoId, generation, rendition: first, index: 1 }, undefined, {
        prefetch: true,
        yields: true,
      })
      .then(() => deletedMeanwhile(d, tenantId, videoId))
      .catch((err) => d.log.warn({ err, videoId }, 'prefetching the first segments failed'));
  const checked = await probed.verify();
  lap('decodeCheck');
  if (!checked.ok) {
    await d.videos.repo.markUnplayable(tenantId, videoId);
    await d.videos.fail(tenantId, videoId, checked.code, checked.message);
    return { errored: 'decode' };
  }
  return undefined;
}

/** Playable from now on: the first segment of the first variant (and the audio) can be served. */
async function markPlayable(d: PipelineDeps, tenantId: string, videoId: string, generation: string) {
  const row = await d.videos.repo.find(tenantId, videoId);
  // A retranscode of a published video: it stays playable (its published generation) throughout.
  if (!row || row.generation !== generation || row.playable === 1) return;
  const at = nowIso();
  await d.videos.repo.markPlayable(tenantId, videoId, at);
  await d.events.emit(tenantId, 'video.playable', videoId, { id: videoId });
  if (row.upload_completed_at)
    d.metrics?.videoTimes.observe(
      { stage: 'playable' },
      (Date.parse(at) - Date.parse(row.upload_completed_at)) / 1000,
    );
}

/** The chunks and images as children of the publish job (fair priority per tenant). */
async function enqueueFlow(run: Run, plan: VideoPlan): Promise<void> {
  const { d, tenantId, videoId } = run;
  const { generation } = plan;
  const priority = await fairPriority(d, tenantId);
  const base = { tenantId, videoId, generation };
  const children = [
    ...(encodedRenditions(plan).length ? plan.chunks : []).map((_, k) =>
      d.jobs.node('video.chunk', { ...base, chunk: k }, { priority }),
    ),
    ...(plan.audioOnly ? [] : [d.jobs.node('video.images', base, { priority })]),
  ];
  const publish = d.jobs.node('video.publish', base, { priority });
  // Nothing left to encode (an audio-only source: its track was made above): publish at once.
  if (children.length === 0) await d.jobs.enqueue(publish.name, publish.payload, publish.opts);
  else await d.jobs.enqueueFlow(publish, children);
}
