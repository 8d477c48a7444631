import { createHash } from 'node:crypto';
import { CreateUpload, withoutUnsafeText } from '@vodcloud/contracts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config } from '../../config';
import type { Database } from '../../db/connect';
import type { UploadsTable, VideosTable } from '../../db/schema';
import type { Jobs } from '../../jobs';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { EventService } from '../events/service';
import { sourceKey } from '../videos';
import type { VideoService } from '../videos/service';
import type { UploadRepository } from './repository';

export const UPLOAD_TOKEN_PREFIX = 'vut_';
/** Where the tus server answers (modules/uploads/tus.ts). */
export const TUS_PATH = '/tus';
const hash = (s: string) => createHash('sha256').update(s).digest('hex');

/** The video fields an API-key tus upload may set in Upload-Metadata: the schema of POST /v1/uploads. */
const MetadataFields = CreateUpload.pick({
  title: true,
  description: true,
  categoryId: true,
  templateId: true,
  playbackPolicy: true,
  passthrough: true,
});

/** A title made from an upload's file name when none is given (never refused: cleaned and shortened). */
function titleFromFilename(filename: string | null | undefined): string | undefined {
  const t = withoutUnsafeText(filename ?? '')
    .trim()
    .slice(0, 500)
    .trim();
  return t || undefined;
}

