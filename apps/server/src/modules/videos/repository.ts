import { sql } from 'kysely';
import type { Database } from '../../db/connect';
import { skippingDuplicates } from '../../db/insert';
import type { VideosTable } from '../../db/schema';
import { nowIso } from '../../lib/time';

export interface VideoFilter {
  status?: string;
  categoryId?: string;
  q?: string;
  /** One tag, matched exactly against the JSON array the row holds. */
  tag?: string;
  /** ISO times: created at or after, created before. */
  createdAfter?: string;
  createdBefore?: string;
  /** newest first (default) or oldest first; ids sort by creation time. */
  order?: 'newest' | 'oldest';
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export class VideoRepository {
  constructor(private readonly db: Database) {}

  async insert(row: VideosTable): Promise<void> {
    await this.db.primary.insertInto('videos').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<VideosTable | undefined> {
    return this.db.primary
      .selectFrom('videos')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The video a playback id names, read from a replica (the playback gate caches it briefly). */
  async findByPlaybackId(playbackId: string): Promise<VideosTable | undefined> {
    return this.db.read((k) =>
      k.selectFrom('videos').selectAll().where('playback_id', '=', playbackId).executeTakeFirst(),
    );
  }

  async list(tenantId: string, filter: VideoFilter, limit: number, afterId?: string): Promise<VideosTable[]> {
    const oldest = filter.order === 'oldest';
    return this.db.read((k) => {
      let q = k
        .selectFrom('videos')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', oldest ? 'asc' : 'desc')
        .limit(limit + 1);
      if (afterId) q = q.where('id', oldest ? '>' : '<', afterId);
      if (filter.tag) q = q.where(this.hasTag(filter.tag));
      // created_at is an ISO string (lib/time nowIso): the bounds are normalised to the same form.
      if (filter.createdAfter) q = q.where('created_at', '>=', new Date(filter.createdAfter).toISOString());
      if (filter.createdBefore) q = q.where('created_at', '<', new Date(filter.createdBefore).toISOString());
      if (filter.status) q = q.where('status', '=', filter.status);
      if (filter.categoryId) q = q.where('category_id', '=', filter.categoryId);
      if (filter.q) {
        const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
        q = q.where((eb) => eb(eb.fn('lower', ['title']), 'like', pattern));
      }
      return q.execute();
    });
  }

  /**
   * `tags` holds a JSON array: the tag, JSON-encoded as it is stored, is a substring of it. Case-sensitive on
   * every engine (LIKE is not on SQLite and MySQL).
   */
  private hasTag(tag: string) {
    const needle = JSON.stringify(tag);
    if (this.db.dialect === 'postgres') return sql<boolean>`strpos(tags, ${needle}) > 0`;
    if (this.db.dialect === 'mysql') return sql<boolean>`locate(binary ${needle}, tags) > 0`;
    return sql<boolean>`instr(tags, ${needle}) > 0`;
  }

  async update(tenantId: string, id: string, values: Partial<VideosTable>): Promise<number> {
    const r = await this.db.primary
      .updateTable('videos')
      .set(values)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async updateStatus(
    tenantId: string,
    id: string,
    status: string,
    values: Partial<VideosTable>,
  ): Promise<void> {
    await this.db.primary.transaction().execute(async (trx) => {
      await trx
        .updateTable('videos')
        .set({ ...values, status })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '!=', 'blocked')
        .execute();
      await trx
        .updateTable('videos')
        .set({ ...values, status_before_block: status })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'blocked')
        .execute();
    });
  }

  /** Videos waiting for a moderator (detection sent them to review), oldest first. */
  async listInReview(tenantId: string, limit: number, afterId?: string): Promise<VideosTable[]> {
    let q = this.db.primary
      .selectFrom('videos')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('review_status', '=', 'pending')
      .orderBy('id', 'asc')
      .limit(limit + 1);
    if (afterId) q = q.where('id', '>', afterId);
    return q.execute();
  }

  async countInStatus(tenantId: string, status: string): Promise<number> {
    const row = await this.db.primary
      .selectFrom('videos')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('status', '=', status)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Counts one more finished chunk of a generation, atomically; returns the new count. */
  async bumpChunks(tenantId: string, id: string, generation: string): Promise<number> {
    await this.db.primary
      .updateTable('videos')
      .set((eb) => ({ chunks_done: eb('chunks_done', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('generation', '=', generation)
      .execute();
    const row = await this.db.primary
      .selectFrom('videos')
      .select('chunks_done')
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(row?.chunks_done ?? 0);
  }

  // ---------------------------------------------------------------- processing (modules/pipeline)

  /** A process step planned a new generation: the source's facts, its renditions, the plan and its key. */
  async recordPlan(
    tenantId: string,
    id: string,
    p: {
      durationSec: number;
      width: number | null;
      height: number | null;
      sourceInfo: Record<string, unknown>;
      renditions: Array<Record<string, unknown>>;
      plan: { generation: string };
      /** The sealed AES key, or null when the generation is not encrypted. */
      hlsKey: string | null;
    },
  ): Promise<void> {
    const at = nowIso();
    await this.update(tenantId, id, {
      duration: p.durationSec,
      width: p.width,
      height: p.height,
      source_info: JSON.stringify(p.sourceInfo),
      renditions: JSON.stringify(p.renditions),
      plan: JSON.stringify(p.plan),
      generation: p.plan.generation,
      hls_key: p.hlsKey,
      chunks_done: 0,
      progress: 0.02,
      processing_started_at: at,
      error_code: null,
      error_message: null,
      updated_at: at,
    });
  }

  /** The plan of the generation being made, changed by its fast path (passthrough segments, audio copy). */
  async savePlan(tenantId: string, id: string, plan: object): Promise<void> {
    await this.update(tenantId, id, { plan: JSON.stringify(plan) });
  }

  /** Playable from `at` on (its first segments can be served). */
  async markPlayable(tenantId: string, id: string, at: string): Promise<void> {
    await this.update(tenantId, id, { playable: 1, playable_at: at, updated_at: at });
  }

  /** Not playable any more (its source turned out damaged). */
  async markUnplayable(tenantId: string, id: string): Promise<void> {
    await this.update(tenantId, id, { playable: 0 });
  }

  async setProgress(tenantId: string, id: string, progress: number): Promise<void> {
    await this.update(tenantId, id, { progress });
  }

  /** The published generation got a new poster (a cover change): its outputs as they are now. */
  async setCover(tenantId: string, id: string, outputs: object): Promise<void> {
    await this.update(tenantId, id, { outputs: JSON.stringify(outputs), updated_at: nowIso() });
  }

  /**
   * One update switches players to a complete generation (the status is set apart: see setStatus), with
   * the bytes of its outputs; in the same transaction its usage, one `transcode_usage` row per rendition.
   * A retried publish writes the same rows again: they are ignored (primary key video, generation,
   * rendition). Returns the usage rows this call inserted (none on a retry), for the metrics.
   */
  async publishGeneration(
    tenantId: string,
    id: string,
    p: {
      generation: string;
      /** The sealed key of the generation (the row's hls_key while it is made), or null. */
      hlsKey: string | null;
      outputs: object;
      renditions: Array<Record<string, unknown>>;
      playableAt: string;
      at: string;
      /** Bytes of the generation's objects (every key under its prefix). */
      outputBytes?: number;
      /** Seconds of output per rendition (`720p`, `audio`). */
      usage?: Array<{ rendition: string; seconds: number }>;
    },
  ): Promise<Array<{ rendition: string; seconds: number }>> {
    return this.db.primary.transaction().execute(async (trx) => {
      await trx
        .updateTable('videos')
        .set({
          published_generation: p.generation,
          // The published generation keeps its own key while a later retranscode makes another.
          published_hls_key: p.hlsKey,
          outputs: JSON.stringify(p.outputs),
          renditions: JSON.stringify(p.renditions),
          progress: 1,
          playable: 1,
          playable_at: p.playableAt,
          ready_at: p.at,
          updated_at: p.at,
          ...(p.outputBytes === undefined ? {} : { output_bytes: p.outputBytes }),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
      const inserted: Array<{ rendition: string; seconds: number }> = [];
      // One statement per rendition (a handful): each tells whether it inserted its row.
      for (const u of p.usage ?? []) {
        const insert = trx.insertInto('transcode_usage').values({
          video_id: id,
          generation: p.generation,
          rendition: u.rendition,
          tenant_id: tenantId,
          seconds: u.seconds,
          created_at: p.at,
        });
        const r = await skippingDuplicates(this.db.dialect, insert).executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) inserted.push(u);
      }
      return inserted;
    });
  }

  /** Errored with a stable code and a message saying why. */
  async markErrored(tenantId: string, id: string, code: string, message: string): Promise<void> {
    await this.update(tenantId, id, {
      status: 'errored',
      error_code: code,
      error_message: message.slice(0, 2000),
      updated_at: nowIso(),
    });
  }

  async delete(tenantId: string, id: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('videos')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
