// The end of a chaos run: wait (bounded) for every video to leave processing, then check what the run
// promised — sources byte-exact, videos ready, nothing lost, no orphan object, no job whose effect shows
// twice, no job left behind.
import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { sleep, timedFetch } from './stats';
import type { LoadContext } from './uploader';
import type { Receiver } from './webhooks';

/**
 * States a video passes through on its way to `ready`. `waiting_upload`/`uploading` count for an upload
 * the client saw complete: a completion cut off in its hook (e.g. the queue unreachable) is finished by the
 * platform's upload sweep (`uploads.sweep`, after a minute), so the drain waits for it too.
 */
const PROCESSING = ['waiting_upload', 'uploading', 'queued', 'processing'];

export interface VideoState {
  status: string;
  error?: { code: string; message: string } | null;
  timings?: { toReadySec: number | null };
}

/** GET /v1/videos/{id} of every video of a created upload, until none is processing or `boundMs` passes. */
export async function drain(ctx: LoadContext, boundMs: number): Promise<Map<string, VideoState>> {
  const states = new Map<string, VideoState>();
  const deadline = Date.now() + boundMs;
  const ids = ctx.uploads.filter((u) => u.videoId && u.completed).map((u) => u.videoId!);
  let last = 0;
  for (;;) {
    for (const id of ids) {
      const prev = states.get(id);
      if (prev && !PROCESSING.includes(prev.status) && prev.status !== 'unknown') continue;
      const res = await timedFetch(ctx.rec, 'verify', `${ctx.api}/v1/videos/${id}`, { headers: ctx.auth });
      if (res?.status === 200) states.set(id, (await res.json()) as VideoState);
      else {
        await res?.body?.cancel();
        states.set(id, { status: 'unknown' });
      }
    }
    const busy = [...states.values()].filter((s) => PROCESSING.includes(s.status) || s.status === 'unknown');
    if (!busy.length || Date.now() > deadline) return states;
    if (Date.now() - last > 15_000) {
      ctx.log(`drain: ${busy.length} of ${ids.length} videos still processing`);
      last = Date.now();
    }
    await sleep(2000);
  }
}

/** sha256 of GET /v1/videos/{id}/source, or the status it answered. */
async function sourceSha(ctx: LoadContext, videoId: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await timedFetch(ctx.rec, 'verify', `${ctx.api}/v1/videos/${videoId}/source`, {
      headers: ctx.auth,
    });
    if (res?.status === 200 && res.body) {
      const h = createHash('sha256');
      try {
        const reader = res.body.getReader();
        for (let c = await reader.read(); !c.done; c = await reader.read()) h.update(c.value);
        return h.digest('hex');
      } catch {
        // broke off: again
      }
    } else if (res && res.status < 500) return `status ${res.status}`;
    await sleep(1000);
  }
  return 'no answer';
}

export interface UploadFigures {
  attempted: number;
  /** POST /v1/uploads never succeeded (no video was made for it). */
  notCreated: number;
  completed: number;
  byteExact: number;
  /** Completed, but the stored source differs or is missing. */
  mismatched: { videoId: string; got: string }[];
  /** Created but not completed, even after a last resume when the load stopped. */
  lost: { videoId: string; error?: string }[];
  resumedOnAnotherNode: number;
}

export async function checkUploads(ctx: LoadContext): Promise<UploadFigures> {
  const f: UploadFigures = {
    attempted: ctx.uploads.length,
    notCreated: 0,
    completed: 0,
    byteExact: 0,
    mismatched: [],
    lost: [],
    resumedOnAnotherNode: 0,
  };
  for (const u of ctx.uploads) {
    if (u.nodeSwitches) f.resumedOnAnotherNode++;
    if (!u.videoId) f.notCreated++;
    else if (!u.completed) f.lost.push({ videoId: u.videoId, error: u.error });
    else {
      f.completed++;
      const got = await sourceSha(ctx, u.videoId);
      if (got === u.sha256) f.byteExact++;
      else f.mismatched.push({ videoId: u.videoId, got });
    }
  }
  return f;
}

