// Database high availability against a real MariaDB primary + semi-synchronous replica (scripts/db-ha-*.sh):
// read-your-writes over a lagging replica, then a stream of writes through which the primary is SIGKILLed and the
// replica promoted: every acknowledged write is on the new primary, reads never fail, an upload in flight and a
// queued job complete, and the old primary rejoins as a replica.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore } from '@vodcloud/storage';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeHandle, serve, tenantOver } from '../support/cli';
import { DbHaPair, mariadbServerAvailable } from '../support/db-ha';
import { engineUrl } from '../support/engines';
import { makeWebReady } from '../support/sources';
import { createUploadVia, objectSha, sha256, waitFor } from '../support/uploads';

const redis = engineUrl('redis', 'database HA (read-your-writes marks shared through Redis)');
const mysqlServer = engineUrl('mysql', 'database HA (a backup of the pair restored elsewhere)');
const available = await mariadbServerAvailable();
if (!available && process.env.VOD_TEST_REQUIRE_ENGINES === '1')
  throw new Error(
    'database HA: mariadbd is not installed but VOD_TEST_REQUIRE_ENGINES=1 (apt-get install mariadb-server)',
  );

const ADMIN = `db-ha-admin-key-${Date.now()}-padding`;
const TUS = { 'tus-resumable': '1.0.0' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  status: number;
  retryAfter: string | null;
  body: unknown;
  at: number;
}

/** One request; a hang past 15 s or a network error is status 0 (never expected). */
async function call(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Outcome> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: text ? JSON.parse(text) : null,
      at: Date.now(),
    };
  } catch (err) {
    return { status: 0, retryAfter: null, body: String(err), at: Date.now() };
  }
}

