import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { validateKey, validatePrefix } from './keys';
import { encodeKeyPath } from './presign';
import type {
  CompletedPart,
  GetOptions,
  GetResult,
  HeadResult,
  HealthResult,
  ListOptions,
  ListPage,
  MultipartOptions,
  ObjectBody,
  ObjectStore,
  PartInfo,
  PresignGetOptions,
  PresignPutOptions,
  PutOptions,
  PutResult,
} from './types';
import { StorageError } from './types';
import {
  bodyToBufferOrStream,
  checkCompletedParts,
  checkContentLength,
  checkListLimit,
  checkPartNumber,
  checkRange,
  DEFAULT_CONTENT_TYPE,
  normalizeEtag,
} from './util';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** e.g. http://127.0.0.1:7480; omit for AWS itself. */
  endpoint?: string;
  region?: string;
  /** Default true: S3-compatible stores (Ceph, MinIO) want path-style URLs. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Use this client instead of building one (it is not destroyed by close()). */
  client?: S3Client;
  /** Part size for streams of unknown length (default 8 MiB); memory use is about partSize x queueSize. */
  uploadPartSize?: number;
  uploadQueueSize?: number;
  /** Objects up to this size are put with one PutObject when their length is known (default 5 GiB). */
  singlePutLimit?: number;
  /** TCP connect timeout in ms (default 5000). */
  connectTimeoutMs?: number;
  /**
   * Socket inactivity timeout in ms (default 60000): a request whose connection carries nothing this long
   * fails (an S3 server that stops answering — e.g. Ceph with a full OSD blocks writes — must not hold a
   * request, and the upload lock around it, forever).
   */
  socketTimeoutMs?: number;
  /** SDK attempts per request (default 3). */
  maxAttempts?: number;
}