export interface VideoFigures {
  ready: number;
  /** Completed uploads whose video is not ready and not errored. */
  stuck: { videoId: string; status: string }[];
  errored: { videoId: string; code?: string; message?: string }[];
  /** Videos of the tenant no upload record knows (e.g. made by a retried POST whose answer was lost). */
  unknown: { videoId: string; status: string }[];
  /** Seconds from the upload's completion to ready, over the ready videos. */
  toReadySeconds: { p50: number; max: number } | null;
}

export async function checkVideos(ctx: LoadContext, states: Map<string, VideoState>): Promise<VideoFigures> {
  const f: VideoFigures = { ready: 0, stuck: [], errored: [], unknown: [], toReadySeconds: null };
  const toReady: number[] = [];
  for (const u of ctx.uploads) {
    if (!u.videoId || !u.completed) continue;
    const s = states.get(u.videoId) ?? { status: 'unknown' };
    if (s.status === 'ready') {
      f.ready++;
      if (typeof s.timings?.toReadySec === 'number') toReady.push(s.timings.toReadySec);
    } else if (s.status === 'errored')
      f.errored.push({ videoId: u.videoId, code: s.error?.code, message: s.error?.message });
    else f.stuck.push({ videoId: u.videoId, status: s.status });
  }
  toReady.sort((a, b) => a - b);
  if (toReady.length)
    f.toReadySeconds = { p50: toReady[Math.floor((toReady.length - 1) / 2)]!, max: toReady.at(-1)! };
  const known = new Set(ctx.uploads.map((u) => u.videoId));
  let cursor: string | null = null;
  do {
    const q: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await timedFetch(ctx.rec, 'verify', `${ctx.api}/v1/videos?${q}`, { headers: ctx.auth });
    if (res?.status !== 200) break;
    const page = (await res.json()) as { data: { id: string; status: string }[]; nextCursor: string | null };
    for (const v of page.data) if (!known.has(v.id)) f.unknown.push({ videoId: v.id, status: v.status });
    cursor = page.nextCursor;
  } while (cursor);
  return f;
}

export interface StoreSettings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

export interface OrphanFigures {
  objects: number;
  orphans: { key: string; why: string }[];
  /** S3 multipart uploads still open for uploads that completed (their parts take space). */
  openMultipart: { key: string; why: string }[];
}

interface VideoRow {
  id: string;
  tenant_id: string;
  status: string;
  generation: string | null;
  published_generation: string | null;
}

/**
 * Every object must belong to a video the database knows, under its tenant, and be one of (layout.ts):
 * `source`; the tus upload's state `source.info`, and `source.part` only while the upload is not complete;
 * `snapshots/…`; or anything under the video's current `generation` or its `published_generation`.
 */
export function orphanReason(
  key: string,
  videos: Map<string, VideoRow>,
  uploadDone: Set<string>,
): string | undefined {
  const m = /^([^/]+)\/([^/]+)\/(.+)$/.exec(key);
  if (!m) return 'not under a {tenant}/{video}/ prefix';
  const [, tenant, video, rest] = m as unknown as [string, string, string, string];
  const v = videos.get(video);
  if (!v || v.tenant_id !== tenant) return 'no such video in the database';
  if (rest === 'source' || rest === 'source.info' || rest.startsWith('snapshots/')) return undefined;
  if (rest === 'source.part')
    return uploadDone.has(video) ? 'incomplete part of a completed upload' : undefined;
  const gen = rest.split('/')[0]!;
  if (gen === v.generation || gen === v.published_generation) return undefined;
  return `generation ${gen} is neither the current (${v.generation}) nor the published (${v.published_generation}) one`;
}

