// `vodcloud backup` / `vodcloud restore` as separate processes against a real server on each engine: the
// backup is taken while the API keeps writing (every write must succeed; the longest one is printed), the
// restore goes into a second fresh database and a server on it (same storage and secret) lists what the
// first one had when the backup started; a non-empty target, a tampered dump and a missing object are
// refused or reported.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore } from '@vodcloud/storage';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../apps/server/src/db/connect';
import { migrations } from '../../apps/server/src/db/migrations/index';
import { startTestServer, type TestServer } from '../support/app';
import { runCli } from '../support/cli';
import { databaseEngines, type TestDatabase } from '../support/databases';
import { createUploadVia } from '../support/uploads';
import { createTemplate, makeClip, uploadUntilReady } from '../support/videos';

const SECRET = 'backup-test-secret-0123456789abcdef';
const root = mkdtempSync(path.join(tmpdir(), 'vodbackup-'));
let clip: string;

beforeAll(async () => {
  clip = await makeClip(path.join(root, 'clip.mp4'), { duration: 2, audio: true });
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Auth = Record<string, string>;
type Row = Record<string, unknown>;
interface Body extends Row {
  data?: Row[];
  nextCursor?: string | null;
}

async function api(url: string, auth: Auth, method: string, route: string, body?: unknown) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { ...auth, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Body };
}

/** Every video id and title, category name and template name the tenant's key sees. */
async function listing(url: string, auth: Auth) {
  const all = async <T>(route: string, pick: (row: Row) => T) => {
    const rows: T[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(url, auth, 'GET', `${route}?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      rows.push(...page.body.data!.map(pick));
      cursor = page.body.nextCursor ?? null;
    } while (cursor);
    return rows;
  };
  const videos = await all('/v1/videos', (v) => ({ id: v.id as string, title: v.title as string }));
  const categories = await all('/v1/categories', (c) => c.name as string);
  const templates = (await api(url, auth, 'GET', '/v1/templates')).body.data!.map((t) => t.name as string);
  return { videos, categories: categories.sort(), templates: templates.sort() };
}

/** Writes through the API until stopped: a new category, then a video's title, alternately. */
function writeLoop(url: string, auth: Auth, videoIds: string[]) {
  let stop = false;
  const acked: string[] = [];
  const failures: string[] = [];
  let longestMs = 0;
  let writes = 0;
  /** Wall-clock [start, end] of each write, to find those that overlapped the dump itself. */
  const spans: Array<[number, number]> = [];
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const t0 = performance.now();
      const wall = Date.now();
      const r =
        i % 2 === 0
          ? await api(url, auth, 'POST', '/v1/categories', { name: `during-${i}` })
          : await api(url, auth, 'PATCH', `/v1/videos/${videoIds[i % videoIds.length]}`, { title: `t-${i}` });
      longestMs = Math.max(longestMs, performance.now() - t0);
      spans.push([wall, Date.now()]);
      writes++;
      if (r.status >= 300) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      else if (i % 2 === 0) acked.push(`during-${i}`);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { acked, failures, longestMs, writes, spans };
    },
  };
}

for (const engine of databaseEngines('backup and restore')) {
  describe.skipIf(!engine.available)(`backup and restore on ${engine.engine}`, () => {
    const dir = path.join(root, engine.engine);
    const storageUrl = `file:${path.join(dir, 'objects')}`;
    const dbs: TestDatabase[] = [];
    const fresh = async () => {
      const db = await engine.create();
      dbs.push(db);
      return db;
    };
    const cli = (args: string[], db: TestDatabase, timeoutMs = 120_000) =>
      runCli(
        args,
        {
          VOD_DB_URL: db.url,
          VOD_STORAGE_URL: storageUrl,
          VOD_SECRET: SECRET,
          VOD_DATA_DIR: path.join(dir, 'cli'),
          VOD_LOG_LEVEL: 'warn',
        },
        timeoutMs,
      );
    const serverOn = (db: TestDatabase, name: string) =>
      startTestServer({
        VOD_DB_URL: db.url,
        VOD_STORAGE_URL: storageUrl,
        VOD_SECRET: SECRET,
        VOD_DATA_DIR: path.join(dir, name),
      });
    let first: TestServer | undefined;
    let second: TestServer | undefined;
    let tenant: { auth: Auth };
    let before: Awaited<ReturnType<typeof listing>>;
    let during: Awaited<ReturnType<ReturnType<typeof writeLoop>['stop']>>;
    const backupDir = path.join(dir, 'backup');

    afterAll(async () => {
      await first?.close();
      await second?.close();
      for (const db of dbs) await db.drop().catch(() => undefined);
    });

    it('takes a backup while writes go on, none failing', async () => {
      const source = await fresh();
      first = await serverOn(source, 'first');
      tenant = await first.tenant('backup');
      const auth = { ...tenant.auth };
      const templateId = await createTemplate(first.url, auth, {
        name: 'tiny',
        renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
        audio: { bitrate: 64_000 },
        mp4: 'none',
      });
      for (const name of ['news', 'sport', 'music'])
        expect((await api(first.url, auth, 'POST', '/v1/categories', { name })).status).toBe(201);
      const ready = [];
      for (const title of ['one', 'two'])
        ready.push(await uploadUntilReady<{ id: string }>(first.url, auth, clip, { title, templateId }));
      const waiting = [];
      for (let i = 0; i < 5; i++)
        waiting.push(await createUploadVia(first.url, auth, { title: `waiting-${i}` }));
      before = await listing(first.url, auth);
      expect(before.videos).toHaveLength(7);

      const loop = writeLoop(first.url, auth, [...ready.map((v) => v.id), ...waiting.map((w) => w.videoId)]);
      await new Promise((r) => setTimeout(r, 200)); // the loop is writing before the backup starts
      const t0 = performance.now();
      const run = await cli(['backup', '--out', backupDir], source);
      const backupMs = performance.now() - t0;
      during = await loop.stop();
      expect(run.code, run.stderr + run.stdout).toBe(0);
      const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
      const dumpStart = Date.parse(manifest.createdAt);
      const dumpEnd = dumpStart + manifest.durationMs.database;
      const overlapping = during.spans.filter(([a, b]) => a <= dumpEnd && b >= dumpStart);
      console.log(
        `${engine.engine}: backup ${Math.round(backupMs)} ms (process), ${during.writes} writes during it, ` +
          `longest ${Math.round(during.longestMs)} ms, failed ${during.failures.length}; the dump itself ` +
          `${manifest.durationMs.database} ms, ${overlapping.length} writes overlapping it, longest ` +
          `${Math.max(0, ...overlapping.map(([a, b]) => b - a))} ms`,
      );
      expect(during.failures).toEqual([]);
      expect(during.writes).toBeGreaterThan(5);
      expect(during.longestMs).toBeLessThan(2000);
      expect(overlapping.length).toBeGreaterThan(0); // writes went on during the dump itself

      expect(manifest).toMatchObject({ format: 'vodcloud-backup', dialect: engine.engine });
      expect(manifest.lastMigration).toMatch(/^\d{3}_/);
      const objects = readFileSync(path.join(backupDir, 'objects.jsonl'), 'utf8').trim().split('\n');
      expect(objects.length).toBe(manifest.objects.count);
      expect(objects.length).toBeGreaterThan(2);
      for (const v of ready)
        expect(objects.some((l) => JSON.parse(l).key.endsWith(`${v.id}/source`))).toBe(true);
      expect(JSON.parse(objects[0]!).sha256).toMatch(/^[0-9a-f]{64}$/);
      if (manifest.rowCounts) expect(manifest.rowCounts.videos).toBe(7);
      await first.close();
      first = undefined;
    }, 300_000);

    it('refuses a backup into a directory that is not empty', async () => {
      const r = await cli(['backup', '--out', backupDir], dbs[0]!);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not empty/);
    }, 60_000);

    it('restores into a fresh database that a server then serves as before', async () => {
      const target = await fresh();
      const r = await cli(['restore', '--from', backupDir], target);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/storage: \d+ ok, 0 missing, 0 different/);
      expect(r.stdout).toMatch(/not copied by vodcloud/);
      second = await serverOn(target, 'second');
      const after = await listing(second.url, tenant.auth);
      expect(after.videos.map((v) => v.id).sort()).toEqual(before.videos.map((v) => v.id).sort());
      expect(after.templates).toEqual(before.templates);
      // Everything acknowledged before the backup began is there; what came during it may be, or not.
      for (const name of before.categories) expect(after.categories).toContain(name);
      for (const name of after.categories) expect([...before.categories, ...during.acked]).toContain(name);
      // The snapshot's own row count (read in it, or counted in the MariaDB dump) is what came back.
      const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
      expect(after.categories.length).toBe(manifest.rowCounts.categories);
      // A video uploaded before the backup plays from the same store under the restored keys.
      const video = await api(second.url, tenant.auth, 'GET', `/v1/videos/${before.videos.at(-1)!.id}`);
      expect(video.body).toMatchObject({ title: expect.any(String), status: 'ready' });
      const hls = (video.body.playback as { hlsUrl: string }).hlsUrl;
      const master = await fetch(new URL(new URL(hls).pathname + new URL(hls).search, second.url));
      expect(master.status).toBe(200);
      expect(await master.text()).toContain('#EXTM3U');
      await second.close();
      second = undefined;

      const again = await cli(['restore', '--from', backupDir], target);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/is not empty \(\d+ table\(s\): .*api_keys/);
    }, 180_000);

    it('refuses a dump whose sha256 differs from the manifest', async () => {
      const tampered = path.join(dir, 'tampered');
      cpSync(backupDir, tampered, { recursive: true });
      const manifest = JSON.parse(readFileSync(path.join(tampered, 'manifest.json'), 'utf8'));
      const dump = path.join(tampered, manifest.dump.file);
      const bytes = readFileSync(dump);
      const at = bytes.length >> 1;
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(dump, bytes);
      const target = await fresh();
      const r = await cli(['restore', '--from', tampered], target);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not match the manifest/);
      // A backup of a newer version (a migration unknown here) is refused before anything is written.
      const future = path.join(dir, 'future');
      cpSync(backupDir, future, { recursive: true });
      writeFileSync(
        path.join(future, 'manifest.json'),
        JSON.stringify({ ...manifest, lastMigration: '999_future' }),
      );
      const newer = await cli(['restore', '--from', future], target);
      expect(newer.code).toBe(1);
      expect(newer.stderr).toMatch(/taken by a newer vodcloud .*999_future/);
      // Nothing was written: the same database takes the good backup.
      const good = await cli(['restore', '--from', backupDir, '--no-verify-storage'], target);
      expect(good.code, good.stderr).toBe(0);
    }, 120_000);

    it('brings a backup of an older version up to date', async () => {
      const old = await fresh();
      const names = Object.keys(migrations);
      const db = createDatabase(old.url);
      try {
        const migrator = new Migrator({
          db: db.primary,
          provider: { getMigrations: async () => migrations },
          migrationTableName: 'vod_migrations',
          migrationLockTableName: 'vod_migrations_lock',
        });
        const r = await migrator.migrateTo(names.at(-2)!);
        expect(r.error).toBeUndefined();
      } finally {
        await db.close();
      }
      const oldBackup = path.join(dir, 'older');
      expect((await cli(['backup', '--out', oldBackup], old)).code).toBe(0);
      const target = await fresh();
      const r = await cli(['restore', '--from', oldBackup], target);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`migrated from ${names.at(-2)}: ${names.at(-1)}`);
    }, 120_000);

    it('reports an object missing from the store, exit non-zero', async () => {
      const lines = readFileSync(path.join(backupDir, 'objects.jsonl'), 'utf8').trim().split('\n');
      const gone = JSON.parse(lines.find((l) => l.includes('/source"'))!).key as string;
      const store = await createObjectStore(storageUrl);
      await store.delete(gone);
      await store.close();
      const target = await fresh();
      const r = await cli(['restore', '--from', backupDir], target);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`storage: ${lines.length - 1} ok, 1 missing, 0 different`));
      expect(r.stdout).toContain(`missing: ${gone}`);
    }, 120_000);
  });
}
