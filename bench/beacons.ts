// `npm run bench -- beacons`: the statistics pipeline of issue 17, on the embedded default (SQLite, memory
// cache: beacons buffered in the process) and on the cluster shape (PostgreSQL, Redis cache: beacons buffered
// in a Redis list), side by side in one run.
//
// 1. ingest: a real `vodcloud serve --roles api` per engine; POST /v1/beacons with v2 batches at a fixed offered
//    rate by an open-loop generator (requests leave on schedule whatever the answers; latency is measured from
//    the scheduled time, so a slow server is not hidden by a slower generator). Every round counts the rows
//    back in the database after the flush: accepted − stored = lost (goal 0).
// 2. rollup: 1,000,000 raw beacons (100k views of 10 events over 200 videos in the last 20 hours) written
//    straight into a migrated database, then StatsRollup.run timed: the first run, a second one at once (still
//    inside the roll-up's 30-second overlap, so it recomputes the same views), and two more once 30 s have
//    passed (the first of them still looks back 30 s from the previous start; the last finds nothing new).

import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Sqlite from 'better-sqlite3';
import Redis from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../apps/server/src/config';
import { createDatabase } from '../apps/server/src/db/connect';
import { StatsRollup, ViewerHasher } from '../apps/server/src/modules/stats';
import { readCpuSeconds, readMachineBusySeconds, sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { createTenantKey, startVodcloud, type VodcloudProcess } from './lib/vodcloud';

const INGEST_GOAL = 2000; // accepted beacons/s on 2 cores, 0 lost
const P99_GOAL_MS = 100;

const HELP = `usage: npm run bench -- beacons [options]
  --only LIST          ingest,rollup (default both)
  --engines LIST       sqlite,postgres (default both; postgres needs VOD_TEST_PG_URL and VOD_TEST_REDIS_URL,
                       read from the environment or /tmp/vod-services/test.env)
  --rounds N           ingest rounds per rate and engine, order alternating (default 3)
  --duration S         seconds of load per measurement (default 20)
  --rates LIST         offered beacons/s (events, not requests) (default 2000,4000)
  --search             after the rounds, raise the rate by --step until p99 ≥ ${P99_GOAL_MS} ms, a loss or a non-202
  --step N             beacons/s added per search step (default 2000)
  --events N           events per batch (default 5)
  --conns N            connections of the generator (default 64)
  --flush-ms N         VOD_BEACON_FLUSH_MS of the servers (default 1000, the default)
  --beacons N          raw beacons for the roll-up (default 1000000)
  --no-wait            skip roll-up runs 3 and 4 (they wait for the 30-second overlap to pass)
  --redis-db N         Redis database index for the cluster shape (default 11; its vod:* keys are deleted)
  --work-dir DIR       default /tmp/vodcloud-bench`;

type Engine = 'sqlite' | 'postgres';

const UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
];

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

