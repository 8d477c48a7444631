import type { CreateVideo, Detection, UpdateVideo, VideoFields } from '@vodcloud/contracts';
import type { z } from 'zod';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { CategoryService } from '../categories/service';
import type { TemplateService } from '../templates/service';
import { forVideo, isHeld } from './detection-view';
import type { VideoFilter, VideoRepository } from './repository';

const parse = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

const secondsBetween = (from?: string | null, to?: string | null) =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null;

export function videoView(row: VideosTable, baseUrl: string) {
  const renditions = parse<
    Array<{
      name: string;
      width: number;
      height: number;
      videoBitrate: number;
      status: 'pending' | 'ready';
      mp4?: boolean;
    }>
  >(row.renditions, []);
  const pid = row.playback_id;
  // MP4 URLs name the published generation (ready renditions are its): immutable, and a retranscode's
  // publish gives them new URLs.
  const mp4Base = row.published_generation
    ? `${baseUrl}/mp4/${pid}/${row.published_generation}`
    : `${baseUrl}/mp4/${pid}`;
  const mp4Urls: Record<string, string> = {};
  for (const r of renditions) if (r.mp4 && r.status === 'ready') mp4Urls[r.name] = `${mp4Base}/${r.name}.mp4`;
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    categoryId: row.category_id,
    tags: parse<string[]>(row.tags, []),
    status: row.status as 'ready',
    // Held by moderation (modules/detection): until its detection completes, or a moderator approves it.
    playable: row.playable === 1 && !isHeld(row),
    progress: row.progress,
    duration: row.duration,
    width: row.width,
    height: row.height,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    source: parse(row.source_info, null),
    renditions: renditions.map(({ name, width, height, videoBitrate, status }) => ({
      name,
      width,
      height,
      videoBitrate,
      status,
    })),
    playback: {
      id: pid,
      policy: row.playback_policy as 'public' | 'signed',
      hlsUrl: `${baseUrl}/hls/${pid}/master.m3u8`,
      mp4Urls,
      thumbnailUrl: `${baseUrl}/thumb/${pid}.jpg`,
      storyboardUrl: `${baseUrl}/storyboard/${pid}.vtt`,
      // The embed page (an <iframe> src); a signed video's tokens go in its query (token, thumbToken,
      // storyboardToken), never in this URL.
      embedUrl: `${baseUrl}/embed/${pid}`,
    },
    templateId: row.template_id,
    detection: forVideo(parse<Detection | null>(row.detection, null)),
    error: row.error_code ? { code: row.error_code as 'internal', message: row.error_message ?? '' } : null,
    meta: parse<Record<string, unknown>>(row.meta, {}),
    passthrough: row.passthrough,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    readyAt: row.ready_at,
    timings: {
      uploadCompletedAt: row.upload_completed_at ?? null,
      playableAt: row.playable_at ?? null,
      toPlayableSec: secondsBetween(row.upload_completed_at, row.playable_at),
      toReadySec: secondsBetween(row.upload_completed_at, row.ready_at),
    },
  };
}
export type VideoView = ReturnType<typeof videoView>;

/** Hooks later modules attach to (import, pipeline, storage cleanup), so this service stays small. */
export interface VideoHooks {
  afterCreate?(row: VideosTable): Promise<void>;
  /** The video's row was removed by this delete (the one of concurrent deletes that won): clean up after it. */
  afterDelete?(row: VideosTable): Promise<void>;
  onErrored?(row: VideosTable): Promise<void>;
  onRetranscode?(row: VideosTable, templateId: string): Promise<void>;
  onCoverChanged?(row: VideosTable): Promise<void>;
}

export class VideoService {
  readonly hooks: VideoHooks[] = [];

  constructor(
    readonly repo: VideoRepository,
    private readonly templates: TemplateService,
    private readonly categories: CategoryService,
  ) {}

  /** Creates a video row for an upload or an import, validating references inside the tenant. */
  async create(
    tenantId: string,
    fields: z.infer<typeof VideoFields>,
    init: { status: 'waiting_upload' | 'uploading'; inputUrl?: string },
  ): Promise<VideosTable> {
    await this.categories.assertExists(tenantId, fields.categoryId);
    const template = await this.templates.getSpec(tenantId, fields.templateId);
    const at = nowIso();
    const row: VideosTable = {
      id: newId(),
      tenant_id: tenantId,
      title: fields.title ?? null,
      description: fields.description ?? null,
      category_id: fields.categoryId ?? null,
      tags: JSON.stringify(fields.tags ?? []),
      status: init.status,
      status_before_block: null,
      playable: 0,
      progress: 0,
      duration: null,
      width: null,
      height: null,
      size_bytes: null,
      source_info: null,
      renditions: '[]',
      playback_id: randomToken(15),
      playback_policy: fields.playbackPolicy ?? 'public',
      template_id: template.id,
      input_url: init.inputUrl ?? null,
      cover_time: null,
      detection: null,
      error_code: null,
      error_message: null,
      meta: JSON.stringify(fields.meta ?? {}),
      passthrough: fields.passthrough ?? null,
      created_at: at,
      updated_at: at,
      ready_at: null,
    };
    await this.repo.insert(row);
    for (const h of this.hooks) await h.afterCreate?.(row);
    return row;
  }

  async createFromUrl(tenantId: string, input: z.infer<typeof CreateVideo>): Promise<VideosTable> {
    const { input: source, ...fields } = input;
    return this.create(tenantId, fields, { status: 'uploading', inputUrl: source.url });
  }