export async function checkOrphans(mysqlDbUrl: string, s: StoreSettings): Promise<OrphanFigures> {
  const conn = await createConnection(mysqlDbUrl);
  const videos = new Map<string, VideoRow>();
  const uploadDone = new Set<string>();
  try {
    const [rows] = await conn.query(
      'SELECT id, tenant_id, status, generation, published_generation FROM videos',
    );
    for (const r of rows as VideoRow[]) videos.set(r.id, r);
    const [ups] = await conn.query("SELECT video_id FROM uploads WHERE status = 'complete'");
    for (const u of ups as { video_id: string }[]) uploadDone.add(u.video_id);
  } finally {
    await conn.end();
  }
  const s3 = new S3Client({
    endpoint: s.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
  });
  const f: OrphanFigures = { objects: 0, orphans: [], openMultipart: [] };
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: s.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        f.objects++;
        const why = orphanReason(o.Key!, videos, uploadDone);
        if (why) f.orphans.push({ key: o.Key!, why });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await s3.send(
        new ListMultipartUploadsCommand({ Bucket: s.bucket, KeyMarker: keyMarker, UploadIdMarker: idMarker }),
      );
      for (const u of page.Uploads ?? []) {
        const video = /^[^/]+\/([^/]+)\/source$/.exec(u.Key ?? '')?.[1];
        const at = `initiated ${u.Initiated?.toISOString()}, upload id ${u.UploadId}`;
        if (!video || !videos.has(video)) f.openMultipart.push({ key: u.Key!, why: `no such video; ${at}` });
        else if (uploadDone.has(video)) f.openMultipart.push({ key: u.Key!, why: `upload completed; ${at}` });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  } finally {
    s3.destroy();
  }
  return f;
}

export interface JobFigures {
  /** Videos with more than one distinct event id of one type (webhook receiver). */
  duplicateDeliveries: { videoId: string; type: string; ids: number }[];
  /** Videos with more than one row of one event type in the events table. */
  duplicateEvents: { videoId: string; type: string; count: number }[];
  /** Ready videos whose `video.ready` never reached the receiver. */
  readyNotDelivered: string[];
  /** BullMQ jobs at the end, by state, over the cpu, io and fast queues. */
  queue: Record<string, number>;
  failedJobs: { queue: string; name: string; reason: string }[];
}

export async function checkJobs(
  ctx: LoadContext,
  o: { mysqlDbUrl: string; redisUrl: string; prefix: string; receiver: Receiver; readyIds: string[] },
): Promise<JobFigures> {
  const f: JobFigures = {
    duplicateDeliveries: [],
    duplicateEvents: [],
    readyNotDelivered: [],
    queue: {},
    failedJobs: [],
  };
  for (const [videoId, byType] of o.receiver.events)
    for (const [type, ids] of byType)
      if (ids.size > 1) f.duplicateDeliveries.push({ videoId, type, ids: ids.size });
  f.readyNotDelivered = o.readyIds.filter((id) => !o.receiver.events.get(id)?.get('video.ready')?.size);
  const conn = await createConnection(o.mysqlDbUrl);
  try {
    const [rows] = await conn.query(
      'SELECT video_id, type, COUNT(*) AS n FROM events WHERE video_id IS NOT NULL ' +
        "AND type IN ('upload.completed', 'video.playable', 'video.ready', 'video.errored') " +
        'GROUP BY video_id, type HAVING COUNT(*) > 1',
    );
    for (const r of rows as { video_id: string; type: string; n: number }[])
      f.duplicateEvents.push({ videoId: r.video_id, type: r.type, count: Number(r.n) });
  } finally {
    await conn.end();
  }
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    for (const name of ['cpu', 'io', 'fast']) {
      const q = new Queue(name, { connection: redis, prefix: o.prefix });
      const counts = await q.getJobCounts(
        'wait',
        'active',
        'delayed',
        'prioritized',
        'waiting-children',
        'failed',
      );
      for (const [state, n] of Object.entries(counts)) f.queue[state] = (f.queue[state] ?? 0) + n;
      for (const j of await q.getFailed(0, 100))
        f.failedJobs.push({ queue: name, name: j.name, reason: String(j.failedReason).slice(0, 200) });
      await q.close();
    }
  } finally {
    redis.disconnect();
  }
  ctx.log(`jobs: ${JSON.stringify(f.queue)}`);
  return f;
}
