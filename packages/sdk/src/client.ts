import type { UploadFile, UploadProgress } from '@vodcloud/upload';
import createClient, { type Client } from 'openapi-fetch';
import { VodCloudError } from './errors.js';
import type { components, paths } from './generated/openapi.js';
import { Recordings } from './recordings.js';
import { type Page, unwrap } from './unwrap.js';

export { type Page, unwrap } from './unwrap.js';

import { type FetchLike, type RetryOptions, retryingFetch } from './http.js';

export type Video = components['schemas']['Video'];
export type VideoStatus = Video['status'];
export type VideoListQuery = NonNullable<paths['/v1/videos']['get']['parameters']['query']>;
export type VideoUpdate = paths['/v1/videos/{id}']['patch']['requestBody']['content']['application/json'];
export type VideoFields = NonNullable<
  paths['/v1/uploads']['post']['requestBody']
>['content']['application/json'];
export type CreatedSigningKey = components['schemas']['CreatedSigningKey'];
export type SigningKey = components['schemas']['SigningKey'];
export type VideoStats = components['schemas']['VideoStats'];
export type UsageStats = components['schemas']['UsageStats'];
export type StatsQuery = NonNullable<paths['/v1/stats/usage']['get']['parameters']['query']>;
export type TopVideosQuery = NonNullable<paths['/v1/stats/top-videos']['get']['parameters']['query']>;
export type BreakdownQuery = NonNullable<paths['/v1/stats/breakdown']['get']['parameters']['query']>;
export type Detection = components['schemas']['Detection'];
export type DetectionPolicy = components['schemas']['DetectionPolicy'];
export type DetectionPolicyUpdate =
  paths['/v1/detection/policy']['patch']['requestBody']['content']['application/json'];
export type ModerationQueueItem = components['schemas']['ModerationQueueItem'];

export interface VodCloudOptions extends RetryOptions {
  /** The API's base URL, e.g. https://vod.example.com */
  baseUrl: string;
  /**
   * A tenant API key (`read`, or `read,write` to change things). Never ship one to a browser you do not control.
   * Optional: without it, requests carry the browser's session cookie instead (see `credentials`, `csrfToken`).
   */
  apiKey?: string;
  /**
   * The fetch `credentials` mode of every request. A browser signed in with a session cookie (`POST
   * /v1/sessions`) on the API's own origin needs none (`same-origin` is the default); `include` sends the
   * cookie to another origin.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
  /**
   * The CSRF token of a browser session (returned by `POST /v1/sessions`), sent as `x-csrf-token` on every
   * request that is not GET, HEAD or OPTIONS. Settable later: `vc.csrfToken = session.csrfToken`.
   */
  csrfToken?: string;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: (input: Request) => Promise<Response>;
  /** Extra headers on every API request. */
  headers?: Record<string, string>;
}

export interface UploadVideoOptions extends VideoFields {
  /** Called as bytes are acknowledged by the server. */
  onProgress?: (progress: UploadProgress) => void;
  /** Aborts the upload: it is cancelled on the server and the promise rejects with code `aborted`. */
  signal?: AbortSignal;
  /** Bytes per PATCH (default 50 MiB). */
  chunkSize?: number;
  /** The file name sent as tus metadata (default: the File's or path's name). */
  filename?: string;
  /** Largest size the upload may reach, and seconds until an unfinished upload expires. */
  maxSizeBytes?: number;
  expiresIn?: number;
  /**
   * Where upload URLs are remembered to resume after a restart or reload (see @vodcloud/upload):
   * `storePath` (Node, default ~/.vodcloud/uploads.json), or `urlStorage: false` to not remember.
   */
  storePath?: string;
  urlStorage?: false;
  /** Waits (ms) before each retry of a failed upload request; null disables. */
  retryDelays?: number[] | null;
}

