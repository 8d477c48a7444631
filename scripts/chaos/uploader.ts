// An uploader client of the chaos run: creates an upload through the api (retrying while it fails), then
// sends the bytes with tus-js-client in small, paced chunks so node kills land mid-upload. tus-js-client
// retries on its own; when it gives up, the upload is resumed from its URL on the next upload node (the
// platform keeps tus state in the bucket, so any upload node can resume any upload).
import * as tus from 'tus-js-client';
import { type Clip, sha256, uniqueCopy } from './clips';
import { type Recorder, type Rng, sleep, timedFetch } from './stats';

export interface UploadRecord {
  uploader: number;
  n: number;
  clip: string;
  size: number;
  sha256: string;
  videoId?: string;
  uploadId?: string;
  /** The tus URL of the upload, once known. */
  url?: string;
  /** Seconds since the start of the run. */
  startedAt: number;
  completedAt?: number;
  completed: boolean;
  /** POST /v1/uploads requests it took (more than one: earlier ones failed or went unanswered). */
  createAttempts: number;
  /** tus-js-client runs (the first, then one per resume after it gave up). */
  tusRuns: number;
  /** Resumes that moved to another upload node. */
  nodeSwitches: number;
  /** Why it did not complete (the last error), when it did not. */
  error?: string;
  /** Kept until verified, then dropped (with the credentials below). */
  data?: Buffer;
  endpoint?: string;
  headers?: Record<string, string>;
  chunkSize?: number;
}

export interface LoadContext {
  rec: Recorder;
  api: string;
  auth: Record<string, string>;
  tenantId: string;
  templateId: string;
  /** Every upload node's origin, for resuming elsewhere. */
  uploadOrigins: () => string[];
  uploads: UploadRecord[];
  /** True once the load should stop starting new work. */
  stopping: () => boolean;
  log: (line: string) => void;
}

export interface UploaderOptions {
  /** Bytes per second each uploader sends at most. */
  bytesPerSecond: number;
  /** Seconds between an uploader's uploads [lo, hi]. */
  thinkSeconds: [number, number];
  /** How long one upload may take in all before it counts as failed (ms). */
  boundMs: number;
}

const CHUNK_SIZES = [256 * 1024, 512 * 1024, 1024 * 1024];

