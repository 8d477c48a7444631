import type { UrlStorage } from 'tus-js-client';

/** Structural type for Node streams, so browser users need no Node typings. */
export interface NodeReadableLike {
  pipe(...args: never[]): unknown;
  on(...args: never[]): unknown;
}

/**
 * What can be uploaded: a browser File or Blob; in Node also a file path, an fs.ReadStream, a
 * Buffer/Uint8Array or (not resumable after a restart) any Readable.
 */
export type UploadFile = Blob | Uint8Array | string | NodeReadableLike;

/** What the platform module made of an UploadFile: tus' input plus what it knows about it. */
export interface PreparedSource {
  source: unknown;
  name?: string;
  type?: string;
  size?: number;
}

/** The video fields `POST /v1/uploads` accepts (see docs/api.md). */
export interface VideoFields {
  title?: string;
  description?: string;
  categoryId?: string | null;
  tags?: string[];
  templateId?: string;
  playbackPolicy?: 'public' | 'signed';
  meta?: Record<string, unknown>;
  passthrough?: string;
}

/** The 201 body of `POST /v1/uploads`. */
export interface CreatedUpload {
  id: string;
  status?: string;
  videoId: string;
  /** A tus 1.0 creation endpoint. */
  url: string;
  /** Sent on every tus request: `{Authorization: "Bearer vut_…"}`. */
  headers: Record<string, string>;
  maxSizeBytes?: number;
  expiresAt?: string;
}

export interface CommonOptions {
  /** Bytes per PATCH request. Default 50 MiB: under the 100 MiB body limit of common proxies. */
  chunkSize?: number;
  /** Waits (ms) before each retry of a failed request; `null` disables retries. */
  retryDelays?: number[] | null;
  /**
   * Where upload URLs are remembered to resume after a reload or restart: tus' localStorage store in
   * browsers, a JSON file in Node (see `storePath`). `false` disables resuming across sessions.
   */
  urlStorage?: UrlStorage | false;
  /** Node: the JSON file of the default store (default `$VODCLOUD_UPLOAD_STORE` or ~/.vodcloud/uploads.json). */
  storePath?: string;
  /** The file name sent as tus metadata (default: the File's or the path's name). */
  filename?: string;
  /** Extra tus `Upload-Metadata` entries. */
  metadata?: Record<string, string>;
  /** The fetch used for API calls (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

/** Upload to a tus endpoint with given headers (e.g. from a `POST /v1/uploads` made by your backend). */
export interface EndpointOptions extends CommonOptions {
  endpoint: string;
  headers?: Record<string, string>;
}

/** Upload with a whole `POST /v1/uploads` response. */
export interface CreatedUploadOptions extends CommonOptions {
  upload: CreatedUpload;
}

/** The SDK calls `POST /v1/uploads` itself with an API key (write scope), then uploads. */
export interface ApiKeyOptions extends CommonOptions, VideoFields {
  /** The API's base URL, e.g. https://vod.example.com */
  apiBase: string;
  apiKey: string;
  maxSizeBytes?: number;
  /** Seconds until an unfinished upload expires on the server. */
  expiresIn?: number;
}

export type UploadOptions = EndpointOptions | CreatedUploadOptions | ApiKeyOptions;

export interface UploadProgress {
  bytesUploaded: number;
  bytesTotal: number;
  /** 0..100 */
  percent: number;
  /** Bytes per second over the last few seconds (0 until measurable). */
  rate: number;
  /** Seconds left at the current rate, or null while unknown. */
  eta: number | null;
}

export interface UploadRetry {
  error: Error;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
}

export interface UploadResult {
  videoId: string;
  /** The upload's id (`GET /v1/uploads/{id}`); null only when the server never told it (endpoint mode). */
  uploadId: string | null;
  /** The tus upload URL. */
  url: string;
}

/** A previous upload of the same file was found in the store and is being continued. */
export interface UploadResumed {
  url: string;
  videoId: string | null;
  uploadId: string | null;
}

export interface UploadEvents {
  progress: UploadProgress;
  error: Error;
  retry: UploadRetry;
  success: UploadResult;
  resumed: UploadResumed;
}

export type UploadState = 'idle' | 'preparing' | 'uploading' | 'paused' | 'complete' | 'failed' | 'aborted';

export interface VodUpload {
  readonly state: UploadState;
  /** The tus upload URL, once created or found. */
  readonly url: string | null;
  /** Settles with the result; rejects with a VodUploadError (code `aborted` after abort()). */
  readonly promise: Promise<UploadResult>;
  /** Starts (or, when paused, resumes) the upload; returns `promise`. */
  start(): Promise<UploadResult>;
  /** Stops sending; the upload stays on the server and in the store. */
  pause(): void;
  resume(): void;
  /** Stops and forgets: the server-side upload is cancelled and the stored URL removed. */
  abort(): Promise<void>;
  /** Starts the upload if it is idle, and returns `promise`. */
  done(): Promise<UploadResult>;
  on<K extends keyof UploadEvents>(event: K, listener: (payload: UploadEvents[K]) => void): () => void;
  off<K extends keyof UploadEvents>(event: K, listener: (payload: UploadEvents[K]) => void): void;
}
