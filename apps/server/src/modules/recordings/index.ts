import path from 'node:path';
import type { ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { Database } from '../../db/connect';
import type { ZodApp } from '../../http/types';
import type { Jobs } from '../../jobs';
import type { CategoryService } from '../categories/service';
import type { EventService } from '../events/service';
import { type Rpc, recordingService } from '../rpc';
import type { TemplateService } from '../templates/service';
import type { VideoService } from '../videos/service';
import { hookRoutes } from './hook-routes';
import { RecordingHooks } from './hooks';
import { defineRecordingJobs } from './jobs';
import { recordingProvider } from './provider';
import { RecordingRepository } from './repository';
import { recordingRoutes } from './routes';
import { RecordingService } from './service';

export { RecordingHooks, RecordingService };

export interface Recordings {
  hooks: RecordingHooks;
  service: RecordingService;
}

/**
 * Live recordings (issue 19): recorder hooks and recordings imported by URL; their jobs (every node defines
 * them); the `recording` RPC service on workers (the transfers and the merges).
 */
export function createRecordings(d: {
  config: Config;
  db: Database;
  videos: VideoService;
  templates: TemplateService;
  categories: CategoryService;
  jobs: Jobs;
  events: EventService;
  rpc: Rpc;
  storage: ObjectStore;
  log: Logger;
}): Recordings {
  const log = d.log.child({ module: 'recordings' });
  const repo = new RecordingRepository(d.db);
  const deps = {
    repo,
    videos: d.videos,
    jobs: d.jobs,
    events: d.events,
    storage: d.storage,
    client: d.rpc.client(recordingService),
    log,
  };
  const service = new RecordingService(deps);
  defineRecordingJobs(deps, service);
  if (d.config.roles.includes('worker'))
    d.rpc.provide(
      recordingService,
      recordingProvider({
        storage: d.storage,
        config: d.config,
        workDir: path.join(d.config.dataDir, 'work'),
        log,
      }),
    );
  const hooks = new RecordingHooks(repo, {
    template: async (tenantId, id) => {
      await d.templates.getSpec(tenantId, id);
    },
    category: (tenantId, id) => d.categories.assertExists(tenantId, id),
  });
  return { hooks, service };
}

/** The API (hooks, recordings) and the recorders' callback URLs, on the api role. */
export async function recordingApi(
  app: ZodApp,
  r: Recordings,
  o: { publicUrl?: string; dirs: readonly string[] },
): Promise<void> {
  recordingRoutes(app, { hooks: r.hooks, recordings: r.service, publicUrl: o.publicUrl });
  await hookRoutes(app, { hooks: r.hooks, recordings: r.service, dirs: o.dirs });
}
