import type { Readable } from 'node:stream';

/** What `put`, `uploadPart` accept. A Readable is streamed, never buffered whole. */
export type ObjectBody = Readable | Buffer | Uint8Array | string;

export interface PutOptions {
  contentType?: string;
  /** Exact byte length of the body when known (lets S3 use a single PutObject for a stream). */
  contentLength?: number;
}

export interface PutResult {
  etag: string;
  size: number;
}

/** Inclusive byte range, HTTP style. `end` beyond the object is clamped; `start` beyond it is `invalid_range`. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface GetOptions {
  range?: ByteRange;
}

export interface GetResult {
  body: Readable;
  /** Number of bytes in `body` (the Content-Length to send). */
  size: number;
  /** Size of the whole object. */
  totalSize: number;
  contentType: string;
  etag: string;
  lastModified: Date;
  /** `bytes start-end/total`, present when a range was requested. */
  contentRange?: string;
}

export interface HeadResult {
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
}

export interface ListItem {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListOptions {
  /** Opaque cursor from a previous page's `nextCursor`. Only valid with the same store and prefix. */
  cursor?: string | null;
  /** Page size, 1..1000 (default 1000). */
  limit?: number;
}

export interface ListPage {
  /** Sorted by key (UTF-8 byte order). */
  items: ListItem[];
  /** Pass back as `cursor` to get the next page; null when this was the last page. */
  nextCursor: string | null;
}

export interface MultipartOptions {
  contentType?: string;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface PresignGetOptions {
  /** Lifetime in seconds. */
  expiresIn: number;
  responseContentType?: string;
}

export interface PresignPutOptions {
  /** Lifetime in seconds. */
  expiresIn: number;
  /** When given, the uploader must send exactly this Content-Type. */
  contentType?: string;
}

export interface HealthResult {
  ok: boolean;
  detail: string;
}

/**
 * The object storage port. Keys are validated by `validateKey` in every adapter.
 * Objects become visible atomically: readers see the old version or the new one, never a partial one.
 */
export interface ObjectStore {
  /** Adapter name, e.g. "file" or "s3". */
  readonly kind: string;
  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<PutResult>;
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  head(key: string): Promise<HeadResult | null>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix` ("" = everything); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string, opts?: ListOptions): Promise<ListPage>;
  copy(srcKey: string, dstKey: string): Promise<PutResult>;

  createMultipart(key: string, opts?: MultipartOptions): Promise<string>;
  /** Part numbers 1..10000; every part but the last must be at least 5 MiB. */
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    contentLength?: number,
  ): Promise<{ etag: string }>;
  listParts(key: string, uploadId: string): Promise<PartInfo[]>;
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<PutResult>;
  abortMultipart(key: string, uploadId: string): Promise<void>;

  presignGet(key: string, opts: PresignGetOptions): Promise<string>;
  presignPut(key: string, opts: PresignPutOptions): Promise<string>;

  health(): Promise<HealthResult>;
  close(): Promise<void>;
}

export type StorageErrorCode =
  | 'not_found'
  | 'invalid_key'
  | 'invalid_range'
  | 'no_such_upload'
  | 'unavailable'
  /** A malformed call: bad part list, part too small, wrong content length, bad cursor or limit. */
  | 'invalid_argument';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  /** The key involved, when there is one. */
  readonly key: string | undefined;

  constructor(code: StorageErrorCode, message: string, options?: { key?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options?.key;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
