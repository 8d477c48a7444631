/**
 * @vodcloud/upload: resumable uploads to vodcloud over tus 1.0, in browsers and Node.
 *
 * tus-js-client brings its own browser and Node builds (package.json "browser" field); the few
 * platform-specific bits here (paths, fs streams, the file-based URL store) live in `#platform`, which
 * resolves to platform.browser.ts under the "browser" condition and to platform.node.ts otherwise.
 */

import {
  DetailedError,
  type HttpRequest,
  type HttpResponse,
  type PreviousUpload,
  Upload as TusUpload,
  type UrlStorage,
} from 'tus-js-client';
import {
  platform as currentPlatform,
  DEFAULT_STORE_PATH as defaultStorePath,
  defaultUrlStorage,
  fileReader,
  fingerprint as platformFingerprint,
  prepareSource,
} from '#platform';
import type {
  ApiKeyOptions,
  CreatedUpload,
  PreparedSource,
  UploadEvents,
  UploadFile,
  UploadOptions,
  UploadResult,
  UploadState,
  VideoFields,
  VodUpload,
} from './types.js';

export type { PreviousUpload, UrlStorage } from 'tus-js-client';
export type * from './types.js';

/** Which build is running: `browser` (bundlers' "browser" condition) or `node`. */
export const platform: 'browser' | 'node' = currentPlatform;
/** Node: the default file of remembered uploads ($VODCLOUD_UPLOAD_STORE or ~/.vodcloud/uploads.json); browsers: undefined (localStorage). */
export const DEFAULT_STORE_PATH: () => string | undefined = defaultStorePath;

/** 50 MiB: big enough to be efficient, under the 100 MiB request-body limit of common proxies. */
export const DEFAULT_CHUNK_SIZE = 50 * 1024 * 1024;
export const DEFAULT_RETRY_DELAYS: readonly number[] = [0, 1000, 3000, 5000, 10_000, 20_000];

export type VodUploadErrorCode = 'aborted' | 'http' | 'network' | 'invalid';

export class VodUploadError extends Error {
  override name = 'VodUploadError';
  constructor(
    message: string,
    readonly code: VodUploadErrorCode,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    if (code === 'aborted') this.name = 'AbortError';
  }
}

/** Starts nothing: call `start()` (or `done()`) on the returned object. */
export function createUpload(file: UploadFile, options: UploadOptions): VodUpload {
  return new VodUploadImpl(file, options);
}

/* ------------------------------------------------------------------------------------------------ */

/** The credentials and ids of one server-side upload. */
interface Session {
  endpoint: string;
  headers: Record<string, string>;
  uploadId: string | null;
  videoId: string | null;
}

/** What we keep next to tus' own record in the URL store, to resume with the right credentials. */
interface StoredSession extends Session {
  v: 1;
  /** The API base or endpoint the upload belongs to. */
  scope: string;
}

type StoredUpload = PreviousUpload & { vodcloud?: StoredSession };

/** Wraps the URL store: every record tus saves carries the session alongside (token and ids). */
class SessionUrlStorage implements UrlStorage {
  /** The key of the record tus saved for this upload, if any. */
  key: string | null = null;
  constructor(
    readonly inner: UrlStorage,
    private readonly extra: () => StoredSession,
  ) {}
  findAllUploads() {
    return this.inner.findAllUploads();
  }
  findUploadsByFingerprint(fingerprint: string) {
    return this.inner.findUploadsByFingerprint(fingerprint);
  }
  removeUpload(key: string) {
    if (key === this.key) this.key = null;
    return this.inner.removeUpload(key);
  }
  async addUpload(fingerprint: string, upload: PreviousUpload) {
    const record: StoredUpload = { ...upload, vodcloud: this.extra() };
    this.key = await this.inner.addUpload(fingerprint, record);
    return this.key;
  }
}

/** The default of tus-js-client (not exported by it): retry unless a 4xx other than 409/423, and not offline. */
function tusShouldRetry(err: Error): boolean {
  const status = err instanceof DetailedError ? (err.originalResponse?.getStatus() ?? 0) : 0;
  const clientError = status >= 400 && status < 500 && status !== 409 && status !== 423;
  const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
  return !clientError && !offline;
}