/** VOD_TEST_* from the environment, else from the services' test.env (the file the tests source). */
function serviceEnv(name: string): string | undefined {
  if (process.env[name]) return process.env[name];
  const file = path.join(process.env.VOD_SERVICES_DIR ?? '/tmp/vod-services', 'test.env');
  if (!existsSync(file)) return undefined;
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m?.[1]?.trim().replace(/^['"]|['"]$/g, '');
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

// ---------------------------------------------------------------------------------------------------------
// Engines: a fresh database per use, dropped afterwards, and a way to count the beacon rows directly.

interface EngineDb {
  engine: Engine;
  url: string;
  count(table?: string): Promise<number>;
  drop(): Promise<void>;
}

async function sqliteDb(dir: string): Promise<EngineDb> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'vodcloud.db');
  let conn: Sqlite.Database | undefined;
  return {
    engine: 'sqlite',
    url: `sqlite:${file}`,
    async count(table = 'beacons') {
      conn ??= new Sqlite(file, { readonly: true, fileMustExist: true });
      return Number((conn.prepare(`SELECT count(*) AS c FROM ${table}`).get() as { c: number }).c);
    },
    async drop() {
      conn?.close();
    },
  };
}

async function postgresDb(serverUrl: string, tag: string): Promise<EngineDb> {
  const name = `vodbench_${tag}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  let conn: pg.Client | undefined;
  return {
    engine: 'postgres',
    url,
    async count(table = 'beacons') {
      if (!conn) {
        conn = new pg.Client({ connectionString: url });
        await conn.connect();
      }
      return Number((await conn.query(`SELECT count(*) AS c FROM ${table}`)).rows[0].c);
    },
    async drop() {
      await conn?.end();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function deleteKeys(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl);
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'vod:*', 'COUNT', 500);
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return n;
}

async function createVideos(server: VodcloudProcess, key: string, n: number) {
  const videos: Array<{ id: string; playbackId: string }> = [];
  for (let i = 0; i < n; i++) {
    // A URL import of an address nobody listens on: beacons need a playback id, not a playable video.
    const v = await server.api<{ id: string; playback: { id: string } }>('POST', '/v1/videos', key, {
      input: { url: 'http://127.0.0.1:9/clip.mp4' },
      title: `bench ${i}`,
    });
    videos.push({ id: v.id, playbackId: v.playback.id });
  }
  return videos;
}

// ---------------------------------------------------------------------------------------------------------
// Ingest: an open-loop generator.

interface LoadResult {
  engine: Engine;
  rate: number;
  round: number;
  seconds: number;
  requestsSent: number;
  accepted202: number;
  non202: number;
  statuses: Record<string, number>;
  errors: number;
  /** Requests that had not left (queued in the generator) at the end: the generator was the limit. */
  notSent: number;
  reqPerSec: number;
  beaconsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCores: number;
  /** CPU of the generator (this process), and of everything else on the machine (the engines, other work). */
  generatorCores: number;
  otherCores: number;
  acceptedBeacons: number;
  storedBeacons: number;
  lost: number;
  /** Milliseconds from the end of the load until the database held every accepted beacon. */
  drainMs: number;
  /** Redis list length (cluster shape) when the load stopped. */
  backlogAtEnd?: number;
}

interface Target {
  engine: Engine;
  server: VodcloudProcess;
  db: EngineDb;
  playbackIds: string[];
  backlog?: () => Promise<number>;
}

/** Batch `i` of a stream of views: each view sends 4 batches, K views interleaved, seq per view. */
function batchBody(i: number, eventsPerBatch: number, playbackIds: string[], run: string): string {
  const K = 500;
  const w = Math.floor(i / (4 * K));
  const b = Math.floor(i / K) % 4;
  const v = w * K + (i % K);
  const now = Date.now();
  const events: Array<Record<string, unknown>> = [];
  for (let e = 0; e < eventsPerBatch; e++) {
    const seq = b * eventsPerBatch + e;
    const at = now - (eventsPerBatch - e) * 2000;
    const position = seq * 2;
    if (b === 0 && e === 0) events.push({ event: 'view_start', at, seq, position: 0 });
    else if (b === 0 && e === 1)
      events.push({ event: 'playing', at, seq, position: 0, startupMs: 300 + (v % 900), rendition: '720p' });
    else if (b === 3 && e === eventsPerBatch - 1)
      events.push({ event: 'view_end', at, seq, position, watchedSec: 1.5 });
    else if (b === 2 && e === 1 && v % 5 === 0) events.push({ event: 'rebuffer_start', at, seq, position });
    else if (b === 2 && e === 2 && v % 5 === 0)
      events.push({ event: 'rebuffer_end', at, seq, position, rebufferMs: 1200 });
    else events.push({ event: 'heartbeat', at, seq, position, watchedSec: 2, rendition: '720p' });
  }
  return JSON.stringify({
    playbackId: playbackIds[v % playbackIds.length],
    viewId: `${run}-${v.toString(36).padStart(8, '0')}`,
    sentAt: now,
    events,
  });
}

async function openLoop(
  t: Target,
  opts: { rate: number; seconds: number; eventsPerBatch: number; conns: number; run: string },
) {
  const pool = new Pool(t.server.url, { connections: opts.conns, pipelining: 1 });
  const reqRate = opts.rate / opts.eventsPerBatch; // requests per second
  const total = Math.round(reqRate * opts.seconds);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  const MAX_IN_FLIGHT = 20_000;
  let notSent = 0;
  const done: Promise<void>[] = [];
  const t0 = performance.now();
  const fire = (i: number) => {
    const scheduled = t0 + (i / reqRate) * 1000;
    inFlight++;
    const p = pool
      .request({
        path: '/v1/beacons',
        method: 'POST',
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'user-agent': UAS[i % UAS.length]!,
          referer: 'https://blog.example/post',
        },
        body: batchBody(i, opts.eventsPerBatch, t.playbackIds, opts.run),
      })
      .then(async (res) => {
        await res.body.dump();
        latencies.push(performance.now() - scheduled);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      })
      .catch(() => {
        errors++;
      })
      .finally(() => {
        inFlight--;
      });
    done.push(p);
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * reqRate));
      while (sent < due) {
        if (inFlight >= MAX_IN_FLIGHT) {
          notSent += due - sent;
          sent = due;
          break;
        }
        fire(sent++);
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const loadEnd = performance.now();
  await Promise.race([Promise.all(done), sleep(30_000)]);
  await pool.close().catch(() => {});
  latencies.sort((a, b) => a - b);
  return {
    seconds: (loadEnd - t0) / 1000,
    requestsSent: sent - notSent,
    statuses,
    errors,
    notSent,
    latencies,
  };
}

async function measureIngest(
  t: Target,
  opts: {
    rate: number;
    seconds: number;
    eventsPerBatch: number;
    conns: number;
    round: number;
    flushMs: number;
  },
): Promise<LoadResult> {
  const before = await t.db.count();
  const cpu0 = readCpuSeconds(t.server.pid) ?? 0;
  const m0 = readMachineBusySeconds();
  const g0 = process.cpuUsage();
  const run = `r${opts.round}x${opts.rate}x${Date.now().toString(36)}`;
  const w0 = performance.now();
  const r = await openLoop(t, { ...opts, run });
  const wallSec = (performance.now() - w0) / 1000;
  const serverSec = (readCpuSeconds(t.server.pid) ?? 0) - cpu0;
  const g = process.cpuUsage(g0);
  const generatorSec = (g.user + g.system) / 1e6;
  const serverCores = serverSec / wallSec;
  const generatorCores = generatorSec / wallSec;
  const otherCores = (readMachineBusySeconds() - m0 - serverSec - generatorSec) / wallSec;
  const backlogAtEnd = t.backlog ? await t.backlog() : undefined;
  const accepted202 = r.statuses['202'] ?? 0;
  const acceptedBeacons = accepted202 * opts.eventsPerBatch;
  // Count back: poll the table until it holds every accepted beacon, or stays put for 3 flush intervals past
  // the first (what is missing then is lost), at most 60 s.
  const e0 = performance.now();
  let stored = 0;
  let lastChange = e0;
  for (;;) {
    const n = (await t.db.count()) - before;
    if (n !== stored) lastChange = performance.now();
    stored = n;
    const waited = performance.now() - e0;
    if (stored >= acceptedBeacons) break;
    if (waited > opts.flushMs + 500 && performance.now() - lastChange > 3 * opts.flushMs + 2000) break;
    if (waited > 60_000) break;
    await sleep(100);
  }
  const drainMs = performance.now() - e0;
  const non202 = Object.entries(r.statuses).reduce((s, [k, n]) => s + (k === '202' ? 0 : n), 0);
  return {
    engine: t.engine,
    rate: opts.rate,
    round: opts.round,
    seconds: r.seconds,
    requestsSent: r.requestsSent,
    accepted202,
    non202,
    statuses: r.statuses,
    errors: r.errors,
    notSent: r.notSent,
    reqPerSec: accepted202 / r.seconds,
    beaconsPerSec: acceptedBeacons / r.seconds,
    p50Ms: pct(r.latencies, 0.5),
    p99Ms: pct(r.latencies, 0.99),
    maxMs: r.latencies[r.latencies.length - 1] ?? Number.NaN,
    serverCores,
    generatorCores,
    otherCores,
    acceptedBeacons,
    storedBeacons: stored,
    lost: acceptedBeacons - stored,
    drainMs,
    backlogAtEnd,
  };
}

const ingestLine = (m: LoadResult) =>
  `${m.engine.padEnd(8)} offered ${String(m.rate).padStart(5)}/s  accepted ${f0(m.beaconsPerSec).padStart(5)} beacons/s ${f0(m.reqPerSec).padStart(4)} req/s  p50 ${f1(m.p50Ms)} ms  p99 ${f1(m.p99Ms)} ms  max ${f0(m.maxMs)} ms  non-202 ${m.non202}${m.errors ? ` errors ${m.errors}` : ''}${m.notSent ? ` not sent ${m.notSent}` : ''}  CPU: server ${f2(m.serverCores)}, generator ${f2(m.generatorCores)}, rest of machine ${f2(m.otherCores)} cores${m.backlogAtEnd !== undefined ? `  list ${m.backlogAtEnd}` : ''}  stored ${m.storedBeacons}/${m.acceptedBeacons} lost ${m.lost} (in db ${f1(m.drainMs / 1000)} s after)`;

// ---------------------------------------------------------------------------------------------------------
// Roll-up: 1M raw beacons straight into the database.

const COLUMNS = [
  'id',
  'tenant_id',
  'video_id',
  'playback_id',
  'view_id',
  'event',
  'position',
  'startup_ms',
  'watched_sec',
  'error',
  'user_agent',
  'referrer',
  'created_at',
  'ingested_at',
  'rendition',
  'rebuffer_ms',
  'viewer_hash',
  'seq',
] as const;
type Row = Array<string | number | null>;

/** The views' rows, 10 events per view (view_start, playing, heartbeats, sometimes a stall or an error, view_end). */
function* beaconRows(
  n: number,
  tenantId: string,
  videos: Array<{ id: string; playbackId: string }>,
  now: number,
  ingestedAt: string,
): Generator<Row> {
  const rand = rng(17);
  const views = Math.ceil(n / 10);
  let made = 0;
  for (let v = 0; v < views && made < n; v++) {
    const video = videos[Math.floor(rand() * videos.length)]!;
    const start = now - 60_000 - Math.floor(rand() * 20 * 3_600_000);
    const viewId = `bv${v.toString(36).padStart(10, '0')}`;
    const ua = UAS[v % UAS.length]!;
    const viewer = `viewer${Math.floor(rand() * 20_000)}`.padEnd(32, '0');
    const stall = rand() < 0.2;
    const failed = rand() < 0.05;
    const ended = rand() < 0.8;
    for (let seq = 0; seq < 10 && made < n; seq++) {
      const at = start + seq * 10_000;
      let event = 'heartbeat';
      let startup: number | null = null;
      let watched: number | null = 10;
      let rebuffer: number | null = null;
      let error: string | null = null;
      if (seq === 0) [event, watched] = ['view_start', null];
      else if (seq === 1) [event, watched, startup] = ['playing', null, 200 + Math.floor(rand() * 2000)];
      else if (stall && seq === 4) [event, watched] = ['rebuffer_start', null];
      else if (stall && seq === 5) [event, watched, rebuffer] = ['rebuffer_end', null, 1500];
      else if (failed && seq === 7) [event, watched, error] = ['error', null, 'E_NET: boom'];
      else if (ended && seq === 9) [event, watched] = ['view_end', 3];
      made++;
      yield [
        `b${String(made).padStart(25, '0')}`,
        tenantId,
        video.id,
        video.playbackId,
        viewId,
        event,
        seq * 10,
        startup,
        watched,
        error,
        ua,
        'https://blog.example/post',
        new Date(at).toISOString(),
        ingestedAt,
        seq % 3 ? '720p' : '360p',
        rebuffer,
        viewer,
        seq,
      ];
    }
  }
}

async function insertSqlite(file: string, rows: Iterable<Row>): Promise<number> {
  const conn = new Sqlite(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('busy_timeout = 5000');
  const PER = 500; // rows per INSERT (18 columns: 9,000 parameters; SQLite allows 32,766)
  const one = `(${COLUMNS.map(() => '?').join(',')})`;
  const sqlFor = (k: number) =>
    `INSERT INTO beacons (${COLUMNS.join(',')}) VALUES ${Array(k).fill(one).join(',')}`;
  const full = conn.prepare(sqlFor(PER));
  let n = 0;
  let batch: Row[] = [];
  const write = conn.transaction((b: Row[]) => {
    (b.length === PER ? full : conn.prepare(sqlFor(b.length))).run(b.flat());
  });
  for (const r of rows) {
    batch.push(r);
    if (batch.length === PER) {
      write(batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) write(batch);
  n += batch.length;
  conn.close();
  return n;
}

async function insertPostgres(url: string, rows: Iterable<Row>): Promise<number> {
  const PER = 1000; // rows per INSERT (18,000 parameters; PostgreSQL allows 65,535)
  const conns = await Promise.all(
    [0, 1].map(async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const sqlFor = (k: number) =>
    `INSERT INTO beacons (${COLUMNS.join(',')}) VALUES ${Array.from(
      { length: k },
      (_, i) => `(${COLUMNS.map((__, j) => `$${i * COLUMNS.length + j + 1}`).join(',')})`,
    ).join(',')}`;
  const full = sqlFor(PER);
  let n = 0;
  let batch: Row[] = [];
  const pending: Array<Promise<unknown>> = [];
  let next = 0;
  const send = async (b: Row[]) => {
    const c = conns[next++ % conns.length]!;
    // two connections, one statement in flight on each
    if (pending.length >= conns.length) await pending.shift();
    pending.push(c.query(b.length === PER ? full : sqlFor(b.length), b.flat()));
  };
  for (const r of rows) {
    batch.push(r);
    if (batch.length === PER) {
      await send(batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) await send(batch);
  n += batch.length;
  await Promise.all(pending);
  await Promise.all(conns.map((c) => c.end()));
  return n;
}

interface RollupResult {
  engine: Engine;
  beacons: number;
  insertSec: number;
  runs: Array<{ label: string; sec: number; views: number; videoPeriods: number; usagePeriods: number }>;
  statsViews: number;
  statsVideoRows: number;
}

async function rollupBench(
  e: EngineDb,
  dataDir: string,
  n: number,
  env: Record<string, string>,
): Promise<{ result: RollupResult; third: () => Promise<void> }> {
  // A real server migrates the database and makes the tenant and the 200 videos; then it stops.
  const server = await startVodcloud({
    dataDir,
    env: { ...env, VOD_DB_URL: e.url, VOD_ROLES: 'api', VOD_RATE_LIMIT_PER_MINUTE: '0' },
  });
  let videos: Array<{ id: string; playbackId: string }>;
  let tenantId: string;
  try {
    const t = await createTenantKey(server, `rollup-${e.engine}`);
    tenantId = t.tenantId;
    videos = await createVideos(server, t.key, 200);
  } finally {
    await server.stop();
  }
  const now = Date.now();
  const rows = beaconRows(n, tenantId, videos, now, new Date(now).toISOString());
  const i0 = performance.now();
  const inserted =
    e.engine === 'sqlite'
      ? await insertSqlite(e.url.slice('sqlite:'.length), rows)
      : await insertPostgres(e.url, rows);
  const insertSec = (performance.now() - i0) / 1000;
  console.log(
    `rollup ${e.engine}: inserted ${inserted} beacons in ${f1(insertSec)} s (${f0(inserted / insertSec)} rows/s)`,
  );

  const config = loadConfig({ VOD_DB_URL: e.url, VOD_DATA_DIR: dataDir });
  const db = createDatabase(e.url, { timeoutMs: 600_000 });
  const rollup = new StatsRollup(db, new ViewerHasher(db), {
    log: pino({ level: 'warn' }),
    viewTimeoutMs: config.stats.viewTimeoutMs,
    retentionDays: config.stats.retentionDays,
  });
  const result: RollupResult = {
    engine: e.engine,
    beacons: inserted,
    insertSec,
    runs: [],
    statsViews: 0,
    statsVideoRows: 0,
  };
  const timed = async (label: string) => {
    const t0 = performance.now();
    const r = await rollup.run();
    const sec = (performance.now() - t0) / 1000;
    result.runs.push({
      label,
      sec,
      views: r.views,
      videoPeriods: r.videoPeriods,
      usagePeriods: r.usagePeriods,
    });
    console.log(
      `rollup ${e.engine} ${label}: ${f2(sec)} s, ${r.views} views, ${r.videoPeriods} video periods, ${r.usagePeriods} usage periods${r.views ? ` (${f0(inserted / sec)} beacons/s)` : ''}`,
    );
  };
  try {
    await timed('run 1');
    await timed('run 2, at once (30-s overlap)');
    result.statsViews = await e.count('stats_views');
    result.statsVideoRows = await e.count('stats_video');
  } catch (err) {
    await db.close();
    throw err;
  }
  const third = async () => {
    try {
      const wait = now + 30_000 + 5_000 - Date.now();
      if (wait > 0) await sleep(wait);
      // Run 3 still looks back 2 min from run 2's start (the rows again); run 4 looks past them: nothing new.
      await timed('run 3, ≥ 2 min after the insert');
      await timed('run 4, nothing new');
    } finally {
      await db.close();
    }
  };
  return { result, third };
}

// ---------------------------------------------------------------------------------------------------------

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string', default: 'ingest,rollup' },
      engines: { type: 'string', default: 'sqlite,postgres' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '20' },
      rates: { type: 'string', default: '2000,4000' },
      search: { type: 'boolean', default: false },
      step: { type: 'string', default: '2000' },
      events: { type: 'string', default: '5' },
      conns: { type: 'string', default: '64' },
      'flush-ms': { type: 'string', default: '1000' },
      beacons: { type: 'string', default: '1000000' },
      'no-wait': { type: 'boolean', default: false },
      'redis-db': { type: 'string', default: '11' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const int = (v: string, name: string, min = 1) => {
    const n = Math.floor(Number(v));
    if (!(n >= min)) throw new Error(`--${name} must be ≥ ${min}`);
    return n;
  };
  const rounds = int(values.rounds, 'rounds');
  const seconds = int(values.duration, 'duration');
  const rates = values.rates.split(',').map((r) => int(r, 'rates'));
  const step = int(values.step, 'step');
  const eventsPerBatch = int(values.events, 'events');
  const conns = int(values.conns, 'conns');
  const flushMs = int(values['flush-ms'], 'flush-ms', 50);
  const nBeacons = int(values.beacons, 'beacons');
  const redisDb = int(values['redis-db'], 'redis-db', 0);
  const parts = values.only.split(',').filter(Boolean);
  const engines = values.engines.split(',').filter(Boolean) as Engine[];
  for (const e of engines) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`unknown engine ${e}`);
  const pgUrl = serviceEnv('VOD_TEST_PG_URL') ?? serviceEnv('VOD_TEST_POSTGRES_URL');
  const redisBase = serviceEnv('VOD_TEST_REDIS_URL');
  if (engines.includes('postgres') && (!pgUrl || !redisBase))
    throw new Error('postgres needs VOD_TEST_PG_URL and VOD_TEST_REDIS_URL (or --engines sqlite)');
  const redisUrl = redisBase ? `${redisBase.replace(/\/\d*$/, '')}/${redisDb}` : '';

  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(path.resolve(values['work-dir']), `beacons-${stamp}`);
  console.log(
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}; run directory ${runDir}`,
  );

  const measurements: LoadResult[] = [];
  const searched: LoadResult[] = [];
  const rollups: RollupResult[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    if (parts.includes('ingest')) {
      const targets: Target[] = [];
      for (const engine of engines) {
        const db =
          engine === 'sqlite'
            ? await sqliteDb(path.join(runDir, 'ingest-sqlite'))
            : await postgresDb(pgUrl!, 'ingest');
        cleanups.push(() => db.drop());
        const env: Record<string, string> = {
          VOD_DB_URL: db.url,
          VOD_ROLES: 'api',
          // The per-address limit (1200/min) would answer one generator with 429s.
          VOD_RATE_LIMIT_PER_MINUTE: '0',
          VOD_BEACON_FLUSH_MS: String(flushMs),
        };
        let backlog: Target['backlog'];
        if (engine === 'postgres') {
          await deleteKeys(redisUrl);
          cleanups.push(() => deleteKeys(redisUrl));
          env.VOD_CACHE_URL = redisUrl;
          const redis = new Redis(redisUrl);
          cleanups.push(() => redis.quit());
          backlog = () => redis.llen('vod:stats:beacons');
        }
        const server = await startVodcloud({ dataDir: path.join(runDir, `ingest-${engine}`), env });
        cleanups.unshift(() => server.stop());
        const { key } = await createTenantKey(server, `ingest-${engine}`);
        const videos = await createVideos(server, key, 8);
        targets.push({ engine, server, db, playbackIds: videos.map((v) => v.playbackId), backlog });
        console.log(`${engine}: server ${server.url} (pid ${server.pid}), ${videos.length} videos`);
      }
      const base = { seconds, eventsPerBatch, conns, flushMs };
      // Warm-up (JIT, connections, the viewer salt), not recorded.
      for (const t of targets) await measureIngest(t, { ...base, rate: rates[0]!, seconds: 3, round: 0 });
      console.log(
        `\nopen loop: ${eventsPerBatch} events per batch, ${conns} connections, ${seconds} s per measurement, flush every ${flushMs} ms; ${rounds} rounds, order alternates\n`,
      );
      for (let round = 1; round <= rounds; round++)
        for (const rate of rates) {
          const order = round % 2 ? targets : [...targets].reverse();
          for (const t of order) {
            const m = await measureIngest(t, { ...base, rate, round });
            measurements.push(m);
            console.log(`round ${round} ${ingestLine(m)}`);
            await sleep(500);
          }
        }
      if (values.search)
        for (const t of targets) {
          for (let rate = Math.max(...rates) + step; rate <= 100_000; rate += step) {
            const m = await measureIngest(t, { ...base, rate, round: 0 });
            searched.push(m);
            console.log(`search ${ingestLine(m)}`);
            if (m.p99Ms >= P99_GOAL_MS || m.lost !== 0 || m.non202 !== 0 || m.errors || m.notSent) break;
          }
        }
      while (cleanups.length) await cleanups.shift()!().catch((err) => console.error(err));
    }

    if (parts.includes('rollup')) {
      console.log(`\nroll-up of ${nBeacons} raw beacons\n`);
      const thirds: Array<() => Promise<void>> = [];
      for (const engine of engines) {
        const db =
          engine === 'sqlite'
            ? await sqliteDb(path.join(runDir, 'rollup-sqlite'))
            : await postgresDb(pgUrl!, 'rollup');
        cleanups.push(() => db.drop());
        const { result, third } = await rollupBench(db, path.join(runDir, `rollup-${engine}`), nBeacons, {});
        rollups.push(result);
        thirds.push(third);
      }
      if (!values['no-wait']) {
        console.log('waiting until 35 s after the inserts (the roll-up overlap) for runs 3 and 4');
        for (const third of thirds) await third();
      }
    }
  } finally {
    while (cleanups.length) await cleanups.shift()!().catch((err) => console.error(err));
  }

  // Summary.
  const verdicts: string[] = [];
  if (measurements.length) {
    console.log('\ningest, medians over rounds:');
    const rows: string[][] = [];
    for (const rate of rates)
      for (const engine of engines) {
        const ms = measurements.filter((m) => m.rate === rate && m.engine === engine);
        const med = (f: (m: LoadResult) => number) => median(ms.map(f));
        const lost = ms.reduce((s, m) => s + m.lost, 0);
        const non202 = ms.reduce((s, m) => s + m.non202 + m.errors, 0);
        rows.push([
          `${engine} @ ${rate}/s`,
          f0(med((m) => m.beaconsPerSec)),
          f0(med((m) => m.reqPerSec)),
          f1(med((m) => m.p50Ms)),
          f1(med((m) => m.p99Ms)),
          String(non202),
          `${ms.reduce((s, m) => s + m.storedBeacons, 0)}/${ms.reduce((s, m) => s + m.acceptedBeacons, 0)}`,
          String(lost),
          f2(med((m) => m.serverCores)),
          f2(med((m) => m.otherCores)),
        ]);
        const bps = med((m) => m.beaconsPerSec);
        const p99 = med((m) => m.p99Ms);
        if (rate >= INGEST_GOAL)
          verdicts.push(
            `${engine} @ ${rate}/s offered: ${f0(bps)} beacons/s accepted, ${lost} lost, p99 ${f1(p99)} ms (goal ≥ ${INGEST_GOAL}/s, 0 lost, p99 < ${P99_GOAL_MS} ms) ${bps >= INGEST_GOAL * 0.99 && lost === 0 && p99 < P99_GOAL_MS ? 'PASS' : 'MISS'}`,
          );
      }
    printTable(
      [
        'engine @ offered',
        'beacons/s',
        'req/s',
        'p50 ms',
        'p99 ms',
        'non-202',
        'stored/accepted',
        'lost',
        'server cores',
        'rest of machine cores',
      ],
      rows,
    );
  }
  if (searched.length) {
    console.log('\nrate search (one measurement each):');
    for (const m of searched) console.log(`  ${ingestLine(m)}`);
    for (const engine of engines) {
      const ok = [...measurements, ...searched]
        .filter((m) => m.engine === engine && m.p99Ms < P99_GOAL_MS && m.lost === 0 && m.non202 === 0)
        .map((m) => m.rate);
      verdicts.push(
        `${engine}: highest offered rate with p99 < ${P99_GOAL_MS} ms and 0 lost: ${ok.length ? `${Math.max(...ok)}/s` : 'none of those tried'}`,
      );
    }
  }
  if (rollups.length) {
    console.log('\nroll-up:');
    printTable(
      ['engine / run', 'seconds', 'beacons/s', 'views', 'video periods', 'usage periods'],
      rollups.flatMap((r) =>
        r.runs.map((x) => [
          `${r.engine} ${x.label}`,
          f2(x.sec),
          x.views ? f0(r.beacons / x.sec) : '',
          String(x.views),
          String(x.videoPeriods),
          String(x.usagePeriods),
        ]),
      ),
    );
    for (const r of rollups)
      console.log(
        `${r.engine}: ${r.beacons} beacons inserted in ${f1(r.insertSec)} s; after the runs stats_views ${r.statsViews}, stats_video ${r.statsVideoRows}`,
      );
  }
  if (verdicts.length) console.log('');
  for (const v of verdicts) console.log(v);
  const file = await writeResults('beacons', {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    options: { rounds, seconds, rates, eventsPerBatch, conns, flushMs, nBeacons, engines, parts },
    goals: { beaconsPerSec: INGEST_GOAL, p99Ms: P99_GOAL_MS, lost: 0 },
    verdicts,
    measurements,
    searched,
    rollups,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