  async getRow(tenantId: string, id: string): Promise<VideosTable> {
    const row = await this.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Video not found');
    return row;
  }

  async list(tenantId: string, filter: VideoFilter, limit: number, beforeId?: string) {
    return this.repo.list(tenantId, filter, limit, beforeId);
  }

  async update(tenantId: string, id: string, patch: z.infer<typeof UpdateVideo>): Promise<VideosTable> {
    const row = await this.getRow(tenantId, id);
    if (patch.categoryId !== undefined) await this.categories.assertExists(tenantId, patch.categoryId);
    if (patch.coverTime !== undefined && row.duration !== null && patch.coverTime > row.duration)
      throw new AppError('validation_failed', 'coverTime is past the end of the video', {
        errors: [{ path: 'body.coverTime', message: `must be at most ${row.duration}` }],
      });
    const values: Partial<VideosTable> = { updated_at: nowIso() };
    if (patch.title !== undefined) values.title = patch.title;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.categoryId !== undefined) values.category_id = patch.categoryId;
    if (patch.tags !== undefined) values.tags = JSON.stringify(patch.tags);
    if (patch.playbackPolicy !== undefined) values.playback_policy = patch.playbackPolicy;
    if (patch.meta !== undefined) values.meta = JSON.stringify(patch.meta);
    if (patch.coverTime !== undefined) values.cover_time = patch.coverTime;
    await this.repo.update(tenantId, id, values);
    const updated = await this.getRow(tenantId, id);
    if (patch.coverTime !== undefined) for (const h of this.hooks) await h.onCoverChanged?.(updated);
    return updated;
  }

  /**
   * Deletes a video. Removing the row is the claim: of concurrent deletes (or batch deletes) only the one
   * whose statement removed it answers success and runs the hooks (cancel jobs, delete objects, announce
   * video.deleted); the others find nothing: not_found.
   */
  async delete(tenantId: string, id: string): Promise<void> {
    const row = await this.getRow(tenantId, id);
    if ((await this.repo.delete(tenantId, id)) === 0) throw new AppError('not_found', 'Video not found');
    for (const h of this.hooks) await h.afterDelete?.(row);
  }

  async batchDelete(tenantId: string, ids: string[]) {
    const deleted: string[] = [];
    const failed: Array<{ id: string; code: string }> = [];
    for (const id of [...new Set(ids)]) {
      try {
        await this.delete(tenantId, id);
        deleted.push(id);
      } catch (err) {
        failed.push({ id, code: err instanceof AppError ? err.code : 'internal' });
      }
    }
    return { deleted, failed };
  }

  /** Status changes driven by uploads and processing (not by clients). */
  async setStatus(
    tenantId: string,
    id: string,
    status: VideosTable['status'],
    extra: { sizeBytes?: number } = {},
  ): Promise<void> {
    const values: Partial<VideosTable> = { updated_at: nowIso() };
    if (extra.sizeBytes !== undefined) values.size_bytes = extra.sizeBytes;
    // `queued` is reached once, when the source's last byte is stored (upload or import).
    if (status === 'queued') values.upload_completed_at = values.updated_at;
    // A blocked video stays blocked; the status it returns to on unblock moves on instead.
    await this.repo.updateStatus(tenantId, id, status, values);
  }

  /** Marks a video errored with a stable code and a message saying why, and emits video.errored. */
  async fail(tenantId: string, id: string, code: string, message: string): Promise<void> {
    await this.repo.markErrored(tenantId, id, code, message);
    const row = await this.repo.find(tenantId, id);
    if (row) for (const h of this.hooks) await h.onErrored?.(row);
  }

  /** Removes a video row without the delete hooks (for placeholders whose upload never finished). */
  async deleteRow(tenantId: string, id: string): Promise<void> {
    await this.repo.delete(tenantId, id);
  }

  /**
   * Transcodes again with another template. The published outputs keep playing; the new generation
   * replaces them with one update when it is complete. Refused while the source is not stored yet.
   */
  async retranscode(tenantId: string, id: string, templateId: string): Promise<VideosTable> {
    const row = await this.getRow(tenantId, id);
    await this.templates.getSpec(tenantId, templateId); // validation_failed for another tenant's template
    if (
      ['waiting_upload', 'uploading'].includes(row.status) ||
      (row.status === 'errored' && row.error_code === 'fetch_failed')
    )
      throw new AppError('conflict', 'The video has no stored source to transcode yet');
    await this.repo.update(tenantId, id, { template_id: templateId, updated_at: nowIso() });
    for (const h of this.hooks) await h.onRetranscode?.(row, templateId);
    return this.getRow(tenantId, id);
  }

  async block(tenantId: string, id: string): Promise<VideosTable> {
    const row = await this.getRow(tenantId, id);
    if (row.status !== 'blocked')
      await this.repo.update(tenantId, id, {
        status: 'blocked',
        status_before_block: row.status,
        updated_at: nowIso(),
      });
    return this.getRow(tenantId, id);
  }

  async unblock(tenantId: string, id: string): Promise<VideosTable> {
    const row = await this.getRow(tenantId, id);
    if (row.status === 'blocked')
      await this.repo.update(tenantId, id, {
        status: row.status_before_block ?? 'ready',
        status_before_block: null,
        updated_at: nowIso(),
      });
    return this.getRow(tenantId, id);
  }
}
