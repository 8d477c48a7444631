import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { deleteRedisKeys, engineUrl } from '../../../../../test/support/engines';
import type { BeaconsTable } from '../../db/schema';
import { type Granularity, periodOf } from './periods';

/**
 * Ingest → views → minute/hour/day roll-ups → /v1/stats, on SQLite, MariaDB and PostgreSQL (the PostgreSQL
 * app buffers beacons in Redis, as a cluster does). The roll-ups are checked against counts computed here,
 * independently, from the raw beacon rows.
 */
const redisUrl = engineUrl('redis', 'statistics ingest through Redis');

// A fixed random sequence: the same beacons on every engine.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOUR = 3_600_000;

for (const e of databaseEngines('statistics')) {
  describe.runIf(e.available)(`statistics on ${e.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let auth: { authorization: string };
    let other: { authorization: string };
    const videos: Array<{ id: string; pid: string }> = [];
    const redisDb = e.engine === 'postgres' && redisUrl ? `${redisUrl.replace(/\/\d*$/, '')}/9` : undefined;

    beforeAll(async () => {
      db = await e.create();
      if (redisDb) await deleteRedisKeys('vod:stats:*', { url: redisDb });
      t = await startTestApp({
        VOD_DB_URL: db.url,
        VOD_ROLES: 'api',
        ...(redisDb ? { VOD_CACHE_URL: redisDb } : {}),
        VOD_BEACON_FLUSH_MS: '60000',
      });
      const ten = await t.tenant('stats');
      auth = ten.auth;
      other = (await t.tenant('other')).auth;
      for (let i = 0; i < 2; i++) {
        const r = await t.app.inject({
          method: 'POST',
          url: '/v1/videos',
          headers: auth,
          payload: { input: { url: 'http://127.0.0.1:9/clip.mp4' }, title: `clip ${i}` },
        });
        expect(r.statusCode, r.body).toBe(201);
        videos.push({ id: r.json().id, pid: r.json().playback.id });
      }
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    const post = (payload: unknown, address: string, ua: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/beacons',
        remoteAddress: address,
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'user-agent': ua,
          referer: 'https://blog.example/post',
        },
        payload: JSON.stringify(payload),
      });

    const UAS = [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
    ];

    it('accepts batches, counts them back, and rolls them up equal to an independent count', async () => {
      const rand = rng(17);
      const sentAt = Date.now();
      let sent = 0;
      // 60 views over the last 20 hours, from 8 viewers, with startup, watch time, rebuffers and errors.
      for (let v = 0; v < 60; v++) {
        const video = videos[v % 2]!;
        const start = sentAt - Math.floor(rand() * 20 * HOUR);
        const viewer = Math.floor(rand() * 8);
        const events: Array<Record<string, unknown>> = [
          { event: 'view_start', at: start, seq: 0, position: 0 },
        ];
        let seq = 1;
        const plays = rand() > 0.15;
        if (plays) {
          events.push({
            event: 'playing',
            at: start + 500,
            seq: seq++,
            position: 0,
            startupMs: 100 + Math.floor(rand() * 2000),
            rendition: '720p',
          });
          const beats = 1 + Math.floor(rand() * 5);
          for (let b = 0; b < beats; b++) {
            if (rand() > 0.7) {
              events.push({
                event: 'rebuffer_start',
                at: start + 1000 + b * 10_000,
                seq: seq++,
                position: b * 10,
              });
              events.push({
                event: 'rebuffer_end',
                at: start + 2500 + b * 10_000,
                seq: seq++,
                position: b * 10,
                rebufferMs: 1500,
              });
            }
            events.push({
              event: 'heartbeat',
              at: start + 10_000 * (b + 1),
              seq: seq++,
              position: b * 10 + 9.5,
              watchedSec: Math.round(rand() * 10_000) / 1000,
              rendition: b % 2 ? '360p' : '720p',
            });
          }
        }
        if (rand() > 0.8)
          events.push({ event: 'error', at: start + 60_000, seq: seq++, position: 0, error: 'E_NET: boom' });
        if (rand() > 0.3)
          events.push({
            event: 'view_end',
            at: start + 70_000,
            seq: seq++,
            position: 0,
            watchedSec: plays ? 1.25 : 0,
          });
        const r = await post(
          { playbackId: video.pid, viewId: `view-${e.engine}-${v}-xyz`, sentAt, events },
          `198.51.100.${viewer}`,
          UAS[viewer % 3]!,
        );
        expect(r.statusCode, r.body).toBe(202);
        sent += events.length;
      }
      // And one view playing right now, without view_end: it stays open (a view in progress).
      const live = { playbackId: videos[0]!.pid, viewId: `view-${e.engine}-live`, sentAt };
      const liveEvents = [
        { event: 'view_start', at: sentAt - 4000, seq: 0, position: 0 },
        { event: 'playing', at: sentAt - 3000, seq: 1, position: 0, startupMs: 900 },
        { event: 'heartbeat', at: sentAt, seq: 2, position: 3, watchedSec: 3 },
      ];
      expect((await post({ ...live, events: liveEvents }, '198.51.100.99', UAS[0]!)).statusCode).toBe(202);
      sent += liveEvents.length;
      // Buffered, not yet written; then flushed and counted back exactly.
      expect(await t.ctx.stats.ingest.pending()).toBe(sent);
      await t.ctx.stats.ingest.flush();
      expect(await t.ctx.stats.ingest.pending()).toBe(0);
      const raw = (await t.ctx.db.primary.selectFrom('beacons').selectAll().execute()) as BeaconsTable[];
      expect(raw).toHaveLength(sent);
      expect(raw.every((r) => r.viewer_hash && !r.viewer_hash.includes('198.51'))).toBe(true);

      const first = await t.ctx.stats.runRollup();
      expect(first?.views).toBe(61);
      // Views silent for VOD_STATS_VIEW_TIMEOUT_SEC (300) without view_end are closed; the live one is open.
      const views = await t.ctx.db.primary.selectFrom('stats_views').selectAll().execute();
      const open = views.filter((v) => Number(v.closed) === 0).map((v) => v.view_id);
      expect(open).toEqual([`view-${e.engine}-live`]);
      expect(views.filter((v) => v.ended_at === null && Number(v.closed) === 1).length).toBeGreaterThan(5);
      // Every row of the three tables, in a stable order (an engine returns rows in any order).
      const snapshot = async () => {
        const tables = await Promise.all(
          (['stats_views', 'stats_video', 'stats_usage'] as const).map((table) =>
            t.ctx.db.primary.selectFrom(table).selectAll().execute(),
          ),
        );
        const text = (row: unknown) =>
          JSON.stringify(row, (_k, v) =>
            typeof v === 'bigint' || (typeof v === 'string' && /^\d+$/.test(v)) ? Number(v) : v,
          );
        return tables.map((rows) => rows.map(text).sort().join('\n')).join('\n--\n');
      };
      const before = (await snapshot()).replace(/"updated_at":"[^"]+"/g, '');
      // Idempotent: a second run, with the watermark moved back so it looks at everything again, changes nothing.
      await t.ctx.db.primary.deleteFrom('settings').where('name', '=', 'stats.rollup.watermark').execute();
      await t.ctx.stats.runRollup();
      expect((await snapshot()).replace(/"updated_at":"[^"]+"/g, '')).toBe(before);

      // The independent count, straight from the raw rows.
      const expected = (g: Granularity, videoId: string) => {
        const views = new Map<string, BeaconsTable[]>();
        for (const r of raw.filter((x) => x.video_id === videoId)) {
          const list = views.get(r.view_id) ?? [];
          list.push(r);
          views.set(r.view_id, list);
        }
        const out = new Map<
          string,
          {
            views: number;
            watch: number;
            errors: number;
            rebuffers: number;
            rebufferMs: number;
            viewers: Set<string>;
          }
        >();
        for (const list of views.values()) {
          const start = list.map((r) => r.created_at).sort()[0]!;
          const p = periodOf(g, start);
          const o = out.get(p) ?? {
            views: 0,
            watch: 0,
            errors: 0,
            rebuffers: 0,
            rebufferMs: 0,
            viewers: new Set<string>(),
          };
          out.set(p, o);
          const played = list.some((r) => r.event === 'playing' || (r.watched_sec ?? 0) > 0);
          if (played) {
            o.views += 1;
            o.viewers.add(list[0]!.viewer_hash!);
          }
          o.watch += list.reduce((s, r) => s + (r.watched_sec ?? 0), 0);
          o.errors += list.filter((r) => r.event === 'error').length;
          o.rebuffers += list.filter((r) => r.event === 'rebuffer_start').length;
          o.rebufferMs += list.reduce(
            (s, r) => s + (r.event === 'rebuffer_end' ? (r.rebuffer_ms ?? 0) : 0),
            0,
          );
        }
        return out;
      };
      const windows: Record<Granularity, string> = { minute: '', hour: '', day: '' };
      for (const g of ['minute', 'hour', 'day'] as const) {
        for (const video of videos) {
          const want = expected(g, video.id);
          const times = [...want.keys()].sort();
          // One request per granularity over the beacons' whole span (minutes: the 3 busiest hours' worth).
          const from = g === 'minute' ? times[0]! : new Date(Date.now() - 24 * HOUR).toISOString();
          const to =
            g === 'minute'
              ? new Date(Date.parse(from) + 24 * HOUR).toISOString()
              : new Date(Date.now() + HOUR).toISOString();
          windows[g] = `${from}..${to}`;
          const r = await t.app.inject({
            method: 'GET',
            url: `/v1/stats/videos/${video.id}?granularity=${g}&from=${from}&to=${to}`,
            headers: auth,
          });
          expect(r.statusCode, r.body).toBe(200);
          const body = r.json();
          const got = new Map<
            string,
            {
              views: number;
              uniqueViewers: number;
              watchSeconds: number;
              errors: number;
              rebufferCount: number;
              rebufferSeconds: number;
            }
          >(
            body.series
              .filter(
                (p: { views: number; errors: number; watchSeconds: number }) =>
                  p.views || p.errors || p.watchSeconds,
              )
              .map((p: { time: string }) => [p.time, p]),
          );
          for (const [p, w] of want) {
            if (p < body.from || p >= body.to) continue;
            const x = got.get(p);
            if (!w.views && !w.errors && !w.watch) {
              expect(x).toBeUndefined(); // a view that never played nor failed: nothing to count
              continue;
            }
            expect(x, `${g} ${p}`).toBeDefined();
            expect(x).toMatchObject({
              views: w.views,
              uniqueViewers: w.viewers.size,
              errors: w.errors,
              rebufferCount: w.rebuffers,
            });
            expect(x!.watchSeconds).toBeCloseTo(w.watch, 2);
            expect(x!.rebufferSeconds).toBeCloseTo(w.rebufferMs / 1000, 2);
          }
          const wanted = [...want.entries()].filter(([p]) => p >= body.from && p < body.to);
          expect(body.totals.views).toBe(wanted.reduce((s, [, w]) => s + w.views, 0));
          expect(body.totals.errors).toBe(wanted.reduce((s, [, w]) => s + w.errors, 0));
          expect(body.totals.watchSeconds).toBeCloseTo(
            wanted.reduce((s, [, w]) => s + w.watch, 0),
            2,
          );
          if (g !== 'minute') {
            expect(body.totals.startupMsP50).toBeGreaterThan(0);
            expect(body.totals.startupMsP95).toBeGreaterThanOrEqual(body.totals.startupMsP50);
          }
        }
      }
      expect(windows.day).not.toBe('');
    }, 120_000);

    it('answers top videos, breakdowns, usage and CSV; tenants see only their own', async () => {
      const top = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/top-videos?metric=views&limit=5',
        headers: auth,
      });
      expect(top.statusCode, top.body).toBe(200);
      expect(top.json().data).toHaveLength(2);
      expect(top.json().data[0].views).toBeGreaterThanOrEqual(top.json().data[1].views);
      expect(
        top
          .json()
          .data.map((x: { title: string }) => x.title)
          .sort(),
      ).toEqual(['clip 0', 'clip 1']);

      const browsers = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/breakdown?by=browser',
        headers: auth,
      });
      expect(browsers.statusCode, browsers.body).toBe(200);
      expect(
        browsers
          .json()
          .data.map((x: { value: string }) => x.value)
          .sort(),
      ).toEqual(['Chrome', 'Firefox', 'Safari']);
      const devices = await t.app.inject({
        method: 'GET',
        url: `/v1/stats/breakdown?by=device&videoId=${videos[0]!.id}`,
        headers: auth,
      });
      expect(
        devices
          .json()
          .data.map((x: { value: string }) => x.value)
          .sort(),
      ).toEqual(['desktop', 'mobile']);
      const renditions = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/breakdown?by=rendition',
        headers: auth,
      });
      expect(renditions.json().data.map((x: { value: string }) => x.value)).toEqual(
        expect.arrayContaining(['720p', '360p']),
      );
      const referrers = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/breakdown?by=referrer',
        headers: auth,
      });
      expect(referrers.json().data[0].value).toBe('blog.example');

      const usage = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/usage?granularity=day',
        headers: auth,
      });
      expect(usage.statusCode, usage.body).toBe(200);
      expect(usage.json().totals.imports).toBe(2);
      expect(usage.json().totals.storageBytes).toBe(0);

      const csv = await t.app.inject({
        method: 'GET',
        url: `/v1/stats/videos/${videos[0]!.id}?granularity=hour&format=csv`,
        headers: auth,
      });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      const lines = csv.body.trim().split('\r\n');
      expect(lines[0]).toBe(
        'time,views,uniqueViewers,watchSeconds,startupMsP50,startupMsP95,rebufferCount,rebufferSeconds,rebufferRatio,errors,deliveredBytes,requests',
      );
      const json = await t.app.inject({
        method: 'GET',
        url: `/v1/stats/videos/${videos[0]!.id}?granularity=hour`,
        headers: auth,
      });
      expect(lines).toHaveLength(json.json().series.length + 1);
      expect(json.json().series.length).toBeGreaterThanOrEqual(24);
      const views = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[1]), 0);
      expect(views).toBe(json.json().totals.views);

      // Another tenant: 404 on the video, empty figures for its own statistics.
      expect(
        (await t.app.inject({ method: 'GET', url: `/v1/stats/videos/${videos[0]!.id}`, headers: other }))
          .statusCode,
      ).toBe(404);
      expect(
        (await t.app.inject({ method: 'GET', url: '/v1/stats/top-videos', headers: other })).json().data,
      ).toEqual([]);
      expect(
        (await t.app.inject({ method: 'GET', url: '/v1/stats/breakdown?by=os', headers: other })).json().data,
      ).toEqual([]);

      // The platform admin sees every tenant's usage; a tenant key is refused.
      const admin = { authorization: `Bearer ${t.adminKey}` };
      const all = await t.app.inject({ method: 'GET', url: '/v1/admin/usage', headers: admin });
      expect(all.statusCode, all.body).toBe(200);
      const mine = all.json().data.find((x: { tenantName: string }) => x.tenantName === 'stats');
      expect(mine.views).toBe(json.json().totals.views > 0 ? mine.views : 0);
      expect(mine.imports).toBe(2);
      expect((await t.app.inject({ method: 'GET', url: '/v1/admin/usage', headers: auth })).statusCode).toBe(
        403,
      );

      // Bounds: too many points, a reversed range.
      const many = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/usage?granularity=minute&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
        headers: auth,
      });
      expect(many.statusCode).toBe(400);
      const reversed = await t.app.inject({
        method: 'GET',
        url: '/v1/stats/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        headers: auth,
      });
      expect(reversed.statusCode).toBe(400);
    });
  });
}