export function uploadView(row: UploadsTable, offset: number) {
  return {
    id: row.id,
    status: row.status as 'waiting',
    offset,
    size: row.size === null ? null : Number(row.size),
    videoId: row.video_id,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

export interface UploadServiceDeps {
  config: Config;
  db: Database;
  repo: UploadRepository;
  videos: VideoService;
  events: EventService;
  jobs: Jobs;
  log: Logger;
}

export class UploadService {
  constructor(private readonly d: UploadServiceDeps) {}

  private maxSize(requested?: number): number {
    return Math.min(requested ?? this.d.config.uploadMaxBytes, this.d.config.uploadMaxBytes);
  }

  /** POST /v1/uploads: a video waiting for its upload, and a token that can upload exactly it. */
  async create(tenantId: string, input: z.infer<typeof CreateUpload>) {
    const { maxSizeBytes, expiresIn, ...fields } = input;
    if (expiresIn !== undefined && expiresIn > this.d.config.uploadExpiresInSec)
      throw new AppError(
        'validation_failed',
        `expiresIn is above this platform's limit of ${this.d.config.uploadExpiresInSec} s`,
        {
          errors: [{ path: 'body.expiresIn', message: `at most ${this.d.config.uploadExpiresInSec}` }],
        },
      );
    if (maxSizeBytes !== undefined && maxSizeBytes > this.d.config.uploadMaxBytes)
      throw new AppError(
        'payload_too_large',
        `maxSizeBytes is above this platform's limit of ${this.d.config.uploadMaxBytes} bytes`,
      );
    const video = await this.d.videos.create(tenantId, fields, { status: 'waiting_upload' });
    const token = `${UPLOAD_TOKEN_PREFIX}${randomToken(32)}`;
    const row = this.newRow(tenantId, video, hash(token), this.maxSize(maxSizeBytes), expiresIn);
    await this.d.repo.insert(row);
    return { row, token };
  }

  /**
   * An upload created on the tus endpoint with an API key: the video comes into being with it, its fields
   * from Upload-Metadata checked by the schema of POST /v1/uploads (400 `validation_failed`, paths
   * `metadata.<field>`); other metadata keys (filename, filetype…) are the client's.
   */
  async createForKey(tenantId: string, meta: Record<string, string | null | undefined>) {
    const given = Object.fromEntries(
      Object.entries(meta).filter(([k, v]) => k in MetadataFields.shape && typeof v === 'string'),
    );
    const parsed = MetadataFields.safeParse(given);
    if (!parsed.success)
      throw new AppError('validation_failed', 'Upload-Metadata is invalid', {
        errors: parsed.error.issues.map((i) => ({
          path: ['metadata', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      });
    const fields = { ...parsed.data, title: parsed.data.title ?? titleFromFilename(meta.filename) };
    let video: VideosTable;
    try {
      video = await this.d.videos.create(tenantId, fields, { status: 'waiting_upload' });
    } catch (err) {
      // The fields came from Upload-Metadata, not a body (e.g. a templateId that names no template of yours).
      if (err instanceof AppError && err.extra.errors)
        throw new AppError(err.code, err.message, {
          ...err.extra,
          errors: err.extra.errors.map((e) => ({ ...e, path: e.path.replace(/^body\./, 'metadata.') })),
        });
      throw err;
    }
    const row = this.newRow(tenantId, video, null, this.maxSize(), undefined);
    await this.d.repo.insert(row);
    return row;
  }

  private newRow(
    tenantId: string,
    video: VideosTable,
    tokenHash: string | null,
    maxSize: number,
    expiresIn?: number,
  ): UploadsTable {
    const at = nowIso();
    return {
      id: newId(),
      tenant_id: tenantId,
      video_id: video.id,
      token_hash: tokenHash,
      status: 'waiting',
      tus_id: sourceKey(tenantId, video.id),
      size: null,
      max_size_bytes: maxSize,
      filename: null,
      created_at: at,
      updated_at: at,
      expires_at: new Date(Date.now() + (expiresIn ?? this.d.config.uploadExpiresInSec) * 1000).toISOString(),
      completed_at: null,
    };
  }

  /** The upload an upload token opens, or undefined for an unknown or expired token. */
  async byToken(token: string): Promise<UploadsTable | undefined> {
    if (!token.startsWith(UPLOAD_TOKEN_PREFIX)) return undefined;
    const row = await this.d.repo.findByTokenHash(hash(token));
    if (!row || row.expires_at < nowIso()) return undefined;
    return row;
  }

  byTusId(tusId: string) {
    return this.d.repo.findByTusId(tusId);
  }

  /** Whether an upload of this tus id may still receive bytes (waiting or uploading). */
  async isLive(tusId: string): Promise<boolean> {
    const status = (await this.d.repo.findByTusId(tusId))?.status;
    return status === 'waiting' || status === 'uploading';
  }

  async get(tenantId: string, id: string): Promise<UploadsTable> {
    const row = await this.d.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Upload not found');
    return row;
  }

  /** What the tenant may still store: quota minus held and reserved bytes (Infinity when unlimited). */
  async remainingQuota(tenantId: string): Promise<number> {
    const own = await this.d.repo.tenantQuota(tenantId);
    const quota = own ?? this.d.config.tenantQuotaBytes;
    if (!quota) return Number.POSITIVE_INFINITY;
    return Math.max(0, quota - (await this.d.repo.usedBytes(tenantId)));
  }

  /** The tus upload was created: the declared size is reserved against the quota (`from`: the states it may leave). */
  async started(
    row: UploadsTable,
    size: number,
    filename: string | null,
    from: string[] = ['waiting'],
  ): Promise<boolean> {
    const ok = await this.d.repo.transition(row.id, from, {
      status: 'uploading',
      size,
      filename,
      updated_at: nowIso(),
    });
    if (ok) await this.d.videos.setStatus(row.tenant_id, row.video_id, 'uploading', { sizeBytes: size });
    return ok;
  }

  /**
   * The last byte arrived. Idempotent: a retried final PATCH finds the upload complete and only
   * re-enqueues the (deduplicated) finalize job, so nothing runs twice.
   */
  async completed(tusId: string, size: number): Promise<void> {
    const row = await this.d.repo.findByTusId(tusId);
    if (!row) throw new Error(`no upload row for ${tusId}`);
    const at = nowIso();
    const first = await this.d.repo.transition(row.id, ['waiting', 'uploading'], {
      status: 'complete',
      size,
      completed_at: at,
      updated_at: at,
    });
    if (first) {
      await this.d.videos.setStatus(row.tenant_id, row.video_id, 'queued', { sizeBytes: size });
      await this.d.events.emit(row.tenant_id, 'upload.completed', row.video_id, {
        uploadId: row.id,
        videoId: row.video_id,
        size,
      });
    } else if (row.status !== 'complete') {
      return; // expired or cancelled meanwhile: nothing to process
    }
    await this.d.jobs.enqueue('upload.finalize', {
      tenantId: row.tenant_id,
      videoId: row.video_id,
      uploadId: row.id,
    });
  }

  async cancel(
    tenantId: string,
    id: string,
    removeData: (tusId: string) => Promise<void>,
  ): Promise<UploadsTable> {
    const row = await this.get(tenantId, id);
    if (
      !(await this.d.repo.transition(row.id, ['waiting', 'uploading'], {
        status: 'cancelled',
        updated_at: nowIso(),
      }))
    )
      throw new AppError('conflict', `The upload is ${row.status} and cannot be cancelled`);
    await removeData(row.tus_id).catch((err) =>
      this.d.log.warn({ err, uploadId: row.id }, 'could not remove upload data'),
    );
    await this.d.videos.deleteRow(row.tenant_id, row.video_id);
    return this.get(tenantId, id);
  }

  /**
   * Finishes completions that were interrupted: an upload whose bytes are all stored but whose row is
   * still `uploading`, or a complete upload whose video never left `queued` (finalize not enqueued).
   * Both steps are idempotent, so running this on every sweep is safe.
   */
  async reconcile(storedSize: (tusId: string) => Promise<number | undefined>, limit = 100): Promise<number> {
    const staleBefore = new Date(Date.now() - 60_000).toISOString();
    let n = 0;
    for (const row of await this.d.repo.needingCompletion(staleBefore, limit)) {
      if (row.status === 'uploading') {
        const size = await storedSize(row.tus_id);
        if (size === undefined || size !== Number(row.size)) continue;
      }
      await this.completed(row.tus_id, Number(row.size));
      n++;
    }
    return n;
  }

  /** The client terminated the upload on the tus endpoint (its data is already removed). */
  async terminated(tusId: string): Promise<void> {
    const row = await this.d.repo.findByTusId(tusId);
    if (!row) return;
    if (
      await this.d.repo.transition(row.id, ['waiting', 'uploading'], {
        status: 'cancelled',
        updated_at: nowIso(),
      })
    )
      await this.d.videos.deleteRow(row.tenant_id, row.video_id);
  }

  /** Expires uploads past their time: their partial data is removed and their placeholder video deleted. */
  async expire(removeData: (tusId: string) => Promise<void>, limit = 100): Promise<number> {
    let n = 0;
    for (const row of await this.d.repo.expiredBefore(nowIso(), limit)) {
      if (
        !(await this.d.repo.transition(row.id, ['waiting', 'uploading'], {
          status: 'expired',
          updated_at: nowIso(),
        }))
      )
        continue;
      await removeData(row.tus_id).catch((err) =>
        this.d.log.warn({ err, uploadId: row.id }, 'could not remove expired upload data'),
      );
      await this.d.videos.deleteRow(row.tenant_id, row.video_id);
      n++;
    }
    if (n) this.d.log.info({ expired: n }, 'expired uploads cleaned');
    return n;
  }
}