/** Bytes per second over a sliding window of a few seconds. */
class RateMeter {
  private samples: Array<[at: number, bytes: number]> = [];
  constructor(private readonly windowMs = 5000) {}
  reset() {
    this.samples = [];
  }
  sample(bytes: number, total: number): { rate: number; eta: number | null } {
    const now = Date.now();
    const last = this.samples.at(-1);
    if (last && bytes < last[1]) this.samples = []; // went back (a retried chunk): measure afresh
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > this.windowMs) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    const dt = (now - t0) / 1000;
    const rate = dt >= 0.1 ? (bytes - b0) / dt : 0;
    const eta = bytes >= total ? 0 : rate > 0 ? (total - bytes) / rate : null;
    return { rate, eta };
  }
}

class Emitter<E> {
  private readonly listeners = new Map<keyof E, Set<(payload: never) => void>>();
  on<K extends keyof E>(event: K, fn: (payload: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as (payload: never) => void);
    return () => this.off(event, fn);
  }
  off<K extends keyof E>(event: K, fn: (payload: E[K]) => void): void {
    this.listeners.get(event)?.delete(fn as (payload: never) => void);
  }
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        (fn as (p: E[K]) => void)(payload);
      } catch (err) {
        // A listener's bug must not break the upload's state machine; report it like an EventTarget does.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

const VIDEO_FIELDS = [
  'title',
  'description',
  'categoryId',
  'tags',
  'templateId',
  'playbackPolicy',
  'meta',
  'passthrough',
  'maxSizeBytes',
  'expiresIn',
] as const satisfies ReadonlyArray<keyof VideoFields | 'maxSizeBytes' | 'expiresIn'>;

const trimSlash = (s: string) => s.replace(/\/+$/, '');
/** Upload URLs end in `<tenantId>.<videoId>`. */
const videoIdFromUrl = (url: string) => /\.([0-9A-HJKMNP-TV-Z]{26})\/?$/.exec(url)?.[1] ?? null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A random UUID: crypto.randomUUID where it exists (Node, secure browser contexts), else getRandomValues. */
function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const h = [...c.getRandomValues(new Uint8Array(16))].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20)}`;
}

type Mode = 'api' | 'created' | 'endpoint';

class VodUploadImpl implements VodUpload {
  readonly promise: Promise<UploadResult>;
  private resolvePromise!: (r: UploadResult) => void;
  private rejectPromise!: (e: Error) => void;
  private readonly events = new Emitter<UploadEvents>();
  private readonly meter = new RateMeter();
  private readonly mode: Mode;
  /** The API base (api mode) or the tus endpoint: what stored uploads are scoped to. */
  private readonly scope: string;
  private readonly chunkSize: number;
  private readonly retryDelays: number[] | null;
  private _state: UploadState = 'idle';
  private tus: TusUpload | null = null;
  private storage: SessionUrlStorage | null = null;
  private source: PreparedSource | null = null;
  /** The upload tus is talking to (its URL's credentials). */
  private session: Session | null = null;
  /** The credentials a new upload is created with (tus POST). */
  private fresh: Session | null = null;
  private resumedFrom: StoredUpload | null = null;

  constructor(
    private readonly file: UploadFile,
    private readonly options: UploadOptions,
  ) {
    if ('apiKey' in options) {
      if (!options.apiBase || !options.apiKey) throw new TypeError('apiBase and apiKey are required');
      this.mode = 'api';
      this.scope = trimSlash(options.apiBase);
    } else if ('upload' in options) {
      if (!options.upload?.url) throw new TypeError('upload must be a POST /v1/uploads response');
      this.mode = 'created';
      this.scope = options.upload.url;
      this.fresh = {
        endpoint: options.upload.url,
        headers: { ...options.upload.headers },
        uploadId: options.upload.id,
        videoId: options.upload.videoId,
      };
    } else {
      if (!options.endpoint) throw new TypeError('give {endpoint, headers}, {upload} or {apiBase, apiKey}');
      this.mode = 'endpoint';
      this.scope = options.endpoint;
      this.fresh = {
        endpoint: options.endpoint,
        headers: { ...options.headers },
        uploadId: null,
        videoId: null,
      };
    }
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1)
      throw new TypeError('chunkSize must be a positive integer');
    this.retryDelays =
      options.retryDelays === null ? null : [...(options.retryDelays ?? DEFAULT_RETRY_DELAYS)];
    this.promise = new Promise<UploadResult>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    // Nobody may ever await the promise (e.g. after abort()): do not let that be an unhandled rejection.
    this.promise.catch(() => {});
  }

  get state() {
    return this._state;
  }

  get url() {
    return this.tus?.url ?? null;
  }

  on<K extends keyof UploadEvents>(event: K, fn: (payload: UploadEvents[K]) => void) {
    return this.events.on(event, fn);
  }

  off<K extends keyof UploadEvents>(event: K, fn: (payload: UploadEvents[K]) => void) {
    this.events.off(event, fn);
  }

  start() {
    if (this._state === 'idle') {
      this._state = 'preparing';
      this.prepare().catch((err) => this.fail(err));
    } else if (this._state === 'paused') {
      this.resume();
    }
    return this.promise;
  }

  done() {
    if (this._state === 'idle') this.start();
    return this.promise;
  }

  pause() {
    if (this._state === 'preparing') {
      this._state = 'paused'; // prepare() sets tus up and stops there
    } else if (this._state === 'uploading') {
      this._state = 'paused';
      void this.tus?.abort(false); // keeps the upload on the server and in the store
    }
  }

  resume() {
    if (this._state === 'idle') {
      this.start();
      return;
    }
    if (this._state !== 'paused') return;
    if (!this.tus) {
      this._state = 'preparing'; // still preparing: it starts tus when ready
      return;
    }
    this._state = 'uploading';
    this.meter.reset();
    this.tus.start(); // HEADs the upload URL for the offset and continues
  }

  async abort() {
    if (this._state === 'complete' || this._state === 'failed' || this._state === 'aborted') return;
    this._state = 'aborted';
    try {
      await this.tus?.abort(false).catch(() => {});
      await this.forget();
      await this.cancelOnServer();
    } finally {
      this.rejectPromise(new VodUploadError('The upload was aborted', 'aborted'));
    }
  }

  /* -------------------------------------------------------------------------------------------- */

  private async prepare() {
    const src = await prepareSource(this.file);
    this.source = src;
    const o = this.options;
    if (o.urlStorage !== false) {
      const inner = o.urlStorage ?? defaultUrlStorage(o.storePath);
      this.storage = new SessionUrlStorage(inner, () => ({ v: 1, scope: this.scope, ...this.session! }));
    }
    const fingerprint = this.storage ? await this.fingerprint(src.source) : null;
    const previous = fingerprint ? await this.findPrevious(fingerprint) : null;
    if (previous === 'done' || this.stopped()) return;

    if (previous) {
      this.resumedFrom = previous;
      this.session = { ...previous.vodcloud! };
      this.events.emit('resumed', {
        url: previous.uploadUrl!,
        videoId: this.session.videoId ?? videoIdFromUrl(previous.uploadUrl!),
        uploadId: this.session.uploadId,
      });
    } else {
      if (this.mode === 'api') this.fresh = await this.createServerUpload(src);
      this.session = this.fresh;
      if (this.stopped()) {
        await this.cancelOnServer();
        return;
      }
    }
    this.tus = this.makeTus(src);
    if (previous) this.tus.resumeFromPreviousUpload(previous);
    this.begin();
  }

  /** Hands over to tus unless paused or aborted meanwhile. */
  private begin() {
    if (this._state !== 'preparing') return;
    this._state = 'uploading';
    this.tus!.start();
  }

  private stopped() {
    return this._state === 'aborted';
  }

  private fingerprint(source: unknown): Promise<string | null> {
    // Scoped to the API or endpoint rather than to the per-upload creation URL.
    return platformFingerprint(source, this.scope).then((fp) => (fp ? `vodcloud::${fp}` : null));
  }

  /** A stored upload of this file to continue: 'done' when it turned out complete already. */
  private async findPrevious(fingerprint: string): Promise<StoredUpload | 'done' | null> {
    const storage = this.storage!;
    const found = (await storage.findUploadsByFingerprint(fingerprint)) as StoredUpload[];
    const candidates = found
      .filter((u) => u.uploadUrl && u.vodcloud?.v === 1 && u.vodcloud.scope === this.scope)
      .sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
    for (const c of candidates) {
      const s = c.vodcloud!;
      if (this.mode !== 'api' || !s.uploadId) return c; // tus' HEAD decides; on a 4xx it starts anew
      const res = await this.api('GET', `/v1/uploads/${s.uploadId}`);
      const body = res.ok ? ((await res.json()) as { status: string; size: number | null }) : null;
      if (!res.ok && res.status !== 404 && res.status !== 410) throw await httpError(res, 'GET /v1/uploads');
      if (body && (body.status === 'waiting' || body.status === 'uploading')) return c;
      await storage.removeUpload(c.urlStorageKey).catch(() => {});
      if (body?.status === 'complete') {
        // The last run finished the upload but did not get to forget it: that is our result.
        const size = body.size ?? this.source?.size ?? 0;
        this.progress(size, size);
        this.succeed({
          videoId: s.videoId ?? videoIdFromUrl(c.uploadUrl!)!,
          uploadId: s.uploadId,
          url: c.uploadUrl!,
        });
        return 'done';
      }
      // expired, cancelled or gone: forget it and look further
    }
    return null;
  }

  private async createServerUpload(src: PreparedSource): Promise<Session> {
    const o = this.options as ApiKeyOptions;
    const body: Record<string, unknown> = {};
    for (const k of VIDEO_FIELDS) if (o[k] !== undefined) body[k] = o[k];
    if (body.title === undefined && (o.filename ?? src.name)) body.title = o.filename ?? src.name;
    // One key for this creation, sent again on each retry: the server answers a repeat with the first upload.
    const res = await this.api('POST', '/v1/uploads', body, { 'idempotency-key': newIdempotencyKey() });
    if (res.status !== 201) throw await httpError(res, 'POST /v1/uploads');
    const created = (await res.json()) as CreatedUpload;
    return {
      endpoint: created.url,
      headers: created.headers,
      uploadId: created.id,
      videoId: created.videoId,
    };
  }

  /** An API call with the API key, retried with the retry delays on network errors, 429 and 5xx. */
  private async api(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const o = this.options as ApiKeyOptions;
    const delays = this.retryDelays ?? [];
    for (let attempt = 0; ; attempt++) {
      let error: Error;
      try {
        const init: RequestInit = {
          method,
          headers: {
            authorization: `Bearer ${o.apiKey}`,
            ...extraHeaders,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        };
        const res = await (o.fetch
          ? o.fetch(`${this.scope}${path}`, init)
          : fetch(`${this.scope}${path}`, init));
        if (res.status < 500 && res.status !== 429) return res;
        error = await httpError(res, `${method} ${path}`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (err as Error).message;
        error = new VodUploadError(`cannot reach ${this.scope}: ${why}`, 'network', undefined, {
          cause: err,
        });
      }
      const delayMs = delays[attempt];
      if (delayMs === undefined || this.stopped()) throw error;
      this.events.emit('retry', { error, attempt: attempt + 1, delayMs });
      await sleep(delayMs);
    }
  }

  private makeTus(src: PreparedSource): TusUpload {
    const o = this.options;
    const filename = o.filename ?? src.name;
    const metadata: Record<string, string> = {
      ...(filename ? { filename } : {}),
      ...(src.type ? { filetype: src.type } : {}),
      ...o.metadata,
    };
    const resumedApi = this.mode === 'api' && this.resumedFrom !== null;
    return new TusUpload(src.source as File, {
      // A resumed API-mode upload has no creation credentials: if its URL is gone (4xx), tus reports
      // it and onTusError starts a fresh one with a new POST /v1/uploads.
      endpoint: resumedApi ? null : this.fresh!.endpoint,
      chunkSize: this.chunkSize,
      retryDelays: this.retryDelays,
      metadata,
      // One stream per upload: the server's tus endpoint has no concatenation extension (which
      // parallel uploads need), one connection already fills most links, and a single ordered
      // stream is what makes resuming from the server's offset simple and exact.
      parallelUploads: 1,
      ...(fileReader ? { fileReader } : {}),
      // tus' typings say string, but it treats null as "cannot fingerprint" (a plain stream).
      fingerprint: (file) => this.fingerprint(file) as Promise<string>,
      urlStorage: this.storage ?? undefined,
      storeFingerprintForResuming: this.storage !== null,
      removeFingerprintOnSuccess: true,
      // The credentials differ per request: a resumed upload's URL takes the token it was created
      // with, a creation (POST) the fresh one.
      onBeforeRequest: (req: HttpRequest) => {
        const creds = req.getMethod() === 'POST' ? this.fresh : this.session;
        for (const [k, v] of Object.entries(creds?.headers ?? {})) req.setHeader(k, v);
      },
      onAfterResponse: (req: HttpRequest, res: HttpResponse) => {
        if (req.getMethod() === 'POST' && res.getStatus() === 201) this.session = this.fresh;
      },
      onProgress: (sent, total) => this.progress(sent, total),
      onShouldRetry: (err, attempt, opts) => {
        const retry = tusShouldRetry(err);
        if (retry)
          this.events.emit('retry', {
            error: toError(err),
            attempt: attempt + 1,
            delayMs: opts.retryDelays?.[attempt] ?? 0,
          });
        return retry;
      },
      onSuccess: ({ lastResponse }) => {
        const url = this.tus!.url!;
        const videoId = lastResponse.getHeader('X-Video-Id') || this.session?.videoId || videoIdFromUrl(url);
        const uploadId = lastResponse.getHeader('X-Upload-Id') || this.session?.uploadId || null;
        if (!videoId) this.fail(new VodUploadError(`the server did not name the video of ${url}`, 'http'));
        else this.succeed({ videoId, uploadId, url });
      },
      onError: (err) => this.onTusError(err),
    });
  }

  private onTusError(err: Error) {
    if (this._state !== 'uploading') return; // paused or aborted meanwhile
    const status = err instanceof DetailedError ? err.originalResponse?.getStatus() : undefined;
    if (this.mode === 'api' && this.resumedFrom && status !== undefined && status >= 400 && status < 500) {
      // The stored upload is gone (expired or cancelled between our check and tus' HEAD): start anew.
      this.resumedFrom = null;
      this.tus = null;
      this._state = 'preparing';
      void (async () => {
        this.fresh = await this.createServerUpload(this.source!);
        this.session = this.fresh;
        this.tus = this.makeTus(this.source!);
        this.begin();
      })().catch((e) => this.fail(e));
      return;
    }
    this.fail(err);
  }

  private progress(bytesUploaded: number, bytesTotal: number) {
    const { rate, eta } = this.meter.sample(bytesUploaded, bytesTotal);
    const percent = bytesTotal > 0 ? (bytesUploaded / bytesTotal) * 100 : 100;
    this.events.emit('progress', { bytesUploaded, bytesTotal, percent, rate, eta });
  }

  private succeed(result: UploadResult) {
    if (this._state === 'aborted' || this._state === 'failed' || this._state === 'complete') return;
    this._state = 'complete';
    this.events.emit('success', result);
    this.resolvePromise(result);
  }

  private fail(err: unknown) {
    if (this._state === 'aborted' || this._state === 'failed' || this._state === 'complete') return;
    this._state = 'failed';
    const error = toError(err);
    this.events.emit('error', error);
    this.rejectPromise(error);
  }

  /** Removes this upload's record from the URL store. */
  private async forget() {
    const key = this.storage?.key ?? this.resumedFrom?.urlStorageKey;
    if (key) await this.storage?.removeUpload(key).catch(() => {});
  }

  /** Best effort: cancels the server-side upload (its partial data and placeholder video go too). */
  private async cancelOnServer() {
    const s = this.session;
    if (!s) return;
    try {
      if (this.mode === 'api' && s.uploadId) {
        await (await this.api('DELETE', `/v1/uploads/${s.uploadId}`)).body?.cancel();
      } else if (this.tus?.url) {
        await TusUpload.terminate(this.tus.url, { headers: s.headers, retryDelays: null });
      }
    } catch {
      // already gone, or the server is unreachable: it expires on its own
    }
  }
}

/** A readable error from a tus failure or an API response. */
function toError(err: unknown): Error {
  if (err instanceof VodUploadError) return err;
  if (err instanceof DetailedError) {
    const res = err.originalResponse;
    if (res) {
      const status = res.getStatus();
      const text = (res.getBody() ?? '').toString().trim();
      const what = `${err.originalRequest?.getMethod() ?? ''} ${err.originalRequest?.getURL() ?? ''}`.trim();
      return new VodUploadError(
        `${text || err.message.split(',')[0]} (HTTP ${status}${what ? ` on ${what}` : ''})`,
        'http',
        status,
        { cause: err },
      );
    }
    const cause = err.causingError?.message;
    return new VodUploadError(
      cause ? `${cause} (${err.message.split(',')[0]})` : err.message,
      'network',
      undefined,
      {
        cause: err,
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function httpError(res: Response, what: string): Promise<VodUploadError> {
  let detail = '';
  try {
    const text = await res.text();
    try {
      const j = JSON.parse(text) as { detail?: string; title?: string; message?: string };
      detail = j.detail ?? j.message ?? j.title ?? text;
    } catch {
      detail = text;
    }
  } catch {
    // no body
  }
  return new VodUploadError(
    `${what} failed: ${detail.trim() || res.statusText} (HTTP ${res.status})`,
    'http',
    res.status,
  );
}