/** POST /v1/uploads, retried on no answer, 5xx and 429 until `deadline`. */
async function createUpload(
  ctx: LoadContext,
  r: UploadRecord,
  deadline: number,
): Promise<{ id: string; videoId: string; url: string; headers: Record<string, string> } | undefined> {
  let wait = 500;
  while (Date.now() < deadline) {
    r.createAttempts++;
    const res = await timedFetch(ctx.rec, 'api', `${ctx.api}/v1/uploads`, {
      method: 'POST',
      headers: { ...ctx.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `chaos ${r.uploader}-${r.n}`, templateId: ctx.templateId }),
    });
    if (res?.status === 201) {
      try {
        return (await res.json()) as never;
      } catch {
        // the body broke off: try again
      }
    } else if (res && res.status < 500 && res.status !== 429) {
      r.error = `POST /v1/uploads answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return undefined;
    } else await res?.body?.cancel();
    await sleep(wait);
    wait = Math.min(wait * 2, 5000);
  }
  r.error ??= 'POST /v1/uploads kept failing';
  return undefined;
}

interface TusRun {
  ok: boolean;
  url?: string;
  status?: number;
  message?: string;
}

/** One tus-js-client run: from `endpoint` (creation) or resuming `uploadUrl`; resolves when it succeeds or gives up. */
function tusRun(
  ctx: LoadContext,
  data: Buffer,
  o: {
    endpoint: string;
    uploadUrl?: string;
    headers: Record<string, string>;
    chunkSize: number;
    bps: number;
  },
): Promise<TusRun> {
  return new Promise((resolve) => {
    const noAnswer = (err: tus.DetailedError) => {
      if (!err.originalResponse) ctx.rec.request('tus', undefined);
    };
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: o.endpoint,
      uploadUrl: o.uploadUrl,
      headers: o.headers,
      chunkSize: o.chunkSize,
      uploadSize: data.length,
      metadata: { filename: 'chaos.mp4', filetype: 'video/mp4' },
      retryDelays: [0, 500, 1000, 2000, 3000],
      storeFingerprintForResuming: false,
      onBeforeRequest: async (req) => {
        if (req.getMethod() === 'PATCH') await sleep((o.chunkSize / o.bps) * 1000);
      },
      onAfterResponse: (_req, res) => {
        ctx.rec.request('tus', res.getStatus());
      },
      onShouldRetry: (err) => {
        noAnswer(err);
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status >= 500 || status === 409 || status === 423 || status === 429;
      },
      onError: (err) => {
        const e = err as tus.DetailedError;
        noAnswer(e);
        resolve({
          ok: false,
          url: upload.url ?? undefined,
          status: e.originalResponse?.getStatus(),
          message: e.message,
        });
      },
      onSuccess: () => resolve({ ok: true, url: upload.url ?? undefined }),
    });
    upload.start();
  });
}

/** The same path on another upload node (any node can resume any upload). */
function onOrigin(url: string, origin: string): string {
  const u = new URL(url);
  return `${origin}${u.pathname}`;
}

/** Creates and sends one upload, resuming until it completes or its bound passes. */
export async function uploadOne(
  ctx: LoadContext,
  r: UploadRecord,
  data: Buffer,
  rng: Rng,
  o: UploaderOptions,
) {
  const deadline = Date.now() + o.boundMs;
  const created = await createUpload(ctx, r, deadline);
  if (!created) return;
  r.videoId = created.videoId;
  r.uploadId = created.id;
  r.endpoint = created.url;
  r.headers = created.headers;
  r.chunkSize = rng.pick(CHUNK_SIZES);
  await send(ctx, r, data, o.bytesPerSecond, deadline);
}

/**
 * Sends (or resumes) a created upload until it completes, a 4xx says it cannot, or `deadline` passes.
 * After the run's load stops, uploads left incomplete get one more go with this.
 */
export async function send(ctx: LoadContext, r: UploadRecord, data: Buffer, bps: number, deadline: number) {
  if (!r.endpoint || !r.headers || !r.videoId) return;
  const createdOn = new URL(r.endpoint).origin;
  let origin = r.url ? new URL(r.url).origin : createdOn;
  // If a creation POST went through unanswered the token is used up (409): the URL is the upload's id.
  const knownUrl = `${createdOn}/tus/${ctx.tenantId}.${r.videoId}`;
  let conflicts = 0;
  while (Date.now() < deadline) {
    r.tusRuns++;
    const res = await tusRun(ctx, data, {
      endpoint: r.endpoint,
      uploadUrl: r.url ? onOrigin(r.url, origin) : undefined,
      headers: r.headers,
      chunkSize: r.chunkSize ?? CHUNK_SIZES[0]!,
      bps,
    });
    if (res.url) r.url = res.url;
    if (res.ok) {
      r.completed = true;
      r.completedAt = (Date.now() - ctx.rec.t0) / 1000;
      r.error = undefined;
      return;
    }
    r.error = `tus: ${res.status ?? 'no answer'} ${res.message?.split('\n')[0] ?? ''}`.trim();
    // A spent token and no upload at its URL, run after run: nothing left to resume (lost).
    if (res.status === 409 && ++conflicts >= 3) return;
    if (res.status === 409 && !r.url) r.url = knownUrl;
    else if (res.status && res.status >= 400 && res.status < 500 && ![409, 423, 429].includes(res.status))
      return;
    const origins = ctx.uploadOrigins();
    const next = origins[(origins.indexOf(origin) + 1) % origins.length] ?? origin;
    if (next !== origin) r.nodeSwitches++;
    origin = next;
    await sleep(1000);
  }
}

/** One uploader: uploads distinct clips one after another until the load stops. */
export async function uploaderLoop(
  ctx: LoadContext,
  id: number,
  clips: Clip[],
  rng: Rng,
  o: UploaderOptions,
) {
  for (let n = 1; !ctx.stopping(); n++) {
    const clip = rng.pick(clips);
    const data = uniqueCopy(clip, `vodcloud chaos uploader ${id} upload ${n}`, rng);
    const r: UploadRecord = {
      uploader: id,
      n,
      clip: clip.name,
      size: data.length,
      sha256: sha256(data),
      startedAt: (Date.now() - ctx.rec.t0) / 1000,
      completed: false,
      createAttempts: 0,
      tusRuns: 0,
      nodeSwitches: 0,
      data,
    };
    ctx.uploads.push(r);
    try {
      await uploadOne(ctx, r, data, rng, o);
    } catch (err) {
      r.error = `client: ${(err as Error).message}`;
    }
    if (r.completed) r.data = undefined;
    else ctx.log(`upload ${id}-${n} (video ${r.videoId ?? '-'}) not completed: ${r.error}`);
    const think = rng.between(o.thinkSeconds[0], o.thinkSeconds[1]) * 1000;
    const until = Date.now() + think;
    while (!ctx.stopping() && Date.now() < until) await sleep(Math.min(1000, until - Date.now()));
  }
}
