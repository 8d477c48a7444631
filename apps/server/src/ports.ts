import { randomBytes } from 'node:crypto';
import { createObjectStore, type ObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db/connect';
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
 * in the database so every node of a cluster shares it.
 */
export async function ensureSecret(db: Database, config: Config): Promise<string> {
  if (config.secret) return config.secret;
  const read = () =>
    db.primary.selectFrom('settings').select('value').where('name', '=', 'secret').executeTakeFirst();
  const existing = await read();
  if (existing) return existing.value;
  try {
    await db.primary
      .insertInto('settings')
      .values({ name: 'secret', value: randomBytes(32).toString('base64url') })
      .execute();
  } catch {
    // another node inserted it first
  }
  return (await read())!.value;
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
    });
    return { storage, cache, registry, queue };
  } catch (err) {
    for (const p of opened.reverse()) await p.close().catch(() => undefined);
    throw err;
  }
}
