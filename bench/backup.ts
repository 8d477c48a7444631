// `npm run bench -- backup`: `vodcloud backup` and `vodcloud restore` of a database holding 10,000 videos'
// metadata (rows shaped like a published video: renditions, outputs, a plan of 60 segments, source info,
// meta), side by side with the bare reference tool on the same database (mariadb-dump / the mariadb client,
// pg_dump -Fc / pg_restore, sqlite3 .backup / cp). The vodcloud figures are whole processes (start-up,
// checksums, manifest, migrations check at restore); the manifest's own dump time is printed too. The object
// store is empty here: objects.jsonl costs one listing. Medians of --rounds.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from 'mysql2/promise';
import pg from 'pg';
import { createDatabase } from '../apps/server/src/db/connect';
import { migrateToLatest } from '../apps/server/src/db/migrate';
import type { VideosTable } from '../apps/server/src/db/schema';
import { newId } from '../apps/server/src/lib/ids';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { REPO_ROOT } from './lib/vodcloud';

const HELP = `usage: npm run bench -- backup [options]
  --engines LIST   sqlite,mysql,postgres (default all three; mysql/postgres from VOD_TEST_MYSQL_URL /
                   VOD_TEST_PG_URL, read from the environment or /tmp/vod-services/test.env)
  --videos N       rows in the videos table (default 10000)
  --rounds N       rounds per engine (default 3)
  --work-dir DIR   default /tmp/vodcloud-bench/backup`;

type Engine = 'sqlite' | 'mysql' | 'postgres';

function serviceEnv(name: string): string | undefined {
  if (process.env[name]) return process.env[name];
  const file = path.join(process.env.VOD_SERVICES_DIR ?? '/tmp/vod-services', 'test.env');
  if (!existsSync(file)) return undefined;
  return new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}

