// The usage facts of issue 17 on every engine: what a publish records (output bytes, one transcode_usage
// row per rendition, once), the daily storage snapshot, transcoded seconds and uploads/imports by range.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { createDatabase, type Database } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import type { VideosTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { VideoRepository } from '../videos/repository';
import { measureStorage, transcodedSeconds, uploadsAndImports } from './usage-sources';

const silent = pino({ level: 'silent' });

function video(tenantId: string, over: Partial<VideosTable> = {}): VideosTable {
  const at = over.created_at ?? '2026-03-01T10:00:00.000Z';
  return {
    id: newId(),
    tenant_id: tenantId,
    title: null,
    description: null,
    category_id: null,
    tags: '[]',
    status: 'ready',
    status_before_block: null,
    playable: 0,
    progress: 0,
    duration: null,
    width: null,
    height: null,
    size_bytes: null,
    source_info: null,
    renditions: '[]',
    playback_id: newId().toLowerCase(),
    playback_policy: 'public',
    template_id: null,
    input_url: null,
    cover_time: null,
    detection: null,
    error_code: null,
    error_message: null,
    meta: '{}',
    passthrough: null,
    created_at: at,
    updated_at: at,
    ready_at: null,
    ...over,
  };
}

const publish = (gen: string, at: string, usage: Array<{ rendition: string; seconds: number }>) => ({
  generation: gen,
  hlsKey: null,
  outputs: { prefix: gen },
  renditions: [],
  playableAt: at,
  at,
  outputBytes: 12_345,
  usage,
});