export interface WaitForOptions {
  /** Default 10 minutes. */
  timeoutMs?: number;
  /** Time between two polls (default 1000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** The POST /v1/uploads fields among the upload options. */
const CREATE_FIELDS = [
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
] as const;

/** The @vodcloud/upload options among the upload options. */
function uploadOptions(o: Omit<UploadVideoOptions, 'onProgress' | 'signal'>) {
  const { chunkSize, filename, storePath, urlStorage, retryDelays } = o;
  return Object.fromEntries(
    Object.entries({ chunkSize, filename, storePath, urlStorage, retryDelays }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

export class Videos {
  constructor(
    private readonly api: Client<paths>,
    private readonly options: VodCloudOptions,
  ) {}

  async get(id: string): Promise<Video> {
    return unwrap(await this.api.GET('/v1/videos/{id}', { params: { path: { id } } }));
  }

  async update(id: string, changes: VideoUpdate): Promise<Video> {
    return unwrap(await this.api.PATCH('/v1/videos/{id}', { params: { path: { id } }, body: changes }));
  }

  async delete(id: string): Promise<void> {
    unwrap(await this.api.DELETE('/v1/videos/{id}', { params: { path: { id } } }));
  }

  /** One page, newest first. */
  async list(query: VideoListQuery = {}): Promise<Page<Video>> {
    const page = unwrap(await this.api.GET('/v1/videos', { params: { query } }));
    return { data: page.data, nextCursor: page.nextCursor };
  }

  /** Every video matching `query`, page after page (`limit` is the page size). */
  async *iterate(query: Omit<VideoListQuery, 'cursor'> = {}): AsyncGenerator<Video, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /**
   * Uploads a file (resumable, tus via @vodcloud/upload) and returns the new video. Node: a path, a Buffer,
   * a Blob, an fs.ReadStream or a Readable; browsers: a File or Blob.
   */
  async upload(file: UploadFile, options: UploadVideoOptions = {}): Promise<Video> {
    const { onProgress, signal, ...rest } = options;
    const { fetch: customFetch, apiKey } = this.options;
    // Imported when first used: a browser app that never uploads (or not on its first page) does not load it.
    const { createUpload, VodUploadError } = await import('@vodcloud/upload');
    const upload = apiKey
      ? createUpload(file, {
          ...rest,
          apiBase: this.options.baseUrl,
          apiKey,
          ...(customFetch ? { fetch: (input, init) => customFetch(new Request(input, init)) } : {}),
        })
      : // A browser session (cookie + CSRF token): this client creates the upload, tus sends the bytes with
        // the upload token it returns (the session never reaches the upload node).
        createUpload(file, { ...uploadOptions(rest), upload: await this.createUpload(file, rest) });
    if (onProgress) upload.on('progress', onProgress);
    const onAbort = () => void upload.abort();
    if (signal?.aborted) throw new VodCloudError({ code: 'aborted', detail: 'the upload was aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { videoId } = await upload.done();
      return await this.get(videoId);
    } catch (err) {
      if (!(err instanceof VodUploadError)) throw err;
      throw new VodCloudError({
        status: err.status,
        code: err.code === 'http' ? 'upload_failed' : err.code === 'invalid' ? 'upload_failed' : err.code,
        detail: err.message,
        cause: err,
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * `POST /v1/uploads` with this client's credentials (an API key, or a browser session's cookie and CSRF
   * token): the tus endpoint and upload token to send a file to, e.g. with @vodcloud/upload's
   * `createUpload(file, { upload })`. The title defaults to the file's name.
   */
  async createUpload(file: UploadFile | null, fields: VideoFields & { filename?: string } = {}) {
    const body: Record<string, unknown> = {};
    for (const k of CREATE_FIELDS) if (fields[k] !== undefined) body[k] = fields[k];
    const name =
      fields.filename ?? (file && typeof file === 'object' && 'name' in file ? file.name : undefined);
    if (body.title === undefined && typeof name === 'string' && name) body.title = name;
    // One key for this creation, the same on each retry of it (randomUUID exists in secure contexts only).
    const key = globalThis.crypto?.randomUUID?.();
    return unwrap(
      await this.api.POST('/v1/uploads', {
        body: body as VideoFields,
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
      }),
    );
  }

  /**
   * Polls the video until it is `ready` (every rendition made) or `playable` (the first can be played).
   * Throws VodCloudError `video_errored` when processing fails, `timeout` after `timeoutMs`.
   */
  async waitFor(id: string, until: 'ready' | 'playable', options: WaitForOptions = {}): Promise<Video> {
    const { timeoutMs = 600_000, intervalMs = 1000, signal } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const video = await this.get(id);
      if (video.status === 'errored')
        throw new VodCloudError({
          code: 'video_errored',
          detail: `video ${id} errored${video.error ? `: ${video.error.code}: ${video.error.message}` : ''}`,
        });
      if (video.status === 'ready' || (until === 'playable' && video.playable)) return video;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new VodCloudError({
          code: 'timeout',
          detail: `video ${id} was not ${until} within ${timeoutMs} ms (status ${video.status})`,
        });
      await sleep(Math.min(intervalMs, left), signal);
    }
  }
}

export class SigningKeys {
  constructor(private readonly api: Client<paths>) {}

  /** A new RSA-2048 pair made by the server: `privateKey` (PKCS#8 PEM) is returned this once. */
  async create(): Promise<CreatedSigningKey & { privateKey: string }>;
  /** Registers your own public key (SPKI or PKCS#1 PEM); the private key never leaves you. */
  async create(options: { publicKey: string }): Promise<CreatedSigningKey>;
  async create(options?: { publicKey: string }): Promise<CreatedSigningKey> {
    return unwrap(await this.api.POST('/v1/signing-keys', { body: options ?? {} }));
  }

  async list(query: { limit?: number; cursor?: string } = {}): Promise<Page<SigningKey>> {
    const page = unwrap(await this.api.GET('/v1/signing-keys', { params: { query } }));
    return { data: page.data, nextCursor: page.nextCursor };
  }

  /** Revokes a key: tokens signed with it stop working. */
  async revoke(id: string): Promise<void> {
    unwrap(await this.api.DELETE('/v1/signing-keys/{id}', { params: { path: { id } } }));
  }
}

/** The JSON answer of a route that can also answer text/csv (these methods never ask for CSV). */
const json = <T>(v: T) => v as Exclude<T, string>;

/** Views, quality of experience and usage (`/v1/stats/*`); CSV through `api.GET` with `format: 'csv'`. */
export class Stats {
  constructor(private readonly api: Client<paths>) {}

  /** A video's totals and series: views, unique viewers, watch time, startup, rebuffering, errors, delivery. */
  async video(id: string, query: Omit<StatsQuery, 'format'> = {}): Promise<VideoStats> {
    return json(unwrap(await this.api.GET('/v1/stats/videos/{id}', { params: { path: { id }, query } })));
  }

  /** The tenant's usage: storage, delivered bytes, peak Mbps, transcoded seconds, uploads, imports. */
  async usage(query: Omit<StatsQuery, 'format'> = {}): Promise<UsageStats> {
    return json(unwrap(await this.api.GET('/v1/stats/usage', { params: { query } })));
  }

  async topVideos(query: Omit<TopVideosQuery, 'format'> = {}) {
    return json(unwrap(await this.api.GET('/v1/stats/top-videos', { params: { query } })));
  }

  /** Views by browser, os, device, rendition or referrer. */
  async breakdown(query: Omit<BreakdownQuery, 'format'> = {}) {
    return json(unwrap(await this.api.GET('/v1/stats/breakdown', { params: { query } })));
  }
}

/** Quality checks and moderation (`/v1/detection/*`, `/v1/moderation/*`, `/v1/videos/{id}/detect…`). */
export class DetectionApi {
  constructor(private readonly api: Client<paths>) {}

  /** Runs detection again; the result arrives on the video (`detection.status` → `completed`). */
  async run(videoId: string): Promise<Video> {
    return unwrap(await this.api.POST('/v1/videos/{id}/detect', { params: { path: { id: videoId } } }));
  }

  /** The whole result, with every frame analysed (the video object carries the 10 most suspicious). */
  async result(videoId: string): Promise<Detection> {
    return unwrap(await this.api.GET('/v1/videos/{id}/detection', { params: { path: { id: videoId } } }));
  }

  async policy(): Promise<DetectionPolicy> {
    return unwrap(await this.api.GET('/v1/detection/policy'));
  }

  /** Changes the tenant's policy; omitted fields keep their value. */
  async updatePolicy(patch: DetectionPolicyUpdate): Promise<DetectionPolicy> {
    return unwrap(await this.api.PATCH('/v1/detection/policy', { body: patch }));
  }

  /** Videos held for review, oldest first. */
  async queue(query: { limit?: number; cursor?: string } = {}): Promise<Page<ModerationQueueItem>> {
    const page = unwrap(await this.api.GET('/v1/moderation/queue', { params: { query } }));
    return { data: page.data, nextCursor: page.nextCursor };
  }

  /** Approves a held video (it becomes playable) or rejects it (it is blocked). */
  async decide(videoId: string, decision: 'approve' | 'reject'): Promise<Video> {
    const params = { params: { path: { id: videoId } } };
    return unwrap(
      decision === 'approve'
        ? await this.api.POST('/v1/videos/{id}/moderation/approve', params)
        : await this.api.POST('/v1/videos/{id}/moderation/reject', params),
    );
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The vodcloud API. `api` is the typed low-level client (openapi-fetch) for every endpoint. Authenticated by
 * an API key (`apiKey`), or in a browser by the session cookie with its CSRF token (`csrfToken`).
 */
export class VodCloud {
  /** openapi-fetch's client on the generated `paths`: `await vc.api.GET('/v1/webhooks')` → `{ data, error, response }`. */
  readonly api: Client<paths>;
  readonly videos: Videos;
  readonly signingKeys: SigningKeys;
  readonly stats: Stats;
  readonly detection: DetectionApi;
  readonly recordings: Recordings;
  /** The session's CSRF token, sent as `x-csrf-token` on writes; set it after signing in, clear it on sign-out. */
  csrfToken: string | undefined;

  constructor(options: VodCloudOptions) {
    if (!options?.baseUrl) throw new TypeError('baseUrl is required');
    if (options.apiKey !== undefined && !options.apiKey) throw new TypeError('apiKey must not be empty');
    const baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.csrfToken = options.csrfToken;
    const outer: FetchLike = options.fetch ?? ((req) => globalThis.fetch(req));
    // The token is read per request, so that one set after sign-in applies to the calls that follow.
    const inner: FetchLike = (req) => {
      const token = this.csrfToken;
      if (!token || SAFE_METHODS.has(req.method) || req.headers.has('x-csrf-token')) return outer(req);
      const headers = new Headers(req.headers);
      headers.set('x-csrf-token', token);
      return outer(new Request(req, { headers }));
    };
    this.api = createClient<paths>({
      baseUrl,
      fetch: retryingFetch(inner, options),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      headers: {
        ...options.headers,
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
    });
    const resolved = { ...options, baseUrl };
    this.videos = new Videos(this.api, resolved);
    this.signingKeys = new SigningKeys(this.api);
    this.stats = new Stats(this.api);
    this.detection = new DetectionApi(this.api);
    this.recordings = new Recordings(this.api);
  }
}
