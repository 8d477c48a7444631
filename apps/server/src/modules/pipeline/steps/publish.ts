import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { m4aArgs, makeStoryboard, mp4Args, runFfmpeg } from '@vodcloud/media';
import type { VideosTable } from '../../../db/schema';
import { JOBS } from '../../../jobs';
import { nowIso } from '../../../lib/time';
import type { JobContext } from '../../../ports/queue';
import {
  AUDIO_RENDITION,
  generationPrefix,
  hlsPrefix,
  imageKey,
  mp4Key,
  STORYBOARD_VTT,
  sealedKeyOf,
  segmentKeyRendition,
  storyboardSheetName,
  videoPrefix,
} from '../../videos';
import { current, type PipelineDeps, workDir } from '../deps';
import { failsVideo } from '../failure';
import { planOf, type VideoPlan } from '../plan-state';
import { writePlaylists } from '../playlist-writer';
import { fetchSegments } from '../segment-store';

/** 5. progressive MP4s, measured bandwidths, then one update publishes the generation. */
export function definePublishStep(d: PipelineDeps): void {
  d.jobs.define('video.publish', {
    handler: failsVideo(d, JOBS['video.publish'].attempts, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(d, tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      const dir = await workDir(d, videoId, generation, 'publish');
      try {
        const sizes = await measureSizes(d, row, plan);
        // The smallest rendition is fetched once: the storyboard is cut from it while the MP4s are remuxed.
        const smallest = plan.audioOnly ? undefined : smallestOf(plan);
        const small = smallest && {
          name: smallest.name,
          files: fetchSegments(d, row, plan, smallest.name, dir),
        };
        const [mp4s, storyboard] = await both(
          makeDownloads(d, row, plan, dir, ctx.signal, small),
          storyboardOf(d, row, plan, dir, ctx.signal, small),
        );
        // Measured average bandwidths replace the planned ones in the master playlist.
        await writePlaylists(
          d,
          tenantId,
          row.playback_id,
          videoId,
          plan,
          sealedKeyOf(row, generation) !== null,
          sizes,
        );
        // Every object of the generation is written now (segments, playlists, MP4s, images): its bytes.
        const outputBytes = await generationBytes(d, row, plan);
        await publishRow(d, row, plan, { mp4s, storyboard, outputBytes }, ctx);
        return { published: generation };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  });
}

/**
 * Bytes per rendition, for the measured bandwidths: they come from a listing; only the renditions that are
 * remuxed to MP4 or cut into the storyboard (and the audio they need) are fetched back to this node.
 */
async function measureSizes(d: PipelineDeps, row: VideosTable, plan: VideoPlan) {
  const sizes: Record<string, number> = {};
  for (let cursor: string | null | undefined; cursor !== null; ) {
    const page = await d.storage.list(`${hlsPrefix(row.tenant_id, row.id, plan.generation)}/`, { cursor });
    for (const item of page.items) {
      const rendition = segmentKeyRendition(item.key);
      if (rendition) sizes[rendition] = (sizes[rendition] ?? 0) + item.size;
    }
    cursor = page.nextCursor;
  }
  return sizes;
}

/** Bytes of every object under the generation's prefix (one listing). */
async function generationBytes(d: PipelineDeps, row: VideosTable, plan: VideoPlan): Promise<number> {
  let total = 0;
  for (let cursor: string | null | undefined; cursor !== null; ) {
    const page = await d.storage.list(`${generationPrefix(row.tenant_id, row.id, plan.generation)}/`, {
      cursor,
    });
    for (const item of page.items) total += item.size;
    cursor = page.nextCursor;
  }
  return total;
}

/**
 * The usage of a generation: the output's duration for each rendition of its ladder, the audio-only one
 * (`audio`) included when the video has sound.
 */
export function transcodeUsageOf(plan: VideoPlan): Array<{ rendition: string; seconds: number }> {
  const seconds = plan.durationSec;
  const names = plan.ladder.renditions.map((r) => r.name);
  if (plan.ladder.audio) names.push(AUDIO_RENDITION);
  return names.map((rendition) => ({ rendition, seconds }));
}

/** Both results; on a failure, the first error once neither runs any more (the work folder goes next). */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** The smallest rendition's segments, being fetched into the publish folder (the storyboard's source). */
type Fetching = { name: string; files: Promise<string[]> } | undefined;

/** The rendition the storyboard is cut from: the smallest. */
const smallestOf = (plan: VideoPlan) =>
  [...plan.ladder.renditions].sort((a, b) => a.width * a.height - b.width * b.height)[0];

/**
 * The progressive downloads, by stream copy of the stored segments: one MP4 per rendition the plan names,
 * `audio.m4a` for an audio-only video.
 */
async function makeDownloads(
  d: PipelineDeps,
  row: VideosTable,
  plan: VideoPlan,
  dir: string,
  signal: AbortSignal,
  small: Fetching,
): Promise<Record<string, string>> {
  const { tenant_id: tenantId, id: videoId } = row;
  const needsAudio = plan.audioOnly || plan.mp4.length > 0;
  const audioFiles =
    plan.ladder.audio && needsAudio ? await fetchSegments(d, row, plan, AUDIO_RENDITION, dir) : null;
  const audioList = audioFiles ? path.join(dir, 'audio.list') : null;
  if (audioList && audioFiles) await writeFile(audioList, audioFiles.join('\n'));
  const mp4s: Record<string, string> = {};
  const targets = plan.audioOnly
    ? []
    : plan.ladder.renditions.map((r) => r.name).filter((n) => plan.mp4.includes(n));
  for (const name of targets) {
    const files = name === small?.name ? await small.files : await fetchSegments(d, row, plan, name, dir);
    const listFile = path.join(dir, `${name}.list`);
    await writeFile(listFile, files.join('\n'));
    const out = path.join(dir, `${name}.mp4`);
    await runFfmpeg(
      mp4Args({ video: { listFile }, audio: audioList ? { listFile: audioList } : null, output: out }),
      {
        timeoutMs: Math.max(300_000, plan.durationSec * 5_000),
        signal,
      },
    );
    const key = mp4Key(tenantId, videoId, plan.generation, name);
    await d.storage.put(key, createReadStream(out), {
      contentType: 'video/mp4',
      contentLength: (await stat(out)).size,
    });
    mp4s[name] = key;
  }
  if (plan.audioOnly && audioList) {
    const out = path.join(dir, 'audio.m4a');
    await runFfmpeg(m4aArgs({ audio: { listFile: audioList }, output: out }), { timeoutMs: 300_000, signal });
    const key = mp4Key(tenantId, videoId, plan.generation, AUDIO_RENDITION);
    await d.storage.put(key, await readFile(out), { contentType: 'audio/mp4' });
    mp4s.audio = key;
  }
  return mp4s;
}

/**
 * The storyboard is cut from the smallest rendition, already encoded (fetched to this node meanwhile):
 * decoding a 360p stream costs a fraction of decoding the source a second time.
 */
async function storyboardOf(
  d: PipelineDeps,
  row: VideosTable,
  plan: VideoPlan,
  dir: string,
  signal: AbortSignal,
  small: Fetching,
): Promise<Record<string, unknown> | null> {
  if (!small) return null;
  const list = path.join(dir, `${small.name}.board.list`);
  await writeFile(list, (await small.files).join('\n'));
  const source = path.join(dir, 'storyboard-source.mp4');
  await runFfmpeg(mp4Args({ video: { listFile: list }, audio: null, output: source }), {
    timeoutMs: 300_000,
    signal,
  });
  const board = await makeStoryboard(source, {
    durationSec: plan.durationSec,
    format: 'jpeg',
    spriteUrl: (i: number) => storyboardSheetName(i),
    timeoutMs: 600_000,
    signal,
  });
  const key = (name: string) => imageKey(row.tenant_id, row.id, plan.generation, name);
  for (const [i, sheet] of board.sheets.entries())
    await d.storage.put(key(storyboardSheetName(i)), sheet, { contentType: 'image/jpeg' });
  await d.storage.put(key(STORYBOARD_VTT), board.vtt, { contentType: 'text/vtt' });
  return { vtt: STORYBOARD_VTT, sheets: board.sheets.length, tiles: board.count };
}

/** One update publishes the generation; then the events, the timings, and the previous generation goes. */
async function publishRow(
  d: PipelineDeps,
  row: VideosTable,
  plan: VideoPlan,
  made: { mp4s: Record<string, string>; storyboard: Record<string, unknown> | null; outputBytes: number },
  ctx: JobContext,
): Promise<void> {
  const { tenant_id: tenantId, id: videoId } = row;
  const { generation } = plan;
  const images = (await ctx.childResults()) as Record<string, { poster?: string; storyboard?: unknown }>;
  const imageResult = Object.values(images).find((r) => r && typeof r === 'object' && 'poster' in r) ?? null;
  const previous = row.published_generation;
  const at = nowIso();
  const renditions = JSON.parse(row.renditions) as Array<Record<string, unknown>>;
  const usage = await d.videos.repo.publishGeneration(tenantId, videoId, {
    generation,
    hlsKey: sealedKeyOf(row, generation),
    outputs: {
      prefix: generationPrefix(tenantId, videoId, generation),
      mp4: made.mp4s,
      images: { ...(imageResult ?? {}), storyboard: made.storyboard },
    },
    renditions: renditions.map((r) => ({ ...r, status: 'ready' })),
    playableAt: row.playable_at ?? at,
    at,
    outputBytes: made.outputBytes,
    usage: transcodeUsageOf(plan),
  });
  // Counted once per generation: a retried publish inserts no row and counts nothing.
  for (const u of usage) d.metrics?.transcodeUsage.inc({ rendition: u.rendition }, u.seconds);
  await d.videos.setStatus(tenantId, videoId, 'ready');
  const fresh = await d.videos.repo.find(tenantId, videoId);
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
  const stale = await olderGenerations(d, tenantId, videoId, generation, fresh?.generation).catch(
    () => [] as string[],
  );
  if (previous && previous !== generation && !stale.includes(previous)) stale.push(previous);
  for (const g of stale)
    await d.storage.deletePrefix(`${generationPrefix(tenantId, videoId, g)}/`).catch(() => undefined);
  await d.sources.drop(videoId).catch(() => undefined);
}

/** A generation id (a ULID): the first path segment of a generation's keys. */
const GENERATION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The video's generations older than the one just published, but the one being made (`making`): the
 * previously published one, and any that an earlier attempt of its processing planned and then
 * abandoned (a retried `video.process` plans a new generation; found by the chaos suite after a Redis
 * restart). Generation ids are ULIDs, so older sorts first: one planned after this (a retranscode begun
 * meanwhile) is never touched.
 */
async function olderGenerations(
  d: PipelineDeps,
  tenantId: string,
  videoId: string,
  generation: string,
  making: string | null | undefined,
): Promise<string[]> {
  const prefix = videoPrefix(tenantId, videoId);
  const found = new Set<string>();
  let cursor: string | null = null;
  do {
    const page = await d.storage.list(prefix, { cursor });
    for (const item of page.items) {
      const g = item.key.slice(prefix.length).split('/')[0]!;
      if (GENERATION_ID.test(g) && g < generation && g !== making) found.add(g);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return [...found];
}
