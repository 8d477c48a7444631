// The upload side of a node's context (context.ts): the upload service, the tus server made where and when it
// is needed (memory per role: a stream-only node never loads the tus libraries), the jobs that use it.
import type { Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db/connect';
import type { Metrics } from './http/metrics';
import type { Jobs } from './jobs';
import type { EventService } from './modules/events/service';
import type { TenantService } from './modules/tenants/service';
import { defineUploadJobs } from './modules/uploads/jobs';
import { UploadRepository } from './modules/uploads/repository';
import { UploadService } from './modules/uploads/service';
import type { TusHandle } from './modules/uploads/tus';
import { defineVideoLifecycle } from './modules/videos/lifecycle';
import type { VideoService } from './modules/videos/service';
import type { Ports } from './ports';

/** Roles whose nodes make the tus server at start: they serve uploads or run its jobs. */
const TUS_ROLES = new Set(['upload', 'worker']);

/**
 * Uploads and the tus server (its upload metadata cached in Redis when uploads are stored in S3), the latter
 * made once, when first asked for (its libraries are loaded then), at start on the roles that need it; the
 * video lifecycle and upload jobs, which remove and publish uploads through it.
 */
export async function uploadParts(d: {
  config: Config;
  db: Database;
  ports: Ports;
  videos: VideoService;
  events: EventService;
  jobs: Jobs;
  tenants: TenantService;
  metrics: Metrics;
  log: Logger;
  closers: Array<() => Promise<void>>;
}) {
  const { config, db, ports, log } = d;
  const { storage } = ports;
  const uploads = new UploadService({
    config,
    db,
    repo: new UploadRepository(db),
    videos: d.videos,
    events: d.events,
    jobs: d.jobs,
    log,
  });
  const make = async () => {
    const { createTus } = await import('./modules/uploads/tus');
    const kvStore = await tusKvStore(config, ports.storage, d.closers);
    return createTus({
      config,
      storage: ports.storage,
      cache: ports.cache,
      uploads,
      tenants: d.tenants,
      log,
      receivedBytes: d.metrics.uploadBytes,
      kvStore: kvStore as never,
    });
  };
  let made: Promise<TusHandle> | undefined;
  const loadTus = () => {
    // A failed attempt is not kept: the next caller tries again.
    made ??= make().catch((err) => {
      made = undefined;
      throw err;
    });
    return made;
  };
  const tus = config.roles.some((r) => TUS_ROLES.has(r)) ? await loadTus() : undefined;
  defineVideoLifecycle({
    videos: d.videos,
    jobs: d.jobs,
    storage,
    events: d.events,
    removeUpload: async (key) => (await loadTus()).remove(key),
  });
  defineUploadJobs({
    jobs: d.jobs,
    storage,
    uploads,
    tus: loadTus,
    log,
    uploadExpiresInSec: config.uploadExpiresInSec,
  });
  return { uploads, tus, loadTus };
}

/** The S3 tus store caches upload metadata; in a cluster that cache must be shared (Redis). */
async function tusKvStore(
  config: Config,
  storage: Ports['storage'],
  closers: Array<() => Promise<void>>,
): Promise<unknown> {
  if (storage.kind !== 's3' || !/^rediss?:\/\//.test(config.cacheUrl)) return undefined;
  const { Redis } = await import('ioredis');
  const { IoRedisKvStore } = await import('@tus/server');
  const redis = new Redis(config.cacheUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => {
    // Reconnects by itself; failures surface on the calls (the tus request fails, the client retries).
  });
  closers.push(async () => void redis.disconnect());
  return new IoRedisKvStore(redis, 'vod:tus:');
}
