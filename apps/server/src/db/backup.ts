// `vodcloud backup` and `vodcloud restore`: a backup directory is a database dump (backup-dump.ts), a manifest
// of every object in the store (backup-objects.ts) and `manifest.json` tying them together with checksums.
// A backup is written under a temporary name and renamed into place when complete, so a directory named
// like a backup is always a whole one.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '@vodcloud/storage';
import { DUMP_FILE, type DumpResult, dumpDatabase } from './backup-dump';
import { writeObjectManifest } from './backup-objects';
import { existingTables, restoreDump } from './backup-restore';
import { fileSha256 } from './backup-tools';
import { createDatabase, type DialectName, dialectOf, redactUrl } from './connect';
import { migrateToLatest } from './migrate';
import { migrations as knownMigrations } from './migrations/index';
import { mysqlUrlOf, writableMysql } from './mysql-target';

export const MANIFEST_FORMAT = 'vodcloud-backup';
export const MANIFEST_VERSION = 1;
export const OBJECTS_FILE = 'objects.jsonl';

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  createdAt: string;
  vodcloudVersion: string;
  dialect: DialectName;
  database: string;
  lastMigration: string | null;
  dump: { file: string; bytes: number; sha256: string; tool: string };
  rowCounts?: Record<string, number>;
  rowCountsNote?: string;
  position: Record<string, string> | null;
  positionNote?: string;
  objects: { file: string; storage: string; count: number; bytes: number; checksums: boolean };
  durationMs: { database: number; objects: number; total: number };
}

export interface BackupOptions {
  dbUrl: string;
  store: ObjectStore;
  storageUrl: string;
  out: string;
  checksums: boolean;
  timeoutMs: number;
  version: string;
  progress?: (line: string) => void;
}

/** Refuses anything at `out` but an empty directory (or nothing). */
async function assertFreeTarget(out: string): Promise<void> {
  if (!existsSync(out)) return;
  const s = await stat(out);
  if (!s.isDirectory())
    throw new Error(`${out} exists and is not a directory: give a new or empty directory`);
  const entries = await readdir(out);
  if (entries.length)
    throw new Error(
      `${out} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}): a backup goes into a new or empty directory`,
    );
}