for (const engine of databaseEngines('usage sources suite')) {
  describe.skipIf(!engine.available)(`usage sources on ${engine.engine}`, () => {
    let tdb: TestDatabase;
    let db: Database;
    let repo: VideoRepository;
    const tenant = async (name: string) => {
      const id = newId();
      await db.primary
        .insertInto('tenants')
        .values({ id, name, created_at: new Date().toISOString() })
        .execute();
      return id;
    };

    beforeAll(async () => {
      tdb = await engine.create();
      db = createDatabase(tdb.url, { log: silent });
      await migrateToLatest(db.primary as never);
      repo = new VideoRepository(db);
    });
    afterAll(async () => {
      await db?.close();
      await tdb?.drop();
    });

    it('a publish records the output bytes and one usage row per rendition, once; a retranscode adds its own', async () => {
      const t = await tenant('publish');
      const v = video(t, { status: 'processing' });
      await repo.insert(v);
      const usage = [
        { rendition: '360p', seconds: 12.5 },
        { rendition: '720p', seconds: 12.5 },
        { rendition: 'audio', seconds: 12.5 },
      ];
      const g1 = newId();
      const at1 = '2026-03-02T08:00:00.000Z';
      expect(await repo.publishGeneration(t, v.id, publish(g1, at1, usage))).toEqual(usage);
      const row = await repo.find(t, v.id);
      expect(Number(row?.output_bytes)).toBe(12_345);
      expect(row?.published_generation).toBe(g1);
      // A retried publish: the same rows, ignored; nothing new to count.
      expect(await repo.publishGeneration(t, v.id, publish(g1, '2026-03-02T08:00:05.000Z', usage))).toEqual(
        [],
      );
      const rows = await db.primary
        .selectFrom('transcode_usage')
        .selectAll()
        .where('video_id', '=', v.id)
        .orderBy('rendition')
        .execute();
      expect(
        rows.map((r) => [r.generation, r.rendition, Number(r.seconds), r.tenant_id, r.created_at]),
      ).toEqual([
        [g1, '360p', 12.5, t, at1],
        [g1, '720p', 12.5, t, at1],
        [g1, 'audio', 12.5, t, at1],
      ]);
      // A retranscode publishes a new generation: transcoded again, counted again.
      const g2 = newId();
      const at2 = '2026-03-03T08:00:00.000Z';
      expect(await repo.publishGeneration(t, v.id, publish(g2, at2, usage.slice(1)))).toHaveLength(2);
      const all = await transcodedSeconds(db, t, '2026-03-01T00:00:00.000Z', '2026-03-04T00:00:00.000Z');
      expect(all.total).toBe(62.5);
      expect(all.byRendition).toEqual({ '360p': 12.5, '720p': 25, audio: 25 });
      // The publish without usage (before this change) leaves output_bytes alone.
      await repo.publishGeneration(t, v.id, { ...publish(g2, at2, []), outputBytes: undefined });
      expect(Number((await repo.find(t, v.id))?.output_bytes)).toBe(12_345);
    });

    it('measures stored bytes per tenant per day: kept sources and outputs, zeros without videos, re-run overwrites', async () => {
      const a = await tenant('storage-a');
      const b = await tenant('storage-b');
      const done = video(a, {
        size_bytes: 5_000_000_000, // beyond 32 bits
        output_bytes: 3_000_000_000,
        upload_completed_at: '2026-03-01T10:00:00.000Z',
      });
      const legacy = video(a, { size_bytes: 700, output_bytes: 300, ready_at: '2026-01-01T00:00:00.000Z' });
      // An upload in progress declares its size before its bytes are in: not stored yet.
      const uploading = video(a, { status: 'uploading', size_bytes: 999_999 });
      const importing = video(a, { status: 'uploading', input_url: 'https://example.com/a.mp4' });
      for (const v of [done, legacy, uploading, importing]) await repo.insert(v);
      const day = '2026-03-05';
      const first = await measureStorage(db, day, new Date('2026-03-05T00:10:00.000Z'));
      expect(first[a]).toEqual({ sourceBytes: 5_000_000_700, outputBytes: 3_000_000_300, videos: 4 });
      expect(first[b]).toEqual({ sourceBytes: 0, outputBytes: 0, videos: 0 });
      const stored = async () =>
        (
          await db.primary
            .selectFrom('storage_usage')
            .selectAll()
            .where('tenant_id', 'in', [a, b])
            .orderBy('tenant_id')
            .execute()
        ).map((r) => ({
          tenant: r.tenant_id,
          day: r.day,
          source: Number(r.source_bytes),
          output: Number(r.output_bytes),
          videos: Number(r.videos),
          at: r.measured_at,
        }));
      expect(await stored()).toEqual(
        [
          {
            tenant: a,
            day,
            source: 5_000_000_700,
            output: 3_000_000_300,
            videos: 4,
            at: '2026-03-05T00:10:00.000Z',
          },
          { tenant: b, day, source: 0, output: 0, videos: 0, at: '2026-03-05T00:10:00.000Z' },
        ].sort((x, y) => (x.tenant < y.tenant ? -1 : 1)),
      );
      // Deleted videos do not count; the same day measured again replaces its rows.
      expect(await repo.delete(a, done.id)).toBe(1);
      await repo.insert(video(b, { size_bytes: 10, upload_completed_at: '2026-03-05T01:00:00.000Z' }));
      await measureStorage(db, day, new Date('2026-03-05T02:00:00.000Z'));
      expect(await stored()).toEqual(
        [
          { tenant: a, day, source: 700, output: 300, videos: 3, at: '2026-03-05T02:00:00.000Z' },
          { tenant: b, day, source: 10, output: 0, videos: 1, at: '2026-03-05T02:00:00.000Z' },
        ].sort((x, y) => (x.tenant < y.tenant ? -1 : 1)),
      );
      await expect(measureStorage(db, '2026-3-5')).rejects.toThrow(/YYYY-MM-DD/);
    });

    it('sums transcoded seconds in [from, to), per rendition and per tenant', async () => {
      const a = await tenant('seconds-a');
      const b = await tenant('seconds-b');
      const row = (tenantId: string, rendition: string, seconds: number, at: string) => ({
        video_id: newId(),
        generation: newId(),
        rendition,
        tenant_id: tenantId,
        seconds,
        created_at: at,
      });
      await db.primary
        .insertInto('transcode_usage')
        .values([
          row(a, '720p', 10, '2026-04-01T00:00:00.000Z'), // the first instant: in
          row(a, '360p', 10, '2026-04-01T12:00:00.000Z'),
          row(a, 'audio', 2.25, '2026-04-01T23:59:59.999Z'),
          row(a, '720p', 100, '2026-04-02T00:00:00.000Z'), // `to`: out
          row(b, '720p', 7, '2026-04-01T06:00:00.000Z'),
          row(b, '1080p', 1.5, '2026-03-31T23:59:59.999Z'), // before: out
        ])
        .execute();
      const from = '2026-04-01T00:00:00.000Z';
      const to = '2026-04-02T00:00:00.000Z';
      expect(await transcodedSeconds(db, a, from, to)).toEqual({
        total: 22.25,
        byRendition: { '720p': 10, '360p': 10, audio: 2.25 },
        byTenant: { [a]: { total: 22.25, byRendition: { '720p': 10, '360p': 10, audio: 2.25 } } },
      });
      const all = await transcodedSeconds(db, null, from, to);
      expect(all.byTenant[b]).toEqual({ total: 7, byRendition: { '720p': 7 } });
      expect(all.byTenant[a]?.total).toBe(22.25);
      // Rows of the other tests are at other times.
      expect(all.total).toBe(29.25);
      expect(all.byRendition).toEqual({ '720p': 17, '360p': 10, audio: 2.25 });
      expect(await transcodedSeconds(db, b, '2026-05-01T00:00:00.000Z', '2026-05-02T00:00:00.000Z')).toEqual({
        total: 0,
        byRendition: {},
        byTenant: {},
      });
    });

    it('counts uploads and imports created in [from, to), per tenant', async () => {
      const a = await tenant('uploads-a');
      const b = await tenant('uploads-b');
      const url = 'https://example.com/v.mp4';
      for (const v of [
        video(a, { created_at: '2026-06-01T00:00:00.000Z' }),
        video(a, { created_at: '2026-06-01T10:00:00.000Z', status: 'waiting_upload' }),
        video(a, { created_at: '2026-06-01T11:00:00.000Z', input_url: url }),
        video(a, { created_at: '2026-06-02T00:00:00.000Z' }), // `to`: out
        video(b, { created_at: '2026-06-01T05:00:00.000Z', input_url: url }),
        video(b, { created_at: '2026-06-01T06:00:00.000Z', input_url: url, status: 'errored' }),
        video(b, { created_at: '2026-05-31T23:59:59.999Z' }), // before: out
      ])
        await repo.insert(v);
      const from = '2026-06-01T00:00:00.000Z';
      const to = '2026-06-02T00:00:00.000Z';
      expect(await uploadsAndImports(db, a, from, to)).toEqual({
        uploads: 2,
        imports: 1,
        byTenant: { [a]: { uploads: 2, imports: 1 } },
      });
      expect(await uploadsAndImports(db, null, from, to)).toEqual({
        uploads: 2,
        imports: 3,
        byTenant: { [a]: { uploads: 2, imports: 1 }, [b]: { uploads: 0, imports: 2 } },
      });
      expect(await uploadsAndImports(db, b, '2026-07-01T00:00:00.000Z', '2026-07-02T00:00:00.000Z')).toEqual({
        uploads: 0,
        imports: 0,
        byTenant: {},
      });
    });
  });
}