interface Db {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function createDb(engine: Engine, workDir: string, label: string): Promise<Db> {
  const name = `vodbench_${label}_${Date.now().toString(36)}`;
  if (engine === 'sqlite') {
    const file = path.join(workDir, `${name}.db`);
    return {
      url: `sqlite:${file}`,
      name: file,
      drop: async () => {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) await rm(f, { force: true });
      },
    };
  }
  if (engine === 'mysql') {
    const u = new URL(serviceEnv('VOD_TEST_MYSQL_URL')!);
    const admin = createPool({ host: u.hostname, port: Number(u.port || 3306), user: u.username || 'root' });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      name,
      drop: async () => {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.end();
      },
    };
  }
  const server = serviceEnv('VOD_TEST_PG_URL')!;
  const run = async (q: string) => {
    const c = new pg.Client({ connectionString: server });
    await c.connect();
    await c.query(q);
    await c.end();
  };
  await run(`CREATE DATABASE ${name}`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  return { url: u.toString(), name, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function videoRow(tenantId: string, templateId: string, categoryIds: string[], i: number): VideosTable {
  const id = newId(Date.now() - 10_000_000 + i * 1000);
  const gen = `g${i.toString(36)}`;
  const at = new Date(Date.now() - (10_000 - i) * 60_000).toISOString();
  const ladder = [1080, 720, 480, 360].map((h, k) => [Math.round((h * 16) / 9), h, 5_000_000 / 2 ** k]);
  const renditions = ladder.map(([w, h, b]) => ({
    name: `${h}p`,
    width: w,
    height: h,
    bandwidth: Math.round(b! * 1.1),
    codecs: 'avc1.64001f,mp4a.40.2',
  }));
  const segments = Array.from({ length: 60 }, (_, s) => ({ index: s, start: s * 2, duration: 2 }));
  return {
    id,
    tenant_id: tenantId,
    title: `Video number ${i}: a talk about something of interest`,
    description: 'Recorded at the spring conference. Slides are linked in the description.',
    category_id: categoryIds[i % categoryIds.length]!,
    tags: JSON.stringify(['conference', `track-${i % 7}`]),
    status: 'ready',
    status_before_block: null,
    playable: 1,
    progress: 1,
    duration: 120 + (i % 600),
    width: 1920,
    height: 1080,
    size_bytes: 50_000_000 + i * 1000,
    source_info: JSON.stringify({
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: 120 + (i % 600),
      video: { codec: 'h264', profile: 'High', width: 1920, height: 1080, fps: 30, bitrate: 8_000_000 },
      audio: { codec: 'aac', channels: 2, sampleRate: 48000, bitrate: 128_000 },
    }),
    renditions: JSON.stringify(renditions),
    playback_id: newId().toLowerCase(),
    playback_policy: 'public',
    template_id: templateId,
    input_url: null,
    cover_time: null,
    detection: null,
    error_code: null,
    error_message: null,
    meta: JSON.stringify({ externalId: `ext-${i}`, uploader: 'bench' }),
    passthrough: null,
    created_at: at,
    updated_at: at,
    ready_at: at,
    plan: JSON.stringify({ ladder: renditions.map((r) => r.name), segments, chunks: 6 }),
    generation: gen,
    published_generation: gen,
    outputs: JSON.stringify({
      master: `${tenantId}/${id}/${gen}/hls/master.m3u8`,
      mp4: Object.fromEntries(renditions.map((r) => [r.name, `${tenantId}/${id}/${gen}/mp4/${r.name}.mp4`])),
      poster: `${tenantId}/${id}/${gen}/images/poster.jpg`,
      storyboard: `${tenantId}/${id}/${gen}/images/storyboard.jpg`,
    }),
    hls_key: null,
    published_hls_key: null,
    processing_started_at: at,
    chunks_done: 6,
    upload_completed_at: at,
    playable_at: at,
    output_bytes: 80_000_000 + i,
    review_status: null,
  };
}

async function fill(url: string, videos: number): Promise<void> {
  const db = createDatabase(url, { timeoutMs: 60_000 });
  try {
    await migrateToLatest(db.primary as never);
    const at = new Date().toISOString();
    const tenantId = newId();
    await db.primary.insertInto('tenants').values({ id: tenantId, name: 'bench', created_at: at }).execute();
    const templateId = newId();
    await db.primary
      .insertInto('templates')
      .values({
        id: templateId,
        tenant_id: tenantId,
        name: 'default',
        is_default: 1,
        spec: '{}',
        created_at: at,
        updated_at: at,
      })
      .execute();
    const categoryIds = Array.from({ length: 20 }, () => newId());
    await db.primary
      .insertInto('categories')
      .values(
        categoryIds.map((id, n) => ({
          id,
          tenant_id: tenantId,
          name: `cat-${n}`,
          description: null,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
    for (let i = 0; i < videos; i += 500) {
      const rows = Array.from({ length: Math.min(500, videos - i) }, (_, k) =>
        videoRow(tenantId, templateId, categoryIds, i + k),
      );
      await db.primary.insertInto('videos').values(rows).execute();
    }
  } finally {
    await db.close();
  }
}

/** Runs a program to its end; seconds of wall time. stdout to `stdoutTo`, stdin from `stdinFrom`. */
function timed(
  cmd: string,
  args: string[],
  o: { env?: Record<string, string>; stdoutTo?: string; stdinFrom?: string; out?: string[] } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...o.env },
      stdio: [o.stdinFrom ? 'pipe' : 'ignore', o.stdoutTo || o.out ? 'pipe' : 'ignore', 'pipe'],
    });
    if (o.stdoutTo) child.stdout!.pipe(createWriteStream(o.stdoutTo));
    if (o.stdinFrom) createReadStream(o.stdinFrom).pipe(child.stdin!);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    if (!o.stdoutTo && o.out) child.stdout!.on('data', (d) => o.out!.push(String(d)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve((performance.now() - t0) / 1000)
        : reject(new Error(`${cmd} ${args.join(' ')}: ${code} ${err}`)),
    );
  });
}

const mysqlArgs = (url: string) => {
  const u = new URL(url);
  return [`--host=${u.hostname}`, `--port=${u.port || 3306}`, `--user=${u.username || 'root'}`];
};

/** The bare tool: a dump of `db` into `file`. */
function referenceDump(engine: Engine, db: Db, file: string): Promise<number> {
  if (engine === 'mysql')
    return timed(
      'mariadb-dump',
      [
        ...mysqlArgs(db.url),
        '--single-transaction',
        '--quick',
        '--hex-blob',
        '--routines',
        '--no-tablespaces',
        db.name,
      ],
      { stdoutTo: file },
    );
  if (engine === 'postgres') return timed('pg_dump', ['-Fc', `--dbname=${db.url}`, '-f', file]);
  return timed('sqlite3', [db.name, `.backup '${file}'`]);
}

/** The bare tool: `file` loaded into the empty `db`. */
async function referenceRestore(engine: Engine, db: Db, file: string): Promise<number> {
  if (engine === 'mysql') return timed('mariadb', [...mysqlArgs(db.url), db.name], { stdinFrom: file });
  if (engine === 'postgres')
    return timed('pg_restore', [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--dbname=${db.url}`,
      file,
    ]);
  const t0 = performance.now();
  await copyFile(file, db.name);
  return (performance.now() - t0) / 1000;
}

const vodcloud = (args: string[], env: Record<string, string>, out?: string[]) =>
  timed(process.execPath, [path.join(REPO_ROOT, 'apps/server/bin/vodcloud.js'), ...args], {
    env: { VOD_LOG_LEVEL: 'warn', ...env },
    out,
  });

interface Round {
  backupS: number;
  dumpS: number;
  refDumpS: number;
  restoreS: number;
  refRestoreS: number;
  /** Loading the dump and the migrations check, as restore reports them (without the process start). */
  restoreInsideS: number;
  /** `vodcloud --version`: the start of the program alone. */
  startS: number;
  dumpBytes: number;
  refBytes: number;
}

async function round(engine: Engine, source: Db, workDir: string, n: number): Promise<Round> {
  const dir = path.join(workDir, `${engine}-${n}`);
  await rm(dir, { recursive: true, force: true });
  const env = {
    VOD_DB_URL: source.url,
    VOD_STORAGE_URL: `file:${path.join(workDir, 'objects')}`,
    VOD_DATA_DIR: path.join(workDir, 'data'),
  };
  const refFile = path.join(workDir, `${engine}-${n}.ref`);
  // Alternate which goes first, so neither always finds the caches warm.
  let backupS: number;
  let refDumpS: number;
  if (n % 2) {
    refDumpS = await referenceDump(engine, source, refFile);
    backupS = await vodcloud(['backup', '--out', dir], env);
  } else {
    backupS = await vodcloud(['backup', '--out', dir], env);
    refDumpS = await referenceDump(engine, source, refFile);
  }
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  const a = await createDb(engine, workDir, 'a');
  const b = await createDb(engine, workDir, 'b');
  try {
    const out: string[] = [];
    const restoreS = await vodcloud(
      ['restore', '--from', dir, '--no-verify-storage', '--json'],
      { ...env, VOD_DB_URL: a.url },
      out,
    );
    const inside = JSON.parse(out.join('')).durationMs as { restore: number; migrate: number };
    const refRestoreS = await referenceRestore(engine, b, refFile);
    return {
      backupS,
      dumpS: manifest.durationMs.database / 1000,
      refDumpS,
      restoreS,
      refRestoreS,
      restoreInsideS: (inside.restore + inside.migrate) / 1000,
      startS: await vodcloud(['--version'], {}),
      dumpBytes: manifest.dump.bytes,
      refBytes: (await stat(refFile)).size,
    };
  } finally {
    await a.drop();
    await b.drop();
    await rm(dir, { recursive: true, force: true });
    await rm(refFile, { force: true });
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      engines: { type: 'string', default: 'sqlite,mysql,postgres' },
      videos: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      'work-dir': { type: 'string', default: '/tmp/vodcloud-bench/backup' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(HELP);
  const engines = values.engines!.split(',') as Engine[];
  const videos = Number(values.videos);
  const rounds = Number(values.rounds);
  const workDir = values['work-dir']!;
  await mkdir(workDir, { recursive: true });
  const rows: string[][] = [];
  const results: Record<string, Round[]> = {};
  for (const engine of engines) {
    const source = await createDb(engine, workDir, 'src');
    try {
      const t0 = performance.now();
      await fill(source.url, videos);
      console.error(
        `${engine}: ${videos} videos inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const rs: Round[] = [];
      for (let n = 0; n < rounds; n++) rs.push(await round(engine, source, workDir, n));
      results[engine] = rs;
      const m = (k: keyof Round) => median(rs.map((r) => r[k]));
      const s = (x: number) => x.toFixed(2);
      const r = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
      const mb = (k: keyof Round) => (m(k) / 2 ** 20).toFixed(1);
      const [bk, dump, refDump] = [m('backupS'), m('dumpS'), m('refDumpS')];
      const [rs2, inside, refRs] = [m('restoreS'), m('restoreInsideS'), m('refRestoreS')];
      rows.push([
        engine,
        'backup',
        s(bk),
        s(dump),
        s(refDump),
        r(bk, refDump),
        r(dump, refDump),
        `${mb('dumpBytes')} / ${mb('refBytes')}`,
      ]);
      rows.push([engine, 'restore', s(rs2), s(inside), s(refRs), r(rs2, refRs), r(inside, refRs), '']);
    } finally {
      await source.drop();
    }
  }
  const starts = Object.values(results).flatMap((rs) => rs.map((r) => r.startS));
  console.log(`\n${videos} videos, medians of ${rounds} rounds (seconds; vodcloud = the whole process)`);
  console.log(`start of the program alone (vodcloud --version): ${median(starts).toFixed(2)} s`);
  printTable(
    ['engine', 'op', 'process s', 'inside s', 'reference s', 'process/ref', 'inside/ref', 'MiB vod/ref'],
    rows,
  );
  console.log(
    'inside = the dump (backup: manifest durationMs.database) or the load + migrations check (restore), without the program start',
  );
  console.log(`results: ${await writeResults('backup', { videos, rounds, results })}`);
}