export async function takeBackup(o: BackupOptions): Promise<BackupManifest> {
  const started = performance.now();
  const out = path.resolve(o.out);
  const dialect = dialectOf(o.dbUrl);
  await assertFreeTarget(out);
  await mkdir(path.dirname(out), { recursive: true });
  const tmp = path.join(
    path.dirname(out),
    `.${path.basename(out)}.partial-${process.pid}-${randomBytes(3).toString('hex')}`,
  );
  await mkdir(tmp);
  try {
    o.progress?.(`dumping the ${dialect} database ${redactUrl(o.dbUrl)}`);
    const dump: DumpResult = await dumpDatabase(
      dialect,
      o.dbUrl,
      path.join(tmp, DUMP_FILE[dialect]),
      o.timeoutMs,
    );
    const dbDone = performance.now();
    o.progress?.(`listing the objects of ${redactUrl(o.storageUrl)}${o.checksums ? ' with sha256' : ''}`);
    const objects = await writeObjectManifest(o.store, path.join(tmp, OBJECTS_FILE), {
      checksums: o.checksums,
    });
    const done = performance.now();
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_VERSION,
      createdAt: new Date(Date.now() - (done - started)).toISOString(),
      vodcloudVersion: o.version,
      dialect,
      database: redactUrl(o.dbUrl),
      lastMigration: dump.lastMigration,
      dump: { file: DUMP_FILE[dialect], bytes: dump.bytes, sha256: dump.sha256, tool: dump.tool },
      ...(dump.rowCounts && { rowCounts: dump.rowCounts }),
      ...(dump.rowCountsNote && { rowCountsNote: dump.rowCountsNote }),
      position: dump.position,
      ...(dump.positionNote && { positionNote: dump.positionNote }),
      objects: { file: OBJECTS_FILE, storage: redactUrl(o.storageUrl), ...objects, checksums: o.checksums },
      durationMs: {
        database: Math.round(dbDone - started),
        objects: Math.round(done - dbDone),
        total: Math.round(done - started),
      },
    };
    await writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await assertFreeTarget(out); // someone may have written there meanwhile
    await rename(tmp, out); // replaces an empty directory
    return manifest;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Reads `DIR/manifest.json` and checks the dump against it (size, sha256); throws naming what is wrong. */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  const file = path.join(dir, 'manifest.json');
  let m: BackupManifest;
  try {
    m = JSON.parse(await readFile(file, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new Error(`${file}: cannot read the backup's manifest: ${(err as Error).message}`);
  }
  if (m.format !== MANIFEST_FORMAT || typeof m.formatVersion !== 'number')
    throw new Error(`${file} is not a vodcloud backup manifest`);
  if (m.formatVersion > MANIFEST_VERSION)
    throw new Error(`${file} is format ${m.formatVersion}; this vodcloud reads up to ${MANIFEST_VERSION}`);
  if (!m.dump?.file || m.dump.file !== path.basename(m.dump.file))
    throw new Error(`${file}: the dump file name is missing or not a plain name`);
  const dump = path.join(dir, m.dump.file);
  if (!existsSync(dump)) throw new Error(`${dump} is missing`);
  const got = await fileSha256(dump);
  if (got.bytes !== m.dump.bytes || got.sha256 !== m.dump.sha256)
    throw new Error(
      `${dump} does not match the manifest (${got.bytes} bytes sha256 ${got.sha256}; ` +
        `the manifest says ${m.dump.bytes} bytes sha256 ${m.dump.sha256}): refusing to restore it`,
    );
  if (!existsSync(path.join(dir, m.objects.file)))
    throw new Error(`${path.join(dir, m.objects.file)} is missing`);
  return m;
}

export interface RestoreResult {
  manifest: BackupManifest;
  tool: string;
  migrations: string[];
  durationMs: { restore: number; migrate: number };
}

/** Verifies the backup, loads it into the empty database at `dbUrl`, then migrates it to this version. */
export async function restoreBackup(o: {
  from: string;
  dbUrl: string;
  timeoutMs: number;
  progress?: (line: string) => void;
}): Promise<RestoreResult> {
  const manifest = await verifyBackup(o.from);
  const dialect = dialectOf(o.dbUrl);
  if (dialect !== manifest.dialect)
    throw new Error(`the backup is of a ${manifest.dialect} database; VOD_DB_URL is ${dialect}`);
  if (manifest.lastMigration && !(manifest.lastMigration in knownMigrations))
    throw new Error(
      `the backup was taken by a newer vodcloud (${manifest.vodcloudVersion}, migration ${manifest.lastMigration} ` +
        'is unknown here): restore it with that version or a later one',
    );
  const tables = await existingTables(dialect, o.dbUrl);
  if (tables.length)
    throw new Error(
      `the target database ${redactUrl(o.dbUrl)} is not empty (${tables.length} table(s): ` +
        `${tables.slice(0, 10).join(', ')}${tables.length > 10 ? ', …' : ''}): restore only into an empty database`,
    );
  const t0 = performance.now();
  o.progress?.(`restoring ${manifest.dump.file} (${manifest.dump.bytes} bytes) into ${redactUrl(o.dbUrl)}`);
  const { tool } = await restoreDump(
    dialect,
    o.dbUrl,
    path.join(o.from, manifest.dump.file),
    o.timeoutMs,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}\nthe target database may now hold part of the backup: drop and create it again before retrying`,
    );
  });
  const t1 = performance.now();
  const url = dialect === 'mysql' ? mysqlUrlOf(await writableMysql(o.dbUrl)) : o.dbUrl;
  const db = createDatabase(url, { timeoutMs: 30_000 });
  let migrations: string[];
  try {
    const result = await migrateToLatest(db.primary as never);
    migrations = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
  } finally {
    await db.close();
  }
  return {
    manifest,
    tool,
    migrations,
    durationMs: { restore: Math.round(t1 - t0), migrate: Math.round(performance.now() - t1) },
  };
}
