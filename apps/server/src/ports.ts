import { randomBytes } from 'node:crypto';
import { createObjectStore, type ObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import { type Config, ConfigError } from './config';
import type { Database } from './db/connect';
import { isUnavailableError } from './db/errors';
import { assertRingOpens, sealAll } from './db/sealed-values';
import { KeyRing, SecretBox } from './lib/secretbox';
import { type Cache, createCache } from './ports/cache';
import { createJobQueue, type JobQueue } from './ports/queue';
import { createRegistry, type Registry } from './ports/registry';

export interface Ports {
  storage: ObjectStore;
  cache: Cache;
  registry: Registry;
  queue: JobQueue;
}

/**
 * The cluster-wide secret for signed URLs and tokens: VOD_SECRET when set, else generated once and kept
 * in the database so every node of a cluster shares it. With a master key it is kept sealed (a clear one
 * from before is sealed here); a sealed one the ring cannot open fails start-up, never a new secret.
 */
export async function ensureSecret(db: Database, config: Config, ring: KeyRing): Promise<string> {
  if (config.secret) return config.secret;
  const box = new SecretBox(ring, '');
  const ref = 'secret';
  const read = async () =>
    (await db.primary.selectFrom('settings').select('value').where('name', '=', 'secret').executeTakeFirst())
      ?.value;
  const openStored = (stored: string) => {
    try {
      return box.openText('cluster-secret', ref, stored);
    } catch (err) {
      throw new ConfigError([
        `VOD_MASTER_KEY: cannot open the cluster secret stored in the database: ${(err as Error).message}`,
      ]);
    }
  };
  let stored = await read();
  if (stored === undefined) {
    const secret = randomBytes(32).toString('base64url');
    try {
      await db.primary
        .insertInto('settings')
        .values({ name: 'secret', value: box.seal('cluster-secret', ref, secret) })
        .execute();
    } catch {
      // another node inserted it first
    }
    stored = (await read())!;
  }
  const secret = openStored(stored);
  if (box.needsSealing(stored, false))
    await db.primary
      .updateTable('settings')
      .set({ value: box.seal('cluster-secret', ref, secret) })
      .where('name', '=', 'secret')
      .where('value', '=', stored)
      .execute();
  return secret;
}

/**
 * The secrets of this process: the master key ring checked against what the database holds (a key that
 * cannot open it fails start-up), the cluster secret, and, with a master key, every value still stored
 * without it sealed now (in bounded batches; values stay readable throughout).
 */
export async function openSecrets(
  db: Database,
  config: Config,
  log: Logger,
): Promise<{ secret: string; box: SecretBox }> {
  const ring = KeyRing.from(config.masterKeys.current, config.masterKeys.previous);
  await assertRingOpens(db, ring);
  const secret = await ensureSecret(db, config, ring);
  const box = new SecretBox(ring, secret);
  if (box.sealing) {
    const report = await sealAll(db, box);
    const sealed = Object.values(report.counts).reduce((n, c) => n + c.sealed, 0);
    if (sealed) log.info({ counts: report.counts }, 'sealed secrets stored before VOD_MASTER_KEY was set');
    if (report.failures.length)
      log.warn({ failures: report.failures }, 'some stored secrets cannot be opened and stay as they are');
  }
  return { secret, box };
}

export function storageOptions(config: Config, secret: string) {
  return {
    publicBaseUrl: config.publicUrl ?? config.advertiseUrl ?? '',
    signingSecret: secret,
    s3: config.s3Credentials ? { credentials: config.s3Credentials } : undefined,
  };
}

/** Builds every port from its URL setting; on failure, closes what was already opened. */
export async function createPorts(config: Config, db: Database, log: Logger, secret: string): Promise<Ports> {
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const storage = await createObjectStore(config.storageUrl, storageOptions(config, secret) as never);
    opened.push(storage);
    if (storage.kind === 's3') {
      await (storage as S3ObjectStore).ensureBucket();
      if (config.streamRedirect === 'presigned') await (storage as S3ObjectStore).allowBrowserReads();
    }
    const cache = await createCache(config.cacheUrl, { namespace: 'vod' });
    opened.push(cache);
    const registry = await createRegistry(config.registryUrl);
    opened.push(registry);
    const queue = await createJobQueue(config.queueUrl, {
      db,
      log,
      leaseMs: config.queueLeaseMs,
      prefix: config.queuePrefix,
      // A job that meets the database away or read-only (a failover) waits for it without using up attempts.
      transient: isUnavailableError,
    });
    return { storage, cache, registry, queue };
  } catch (err) {
    for (const p of opened.reverse()) await p.close().catch(() => undefined);
    throw err;
  }
}
