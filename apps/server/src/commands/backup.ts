// `vodcloud backup --out DIR` and `vodcloud restore --from DIR`: the database (a consistent online dump) and
// a manifest of the object store. Objects are not copied: the store's own replication or versioning keeps
// them, and restore checks they are still there (--verify-storage).
import path from 'node:path';
import { createObjectStore, type ObjectStore } from '@vodcloud/storage';
import type { Command } from 'commander';
import type { Config } from '../config';
import { restoreBackup, takeBackup } from '../db/backup';
import { verifyObjects } from '../db/backup-objects';
import { redactUrl } from '../db/connect';
import { VERSION } from '../http/app';
import { parseDuration } from './format';

const STORAGE_NOTE =
  'objects are not copied by vodcloud: keep them with the object store’s own replication or versioning ' +
  '(S3 versioning + replication, Ceph RGW multisite, rsync of a file store)';

async function openStore(cfg: Config): Promise<ObjectStore> {
  return createObjectStore(cfg.storageUrl, {
    s3: cfg.s3Credentials ? { credentials: cfg.s3Credentials } : undefined,
  } as never);
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

interface BackupOpts {
  out: string;
  checksums: boolean;
  timeout: number;
  dbUrl?: string;
  json?: boolean;
}

async function backup(cfg: Config, o: BackupOpts): Promise<void> {
  const store = await openStore(cfg);
  try {
    const m = await takeBackup({
      dbUrl: o.dbUrl ?? cfg.dbUrl,
      store,
      storageUrl: cfg.storageUrl,
      out: o.out,
      checksums: o.checksums,
      timeoutMs: o.timeout,
      version: VERSION,
      progress: (line) => console.error(line),
    });
    if (o.json) return console.log(JSON.stringify(m, null, 2));
    console.log(`backup written to ${path.resolve(o.out)} in ${(m.durationMs.total / 1000).toFixed(1)} s`);
    console.log(
      `  database  ${m.dialect}, ${m.dump.file} ${mib(m.dump.bytes)} by ${m.dump.tool} in ` +
        `${(m.durationMs.database / 1000).toFixed(1)} s, last migration ${m.lastMigration ?? '-'}`,
    );
    if (m.position) console.log(`  position  ${JSON.stringify(m.position)}`);
    if (m.positionNote) console.log(`  position  ${m.positionNote}`);
    console.log(
      `  objects   ${m.objects.count} (${mib(m.objects.bytes)})${m.objects.checksums ? ' with sha256' : ', size and etag only'} ` +
        `in ${(m.durationMs.objects / 1000).toFixed(1)} s`,
    );
    console.log(`  note      ${STORAGE_NOTE}`);
  } finally {
    await store.close().catch(() => undefined);
  }
}

interface RestoreOpts {
  from: string;
  verifyStorage: boolean;
  quick?: boolean;
  timeout: number;
  dbUrl?: string;
  json?: boolean;
}

async function restore(cfg: Config, o: RestoreOpts): Promise<number> {
  const dbUrl = o.dbUrl ?? cfg.dbUrl;
  const r = await restoreBackup({
    from: o.from,
    dbUrl,
    timeoutMs: o.timeout,
    progress: (line) => console.error(line),
  });
  const human = !o.json;
  if (human) {
    console.log(
      `restored the ${r.manifest.dialect} backup of ${r.manifest.createdAt} into ${redactUrl(dbUrl)} ` +
        `(${r.tool}) in ${(r.durationMs.restore / 1000).toFixed(1)} s`,
    );
    console.log(
      r.migrations.length
        ? `migrated from ${r.manifest.lastMigration ?? 'nothing'}: ${r.migrations.join(', ')}`
        : 'migrations: already up to date',
    );
    console.log(`note: ${STORAGE_NOTE}`);
  }
  let storage: Awaited<ReturnType<typeof verifyObjects>> | undefined;
  if (o.verifyStorage) {
    const store = await openStore(cfg);
    try {
      if (human)
        console.error(
          `checking the ${r.manifest.objects.count} objects of the backup in ${redactUrl(cfg.storageUrl)}`,
        );
      storage = await verifyObjects(store, path.join(o.from, r.manifest.objects.file), { quick: !!o.quick });
    } finally {
      await store.close().catch(() => undefined);
    }
    if (human) {
      console.log(
        `storage: ${storage.ok} ok, ${storage.missing} missing, ${storage.different} different of ${storage.total}` +
          (o.quick || !r.manifest.objects.checksums ? ' (size only)' : ' (size and sha256)'),
      );
      for (const p of storage.problems) console.log(`  ${p}`);
    }
  }
  if (o.json) console.log(JSON.stringify({ ...r, storage: storage ?? null }, null, 2));
  return storage && (storage.missing || storage.different) ? 1 : 0;
}

export function registerBackupCommands(program: Command, config: () => Config): void {
  program
    .command('backup')
    .description(
      'write a consistent online dump of the database and a manifest of every object (with sha256) into a new directory',
    )
    .requiredOption('--out <dir>', 'a new or empty directory')
    .option('--no-checksums', 'record size and etag of each object only, without reading it (huge stores)')
    .option(
      '--timeout <duration>',
      'bound on the database dump (mariadb-dump, pg_dump)',
      parseDuration,
      6 * 3_600_000,
    )
    .option(
      '--db-url <url>',
      'the database to back up (default VOD_DB_URL); a mysql URL may list several hosts',
    )
    .option('--json', 'print the manifest as JSON')
    .action(async (o: BackupOpts) => {
      await backup(config(), o);
    });
  program
    .command('restore')
    .description(
      'restore a backup into an EMPTY database, migrate it to this version, and check the objects it names are in the store',
    )
    .requiredOption('--from <dir>', 'a directory written by vodcloud backup')
    .option('--no-verify-storage', 'do not check the objects of the backup in the store')
    .option('--quick', 'check objects by size only, not by reading them (sha256)')
    .option(
      '--timeout <duration>',
      'bound on loading the dump (mariadb, pg_restore)',
      parseDuration,
      6 * 3_600_000,
    )
    .option('--db-url <url>', 'the database to restore into (default VOD_DB_URL)')
    .option('--json', 'print the result as JSON')
    .action(async (o: RestoreOpts) => {
      process.exitCode = await restore(config(), o);
    });
}