const GIB = 1024 ** 3;
const MAX_COPY_PART = 512 * 1024 * 1024;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
const BAD_REQUEST_NAMES = new Set([
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'EntityTooLarge',
  'InvalidArgument',
  'InvalidRequest',
  'BadDigest',
  'IncompleteBody',
  'MalformedXML',
  'InvalidDigest',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** Translates SDK and socket errors into StorageError where the port has a code for them. */
export function mapS3Error(err: unknown, key?: string): StorageError | unknown {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as AwsLikeError;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? (e.cause as AwsLikeError | undefined)?.code ?? '';
  const msg = `${name || code || 'error'}: ${e.message ?? String(err)}`;
  const opts = { key, cause: err };
  if (name === 'NoSuchUpload')
    return new StorageError('no_such_upload', `no such multipart upload (${msg})`, opts);
  if (name === 'NoSuchBucket')
    return new StorageError('unavailable', `the bucket does not exist (${msg})`, opts);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new StorageError('not_found', key ? `no object ${JSON.stringify(key)}` : msg, opts);
  }
  if (name === 'InvalidRange' || status === 416) return new StorageError('invalid_range', msg, opts);
  if (BAD_REQUEST_NAMES.has(name)) return new StorageError('invalid_argument', msg, opts);
  if (
    NETWORK_CODES.has(code) ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'AbortError' ||
    (status !== undefined && status >= 500)
  ) {
    return new StorageError('unavailable', `S3 store unavailable (${msg})`, opts);
  }
  return err;
}

function parseTotal(contentRange: string | undefined, contentLength: number): number {
  const m = contentRange ? /\/(\d+)$/.exec(contentRange) : null;
  return m ? Number(m[1]) : contentLength;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly bucket: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly opts: S3ObjectStoreOptions;

  constructor(opts: S3ObjectStoreOptions) {
    if (!opts.bucket) throw new Error('S3ObjectStore needs a bucket');
    this.opts = opts;
    this.bucket = opts.bucket;
    this.ownsClient = !opts.client;
    this.client = opts.client ?? new S3Client(this.clientConfig());
  }

  /** The S3 client settings this store uses, for other S3 clients that must reach the same bucket (e.g. tus). */
  clientConfig(): S3ClientConfig {
    const opts = this.opts;
    return {
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? true,
      credentials: opts.credentials,
      // Without these the SDK sends streams aws-chunked with trailing checksums, which Ceph rejects.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: opts.maxAttempts ?? 3,
      // socketTimeout is the inactivity bound that fails a request; the SDK's requestTimeout only warns
      // unless throwOnRequestTimeout is set, and would also cut long streaming transfers.
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5000,
        socketTimeout: opts.socketTimeoutMs ?? 60_000,
      },
    };
  }

  private async send<T>(key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw mapS3Error(err, key);
    }
  }

  /** For calls on an existing multipart upload: Ceph answers ListParts on an unknown upload with NoSuchKey. */
  private async sendUpload<T>(key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const mapped = mapS3Error(err, key);
      if (mapped instanceof StorageError && mapped.code === 'not_found') {
        throw new StorageError('no_such_upload', `no such multipart upload for ${JSON.stringify(key)}`, {
          key,
          cause: err,
        });
      }
      throw mapped;
    }
  }

  /** Creates the bucket unless it exists already (and is ours). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as AwsLikeError).name;
      if (name === 'BucketAlreadyOwnedByYou') return;
      if (name === 'BucketAlreadyExists') {
        await this.send(undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
        return;
      }
      throw mapS3Error(err);
    }
  }

  /**
   * Lets browsers read objects of the bucket from any origin (GET/HEAD, ranges), for players sent
   * straight to presigned URLs by the stream role.
   */
  async allowBrowserReads(): Promise<void> {
    await this.send(undefined, () =>
      this.client.send(
        new PutBucketCorsCommand({
          Bucket: this.bucket,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: ['*'],
                AllowedMethods: ['GET', 'HEAD'],
                AllowedHeaders: ['*'],
                ExposeHeaders: ['Content-Length', 'Content-Range', 'ETag', 'Accept-Ranges'],
                MaxAgeSeconds: 600,
              },
            ],
          },
        }),
      ),
    );
  }

  /** Aborts every pending multipart upload, deletes every object, then the bucket (tests, teardown). */
  async removeBucket(): Promise<void> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.send(undefined, () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
          .catch(() => undefined);
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    await this.deletePrefix('');
    await this.send(undefined, () => this.client.send(new DeleteBucketCommand({ Bucket: this.bucket })));
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    checkContentLength(opts.contentLength);
    const data = bodyToBufferOrStream(body);
    const contentType = opts.contentType ?? DEFAULT_CONTENT_TYPE;
    const length = Buffer.isBuffer(data) ? data.length : opts.contentLength;
    if (Buffer.isBuffer(data) && opts.contentLength !== undefined && opts.contentLength !== data.length) {
      throw new StorageError(
        'invalid_argument',
        `body is ${data.length} bytes, contentLength says ${opts.contentLength}`,
        {
          key,
        },
      );
    }
    if (length !== undefined && length <= (this.opts.singlePutLimit ?? 5 * GIB)) {
      const out = await this.send(key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: data,
            ContentLength: length,
            ContentType: contentType,
          }),
        ),
      );
      return { etag: normalizeEtag(out.ETag), size: length };
    }
    return this.putStream(key, data as Readable, contentType, length);
  }

  /** Unknown (or huge) length: lib-storage's Upload, which sends parts while reading, in bounded memory. */
  private async putStream(
    key: string,
    source: Readable,
    contentType: string,
    expectedLength?: number,
  ): Promise<PutResult> {
    let size = 0;
    let finished = false;
    async function* count(): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        size += buf.length;
        yield buf;
      }
      finished = true;
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: Readable.from(count()), ContentType: contentType },
      partSize: this.opts.uploadPartSize ?? 8 * 1024 * 1024,
      queueSize: this.opts.uploadQueueSize ?? 2,
      leavePartsOnError: false,
    });
    let etag: string;
    try {
      const out = await upload.done();
      etag = normalizeEtag(out.ETag);
    } catch (err) {
      if (!finished) source.destroy();
      throw mapS3Error(err, key);
    }
    if (expectedLength !== undefined && size !== expectedLength) {
      await this.delete(key).catch(() => undefined);
      throw new StorageError(
        'invalid_argument',
        `body was ${size} bytes but contentLength said ${expectedLength}`,
        {
          key,
        },
      );
    }
    if (!etag) {
      // Ceph answers CompleteMultipartUpload with an empty ETag; HeadObject has it.
      const head = await this.head(key);
      etag = head?.etag ?? '';
    }
    return { etag, size };
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    validateKey(key);
    let range: string | undefined;
    if (opts.range) {
      checkRange(opts.range);
      range = `bytes=${opts.range.start}-${opts.range.end ?? ''}`;
    }
    const out = await this.send(key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range })),
    );
    const size = out.ContentLength ?? 0;
    return {
      body: out.Body as Readable,
      size,
      totalSize: parseTotal(out.ContentRange, size),
      contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
      etag: normalizeEtag(out.ETag),
      lastModified: out.LastModified ?? new Date(0),
      contentRange: range ? out.ContentRange : undefined,
    };
  }

  async head(key: string): Promise<HeadResult | null> {
    validateKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        size: out.ContentLength ?? 0,
        etag: normalizeEtag(out.ETag),
        contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      const mapped = mapS3Error(err, key);
      if (mapped instanceof StorageError && mapped.code === 'not_found') return null;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.send(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async deletePrefix(prefix: string): Promise<number> {
    validatePrefix(prefix);
    let count = 0;
    let token: string | undefined;
    do {
      const page = await this.send(undefined, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            ContinuationToken: token,
          }),
        ),
      );
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0) {
        const out = await this.send(undefined, () =>
          this.client.send(
            new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
          ),
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0]!;
          throw new StorageError(
            'unavailable',
            `deletePrefix: ${failed.length} of ${keys.length} deletes failed, e.g. ${first.Key}: ${first.Code} ${first.Message}`,
          );
        }
        count += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return count;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = checkListLimit(opts.limit);
    const page = await this.send(undefined, () =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix || undefined,
          MaxKeys: limit,
          ContinuationToken: opts.cursor ?? undefined,
        }),
      ),
    );
    return {
      items: (page.Contents ?? []).map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: normalizeEtag(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      })),
      nextCursor: page.IsTruncated && page.NextContinuationToken ? page.NextContinuationToken : null,
    };
  }

  async copy(srcKey: string, dstKey: string): Promise<PutResult> {
    validateKey(srcKey);
    validateKey(dstKey);
    const src = await this.head(srcKey);
    if (!src) throw new StorageError('not_found', `no object ${JSON.stringify(srcKey)}`, { key: srcKey });
    const copySource = `${this.bucket}/${encodeKeyPath(srcKey)}`;
    if (src.size > 5 * GIB) return this.copyMultipart(copySource, dstKey, src);
    const out = await this.send(srcKey, () =>
      this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: dstKey, CopySource: copySource })),
    );
    return { etag: normalizeEtag(out.CopyObjectResult?.ETag) || src.etag, size: src.size };
  }

  /** CopyObject stops at 5 GiB; beyond that copy in server-side part ranges. */
  private async copyMultipart(copySource: string, dstKey: string, src: HeadResult): Promise<PutResult> {
    const uploadId = await this.createMultipart(dstKey, { contentType: src.contentType });
    try {
      const parts: CompletedPart[] = [];
      for (let start = 0, n = 1; start < src.size; start += MAX_COPY_PART, n++) {
        const end = Math.min(start + MAX_COPY_PART, src.size) - 1;
        const out = await this.send(dstKey, () =>
          this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: dstKey,
              UploadId: uploadId,
              PartNumber: n,
              CopySource: copySource,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          ),
        );
        parts.push({ partNumber: n, etag: normalizeEtag(out.CopyPartResult?.ETag) });
      }
      return await this.completeMultipart(dstKey, uploadId, parts);
    } catch (err) {
      await this.abortMultipart(dstKey, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async createMultipart(key: string, opts: MultipartOptions = {}): Promise<string> {
    validateKey(key);
    const out = await this.send(key, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
        }),
      ),
    );
    if (!out.UploadId)
      throw new StorageError('unavailable', 'CreateMultipartUpload returned no UploadId', { key });
    return out.UploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    contentLength?: number,
  ): Promise<{ etag: string }> {
    validateKey(key);
    checkPartNumber(partNumber);
    checkContentLength(contentLength);
    const data = bodyToBufferOrStream(body);
    if (Buffer.isBuffer(data) || contentLength !== undefined) {
      const length = Buffer.isBuffer(data) ? data.length : contentLength!;
      if (contentLength !== undefined && length !== contentLength) {
        throw new StorageError(
          'invalid_argument',
          `body is ${length} bytes, contentLength says ${contentLength}`,
          {
            key,
          },
        );
      }
      return this.sendPart(key, uploadId, partNumber, data, length);
    }
    // UploadPart needs a Content-Length: spool a stream of unknown length to a temp file first (flat memory).
    const spool = join(tmpdir(), `vodcloud-part-${randomBytes(8).toString('hex')}`);
    try {
      await pipeline(data, createWriteStream(spool, { flags: 'wx' }));
      const { size } = await stat(spool);
      return await this.sendPart(key, uploadId, partNumber, createReadStream(spool), size);
    } finally {
      await rm(spool, { force: true });
    }
  }

  private async sendPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Buffer | Readable,
    length: number,
  ): Promise<{ etag: string }> {
    const out = await this.sendUpload(key, () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: length,
        }),
      ),
    );
    return { etag: normalizeEtag(out.ETag) };
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    validateKey(key);
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.sendUpload(key, () =>
        this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        ),
      );
      for (const p of page.Parts ?? []) {
        parts.push({ partNumber: p.PartNumber ?? 0, etag: normalizeEtag(p.ETag), size: p.Size ?? 0 });
      }
      if (!page.IsTruncated || !page.NextPartNumberMarker) break;
      marker = page.NextPartNumberMarker;
    }
    return parts;
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<PutResult> {
    validateKey(key);
    checkCompletedParts(parts);
    try {
      await this.completeOnce(key, uploadId, parts);
    } catch (err) {
      // Ceph 16 answers CompleteMultipartUpload on an unknown or aborted upload with a 500 ("This multipart
      // completion is already in progress"). Ask ListParts, which answers properly, before calling it an outage.
      if (err instanceof StorageError && err.code === 'unavailable') {
        await this.listParts(key, uploadId); // throws no_such_upload when the upload is gone
      }
      throw err;
    }
    // Ceph returns an empty ETag here and no size at all: ask HeadObject.
    const head = await this.head(key);
    if (!head)
      throw new StorageError('not_found', `completed object ${JSON.stringify(key)} is not visible`, { key });
    return { etag: head.etag, size: head.size };
  }

  private async completeOnce(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    await this.sendUpload(key, () =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${normalizeEtag(p.etag)}"` })),
          },
        }),
      ),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    validateKey(key);
    await this.sendUpload(key, () =>
      this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      ),
    );
  }

  async presignGet(key: string, opts: PresignGetOptions): Promise<string> {
    validateKey(key);
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentType: opts.responseContentType }),
      { expiresIn: opts.expiresIn },
    );
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<string> {
    validateKey(key);
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }),
      {
        expiresIn: opts.expiresIn,
        signableHeaders: opts.contentType ? new Set(['content-type']) : undefined,
      },
    );
  }

  async health(): Promise<HealthResult> {
    const where = `bucket ${this.bucket}${this.opts.endpoint ? ` at ${this.opts.endpoint}` : ''}`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true, detail: `${where} is reachable` };
    } catch (err) {
      const mapped = mapS3Error(err);
      const e = mapped as AwsLikeError;
      return { ok: false, detail: `${where}: ${e.name ?? 'error'}: ${e.message ?? String(err)}` };
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}