describe.skipIf(!available || !redis || !mysqlServer)(
  'database high availability (MariaDB primary + semi-sync replica)',
  () => {
    let dir: string;
    let pair: DbHaPair;
    let env: Record<string, string>;
    const nodes: ServeHandle[] = [];
    let A: ServeHandle; // every role
    let B: ServeHandle; // api, sharing read-your-writes marks with A through Redis
    let C: ServeHandle; // api, with its own in-memory cache: sees no other node's marks

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'vod-dbha-'));
      chmodSync(dir, 0o755); // mariadbd runs as mysql
      pair = new DbHaPair(path.join(dir, 'db'), { n1: 23307, n2: 23308 });
      await pair.script('down', ['--purge']).catch(() => undefined);
      await pair.script('up');
      env = {
        VOD_DATA_DIR: path.join(dir, 'data'),
        VOD_DB_URL: pair.url,
        VOD_DB_REPLICA_URL: pair.url,
        VOD_ADMIN_API_KEY: ADMIN,
        VOD_SECRET: 'db-ha-test-secret-0123456789abcdef0123',
        VOD_LOG_LEVEL: 'warn',
        VOD_PORT: '0',
        VOD_HOST: '127.0.0.1',
        VOD_CACHE_URL: redis!,
        VOD_DETECTION: 'off',
      };
      A = await serve([], env, 60_000);
      nodes.push(A);
      B = await serve(['--roles', 'api'], env, 60_000);
      nodes.push(B);
      C = await serve(['--roles', 'api'], { ...env, VOD_CACHE_URL: 'memory' }, 60_000);
      nodes.push(C);
    }, 180_000);

    afterAll(async () => {
      for (const n of nodes) n.child.kill('SIGKILL');
      await pair?.script('down', ['--purge']).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    const names = async (node: ServeHandle, auth: Record<string, string>) => {
      const r = await call(`${node.url}/v1/categories?limit=100`, { headers: auth });
      expect(r.status).toBe(200);
      return (r.body as { data: Array<{ name: string }> }).data.map((c) => c.name);
    };
    const bypassed = async (node: ServeHandle) => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return /^vod_db_replica_reads_bypassed (\d)/m.exec(text)?.[1];
    };

    /** Replication on n2 running with this delay, and C's lag watch (1 s period) having seen it run since. */
    const replicating = async (delaySec: number) => {
      await pair.sql('n2', 'STOP SLAVE');
      await pair.sql('n2', `CHANGE MASTER TO MASTER_DELAY=${delaySec}`);
      await pair.sql('n2', 'START SLAVE');
      await waitFor(
        async () => {
          const [s] = await pair.sql<{ Slave_IO_Running: string; Slave_SQL_Running: string }>(
            'n2',
            'SHOW SLAVE STATUS',
          );
          return s?.Slave_IO_Running === 'Yes' && s.Slave_SQL_Running === 'Yes' ? true : undefined;
        },
        15_000,
        'n2 to replicate',
      );
      // A check that began while replication was stopped may still land: wait out two periods, then for C to
      // read the replica (not bypassed).
      await sleep(2200);
      await waitFor(
        async () => ((await bypassed(C)) === '0' ? true : undefined),
        15_000,
        'C to read the replica',
      );
    };

    it('reads your writes through a lagging replica, on every node sharing the marks; a replica past the bound is bypassed', async () => {
      const t = await tenantOver(A.url, ADMIN, 'ryw');
      try {
        // Lag injected: the replica applies each transaction 3 s late (within the 5 s bound: it keeps serving reads).
        await replicating(3);
        const created = await call(`${A.url}/v1/categories`, {
          method: 'POST',
          headers: t.auth,
          body: JSON.stringify({ name: 'fresh' }),
        });
        expect(created.status).toBe(201);
        // The writer's node and a node sharing its marks read it from the primary at once...
        expect(await names(A, t.auth)).toContain('fresh');
        expect(await names(B, t.auth)).toContain('fresh');
        // ...while a node without the mark reads the replica, 3 s behind: the lag is real and the replica in use.
        expect(await names(C, t.auth)).not.toContain('fresh');
        await waitFor(
          async () => ((await names(C, t.auth)).includes('fresh') ? true : undefined),
          15_000,
          'the replica to apply it',
        );

        // Past the bound (replication stopped): every node reads the primary until the replica catches up.
        await pair.sql('n2', 'STOP SLAVE SQL_THREAD');
        await waitFor(
          async () => ((await bypassed(C)) === '1' ? true : undefined),
          10_000,
          'C to bypass the replica',
        );
        const second = await call(`${A.url}/v1/categories`, {
          method: 'POST',
          headers: t.auth,
          body: JSON.stringify({ name: 'second' }),
        });
        expect(second.status).toBe(201);
        await sleep(8000); // the tenant's read-your-writes window (5 + 2 s) has passed: only the bypass remains
        expect(await names(C, t.auth)).toContain('second');
      } finally {
        // Replication as the next test expects it, whatever happened above.
        await replicating(0);
      }
    }, 120_000);

    it('loses no acknowledged write when the primary is SIGKILLed and the replica promoted; reads go on; an upload in flight and a queued job complete', async () => {
      const t = await tenantOver(A.url, ADMIN, 'failover');
      const clip = await makeWebReady(path.join(dir, 'clip.mp4'), { duration: 12 });
      const data = readFileSync(clip);
      const store = await createObjectStore(`file:${path.join(env.VOD_DATA_DIR!, 'objects')}`);
      // Videos whose titles writer 2 keeps changing.
      const videos: string[] = [];
      for (let i = 0; i < 10; i++)
        videos.push((await createUploadVia(A.url, t.auth, { title: `v${i}` })).videoId);

      const acked = {
        categories: new Map<string, string>(),
        uploads: [] as string[],
        titles: new Map<string, string[]>(),
      };
      const attempted = new Map<string, string[]>(); // titles sent per video, in order
      const failures: Outcome[] = [];
      const writes: Outcome[] = [];
      const reads = { ok: 0, failed: [] as Outcome[] };
      let stop = false;
      const total = () =>
        acked.categories.size +
        acked.uploads.length +
        [...acked.titles.values()].reduce((n, l) => n + l.length, 0);
      const record = (o: Outcome) => {
        writes.push(o);
        if (o.status >= 200 && o.status < 300) return true;
        if (o.status !== 503 || !o.retryAfter) failures.push(o);
        return false;
      };
      const pace = (o: Outcome) => sleep(o.status === 503 ? 200 : 0);
      const writer1 = (async () => {
        for (let i = 0; !stop; i++) {
          const o = await call(`${A.url}/v1/categories`, {
            method: 'POST',
            headers: t.auth,
            body: JSON.stringify({ name: `c${i}` }),
          });
          if (record(o)) acked.categories.set((o.body as { id: string }).id, `c${i}`);
          await pace(o);
        }
      })();
      const writer2 = (async () => {
        for (let i = 0; !stop; i++) {
          const v = videos[i % videos.length]!;
          const title = `title-${i}`;
          attempted.set(v, [...(attempted.get(v) ?? []), title]);
          const o = await call(`${B.url}/v1/videos/${v}`, {
            method: 'PATCH',
            headers: t.auth,
            body: JSON.stringify({ title }),
          });
          if (record(o)) acked.titles.set(v, [...(acked.titles.get(v) ?? []), title]);
          await pace(o);
        }
      })();
      const writer3 = (async () => {
        for (let i = 0; !stop; i++) {
          const o = await call(`${A.url}/v1/uploads`, {
            method: 'POST',
            headers: t.auth,
            body: JSON.stringify({ title: `u${i}` }),
          });
          if (record(o)) acked.uploads.push((o.body as { videoId: string }).videoId);
          await pace(o);
        }
      })();
      const reader = (async () => {
        for (let i = 0; !stop; i++) {
          const o =
            i % 2
              ? await call(`${C.url}/v1/categories?limit=20`, { headers: t.auth })
              : await call(`${C.url}/v1/videos/${videos[i % videos.length]}`, { headers: t.auth });
          if (o.status === 200) reads.ok++;
          else reads.failed.push(o);
          await sleep(20);
        }
      })();

      // An upload in flight: its first part before the primary dies, the next while it is down, the last after.
      const third = Math.floor(data.length / 3);
      /** A tus upload of `data`, created through node A, sent in parts by the test as a client would. */
      const startUpload = async (title: string) => {
        const u = await createUploadVia(A.url, t.auth, { title });
        const created = await fetch(u.url, {
          method: 'POST',
          headers: { ...u.headers, ...TUS, 'upload-length': String(data.length) },
        });
        expect(created.status).toBe(201);
        const location = created.headers.get('location')!;
        const send = (method: 'PATCH' | 'HEAD', from = 0, to = 0) =>
          fetch(location, {
            method,
            headers: {
              ...u.headers,
              ...TUS,
              ...(method === 'PATCH' && {
                'upload-offset': String(from),
                'content-type': 'application/offset+octet-stream',
              }),
            },
            body: method === 'PATCH' ? data.subarray(from, to) : undefined,
            signal: AbortSignal.timeout(30_000),
          });
        return { videoId: u.videoId, send };
      };
      // Uploads in flight: their first part before the primary dies, the next while it is down, the last
      // after the promotion (inFlight) or while it is still down (endsInOutage: its completion cannot be
      // recorded then; the client's HEAD after the promotion records it, as tus clients ask HEAD after a failure).
      const inFlight = await startUpload('in flight');
      const endsInOutage = await startUpload('ends in the outage');
      expect((await inFlight.send('PATCH', 0, third)).status).toBe(204);
      expect((await endsInOutage.send('PATCH', 0, third)).status).toBe(204);
      // A queued job: a whole upload finished just before the kill, processed across the failover.
      const queued = await createUploadVia(A.url, t.auth, { title: 'queued' });
      const queuedAt = await fetch(queued.url, {
        method: 'POST',
        headers: { ...queued.headers, ...TUS, 'upload-length': String(data.length) },
      });
      expect(queuedAt.status).toBe(201);
      const full = await fetch(queuedAt.headers.get('location')!, {
        method: 'PATCH',
        headers: {
          ...queued.headers,
          ...TUS,
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        },
        body: data,
      });
      expect(full.status).toBe(204);

      await waitFor(async () => (total() >= 250 ? true : undefined), 120_000, '250 acknowledged writes');
      const killedAt = Date.now();
      process.kill(pair.pid('n1'), 'SIGKILL');
      await sleep(1500);
      // While no node is writable: the uploads keep taking bytes.
      expect((await inFlight.send('PATCH', third, 2 * third)).status).toBe(204);
      const last = await endsInOutage.send('PATCH', third, data.length);
      const lastStatus = last.status;
      // Its completion cannot be recorded now: 503 + Retry-After (never a 500), the bytes kept.
      expect([lastStatus, last.headers.get('retry-after')]).toEqual([503, '2']);
      const head = await endsInOutage.send('HEAD');
      expect(head.headers.get('upload-offset')).toBe(String(data.length)); // every byte is stored
      await sleep(1500);
      const promoteStarted = Date.now();
      const promoted = await pair.script('failover');
      const promotedAt = Date.now();
      const promoteMs = promotedAt - promoteStarted;
      expect(promoted).toMatch(/n2 .* is the primary/);
      await waitFor(
        async () => (total() >= 550 && Date.now() - promoteStarted > 3000 ? true : undefined),
        120_000,
        '550 acknowledged writes',
      );
      stop = true;
      await Promise.all([writer1, writer2, writer3, reader]);
      expect((await inFlight.send('PATCH', 2 * third, data.length)).status).toBe(204);
      expect((await endsInOutage.send('HEAD')).status).toBe(200);

      // Every write acknowledged is on the new primary.
      const cats = await pair.sql<{ id: string; name: string }>(
        'n2',
        'SELECT id, name FROM categories WHERE tenant_id = ?',
        [t.id],
      );
      const catNames = new Map(cats.map((c) => [c.id, c.name]));
      const lostCategories = [...acked.categories].filter(([id, name]) => catNames.get(id) !== name);
      const rows = await pair.sql<{ id: string; title: string }>(
        'n2',
        'SELECT id, title FROM videos WHERE tenant_id = ?',
        [t.id],
      );
      const titles = new Map(rows.map((r) => [r.id, r.title]));
      const lostUploads = acked.uploads.filter((id) => !titles.has(id));
      // A title is kept when the video shows the last acknowledged one or one sent after it (a 503 whose commit
      // landed before the crash is allowed to be there; an acknowledged one must never be missing).
      const lostTitles = [...acked.titles].filter(([v, list]) => {
        const sent = attempted.get(v)!;
        return !sent.slice(sent.lastIndexOf(list.at(-1)!)).includes(titles.get(v)!);
      });
      const ok = writes.filter((o) => o.status >= 200 && o.status < 300).map((o) => o.at);
      // The write outage: the longest time without an acknowledged write around the kill (acknowledgements of
      // writes committed just before it may arrive a few ms after it).
      const sorted = ok.sort((x, y) => x - y);
      let outage = 0;
      for (let i = 1; i < sorted.length; i++)
        if (sorted[i]! > killedAt) outage = Math.max(outage, sorted[i]! - sorted[i - 1]!);
      const resumed = sorted.find((at) => at > promoteStarted)!;
      const figures = {
        ackedWrites: total(),
        unavailable503: writes.filter((o) => o.status === 503).length,
        killToPromoteStartMs: promoteStarted - killedAt,
        writeOutageSec: (outage / 1000).toFixed(2),
        promoteMs,
        writesResumedAfterPromoteMs: resumed - promotedAt,
        lastPatchInOutage: lastStatus,
        readsOk: reads.ok,
        readsFailed: reads.failed.length,
        lost: lostCategories.length + lostUploads.length + lostTitles.length,
      };
      console.log(`db-ha failover figures ${JSON.stringify(figures)}`);
      expect(failures.map((f) => `${f.status} ${JSON.stringify(f.body)}`)).toEqual([]);
      expect(total()).toBeGreaterThanOrEqual(550);
      expect(figures.unavailable503).toBeGreaterThan(0); // the outage was real and answered 503
      expect(lostCategories).toEqual([]);
      expect(lostUploads).toEqual([]);
      expect(lostTitles).toEqual([]);
      expect(reads.failed.map((f) => `${f.status} ${JSON.stringify(f.body)}`)).toEqual([]);

      // The upload in flight and the queued job complete: byte-exact source, ready videos.
      for (const id of [inFlight.videoId, endsInOutage.videoId, queued.videoId]) {
        const v = await waitFor(
          async () => {
            const r = await call(`${A.url}/v1/videos/${id}`, { headers: t.auth });
            const s = (r.body as { status: string }).status;
            return s === 'ready' || s === 'errored'
              ? (r.body as { status: string; error: unknown })
              : undefined;
          },
          180_000,
          `video ${id} ready`,
        );
        expect(v).toMatchObject({ status: 'ready' });
        expect(await objectSha(store, `${t.id}/${id}/source`)).toBe(sha256(data));
      }

      // `vodcloud db status` tells the operator: n2 writes, n1 is down.
      const status = async () => {
        const r = await runCli(['db', 'status', '--json'], {
          VOD_DB_URL: pair.url,
          VOD_DB_REPLICA_URL: pair.url,
        });
        const doc = JSON.parse(r.stdout) as {
          nodes: Array<{ node: string; up: boolean; role?: string; replicatesFrom?: string }>;
        };
        return { code: r.code, nodes: Object.fromEntries(doc.nodes.map((n) => [n.node.split(':')[1], n])) };
      };
      const down = await status();
      expect(down.code).toBe(0);
      expect(down.nodes['23308']).toMatchObject({ up: true, role: 'primary' });
      expect(down.nodes['23307']).toMatchObject({ up: false });
      // The old primary rejoins as a replica and follows the new one.
      const rejoined = await pair.script('rejoin');
      expect(rejoined).toMatch(/n1 replicates from n2/);
      const marker = await call(`${A.url}/v1/categories`, {
        method: 'POST',
        headers: t.auth,
        body: JSON.stringify({ name: 'after rejoin' }),
      });
      expect(marker.status).toBe(201);
      const id = (marker.body as { id: string }).id;
      await waitFor(
        async () =>
          (await pair.sql('n1', 'SELECT id FROM categories WHERE id = ?', [id])).length ? true : undefined,
        15_000,
        'n1 to replicate',
      );
      expect((await pair.sql<{ ro: number }>('n1', 'SELECT @@read_only AS ro'))[0]!.ro).toBe(1);
      const back = await status();
      expect(back.nodes['23307']).toMatchObject({
        up: true,
        role: 'replica',
        replicatesFrom: '127.0.0.1:23308',
      });

      // A backup of the pair (the URL lists both nodes: the dump is taken from the writable one, with its GTID
      // position), restored into an empty database elsewhere, holds every category.
      const cli = {
        VOD_DB_URL: pair.url,
        VOD_STORAGE_URL: `file:${path.join(env.VOD_DATA_DIR!, 'objects')}`,
      };
      const out = path.join(dir, 'backup');
      const backup = await runCli(
        ['backup', '--out', out, '--no-checksums'],
        { ...cli, VOD_DATA_DIR: path.join(dir, 'cli') },
        120_000,
      );
      expect(backup.code, backup.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
        position: Record<string, string> | null;
      };
      expect(JSON.stringify(manifest.position)).toMatch(/0-2-\d+/); // the new primary's (server 2) GTIDs
      const target = new URL(mysqlServer!);
      const fresh = `vodha_restore_${Date.now()}`;
      const root = await createConnection({
        host: target.hostname,
        port: Number(target.port || 3306),
        user: target.username || 'root',
      });
      await root.query(`CREATE DATABASE ${fresh}`);
      try {
        const restoreUrl = `mysql://${target.username || 'root'}@${target.hostname}:${target.port || 3306}/${fresh}`;
        const restored = await runCli(
          ['restore', '--from', out],
          { ...cli, VOD_DB_URL: restoreUrl, VOD_DATA_DIR: path.join(dir, 'cli') },
          180_000,
        );
        expect(restored.code, restored.stderr).toBe(0);
        const [rowsBack] = await root.query(
          `SELECT count(*) AS n FROM ${fresh}.categories WHERE tenant_id = ?`,
          [t.id],
        );
        const onPrimary = await pair.sql<{ n: number }>(
          'n2',
          'SELECT count(*) AS n FROM categories WHERE tenant_id = ?',
          [t.id],
        );
        expect(Number((rowsBack as Array<{ n: number }>)[0]!.n)).toBe(Number(onPrimary[0]!.n));
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${fresh}`);
        await root.end();
      }
    }, 600_000);
  },
);
