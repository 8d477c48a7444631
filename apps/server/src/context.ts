import path from 'node:path';
import { ffmpegSlots, limitFfmpegProcesses } from '@vodcloud/media';
import type { Logger } from 'pino';
import type { Config } from './config';
import { uploadParts } from './context-uploads';
import { createDatabase, type Database } from './db/connect';
import { isConnectionError } from './db/errors';
import { migrateToLatest } from './db/migrate';
import { createMetrics, type Metrics } from './http/metrics';
import { registerPlatformMetrics } from './http/platform-metrics';
import { JOBS, type JobName, Jobs, VideoJobTable } from './jobs';
import { Foreground } from './lib/foreground';
import type { SecretBox } from './lib/secretbox';
import { LoginLimiter } from './modules/accounts/login-limits';
import { MemberService } from './modules/accounts/members';
import { AccountRepository } from './modules/accounts/repository';
import { AccountService } from './modules/accounts/service';
import { AuditService } from './modules/audit';
import { CategoryRepository } from './modules/categories/repository';
import { CategoryService } from './modules/categories/service';
import { createDetection, type Detection } from './modules/detection';
import { EventService } from './modules/events/service';
import { IdempotencyStore } from './modules/idempotency';
import { defineImportJobs } from './modules/imports/jobs';
import { MonitorService } from './modules/monitor/service';
import { definePipeline, type Pipeline } from './modules/pipeline/jobs';
import { mediaProvider } from './modules/pipeline/media-provider';
import { SourceCache } from './modules/pipeline/sources';
import { createRecordings, type Recordings } from './modules/recordings';
import { mediaService, monitorService } from './modules/rpc/contracts';
import { Rpc } from './modules/rpc/rpc';
import { CallStats } from './modules/rpc/stats';
import { createStats, type StatsService } from './modules/stats';
import { DeliveryCounter } from './modules/stream/delivery-counter';
import { TemplateRepository } from './modules/templates/repository';
import { TemplateService } from './modules/templates/service';
import { TenantRepository } from './modules/tenants/repository';
import { TenantService } from './modules/tenants/service';
import type { UploadService } from './modules/uploads/service';
import type { TusHandle } from './modules/uploads/tus';
import { VideoRepository } from './modules/videos/repository';
import { VideoService } from './modules/videos/service';
import { setupWebhooks } from './modules/webhooks/jobs';
import type { WebhookService } from './modules/webhooks/service';
import { createPorts, openSecrets, type Ports } from './ports';

export interface HealthCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail: string }>;
}

/** Everything a role needs, built once per process and passed down explicitly (no singletons). */
export interface AppContext {
  config: Config;
  log: Logger;
  db: Database;
  tenants: TenantService;
  templates: TemplateService;
  categories: CategoryService;
  videos: VideoService;
  ports: Ports;
  /** The typed job queue (apps/server/src/jobs): every job defined and enqueued by its registry name. */
  jobs: Jobs;
  secret: string;
  /** Seals and opens the secrets stored in the database (master key ring, lib/secretbox.ts). */
  box: SecretBox;
  events: EventService;
  uploads: UploadService;
  /**
   * The tus server, made at start on nodes that serve uploads or run jobs (upload, worker roles); undefined
   * elsewhere until first used (`loadTus`): a stream-only node never loads the tus libraries (memory per role).
   */
  tus: TusHandle | undefined;
  /** The tus server, made on first use where it was not made at start. */
  loadTus(): Promise<TusHandle>;
  webhooks: WebhookService;
  /** Local paths of video sources for ffmpeg (downloaded once per node from S3). */
  sources: SourceCache;
  delivery: DeliveryCounter;
  /** This process's Prometheus registry (HTTP, process, pipeline timings), served on /metrics. */
  metrics: Metrics;
  /** RPC over the registry's providers (this node's providers are set up per role). */
  rpc: Rpc;
  /** This node's RPC call statistics (null when VOD_RPC_STATS=off). */
  callStats: CallStats | null;
  /** The media pipeline's in-process entry points (just-in-time segments). */
  pipeline: Pipeline;
  /** RPC call statistics per minute and the sentinel's alerts (modules/monitor). */
  monitor: MonitorService;
  /** The audit log: buffered writes of every write and admin request (modules/audit). */
  audit: AuditService;
  /** Statistics: the beacon buffer, the roll-up and the queries of /v1/stats (modules/stats). */
  stats: StatsService;
  /** Stored responses of Idempotency-Key requests (modules/idempotency). */
  idempotency: IdempotencyStore;
  /** Quality checks and moderation: the video.detect job, policies, review queue, the worker's model. */
  detection: Detection;
  /** Live recordings: recorder hooks and recordings imported by URL (modules/recordings). */
  recordings: Recordings;
  /** This node's foreground work (process steps, just-in-time encodes), which detection's ffmpeg yields to. */
  foreground: Foreground;
  /** Users, their passwords and sessions (modules/accounts). */
  accounts: AccountService;
  /** Members of a tenant and one-time links: invitations, password resets (modules/accounts). */
  members: MemberService;
  /** This node once registered (set by the server after it listens). */
  node: { id?: string; url?: string };
  health: HealthCheck[];
  /** Closers run in reverse order of registration on shutdown. */
  closers: Array<() => Promise<void>>;
}

export async function createContext(
  config: Config,
  log: Logger,
  opts: { migrate?: boolean } = {},
): Promise<AppContext> {
  const db = createDatabase(config.dbUrl, {
    replicaUrl: config.dbReplicaUrl,
    timeoutMs: config.dbTimeoutMs,
    maxReplicaLagSec: config.dbReplicaMaxLagSec,
    log,
  });
  try {
    if (opts.migrate !== false)
      await withBackoff(() => migrateToLatest(db.primary as never), log, 'database');
    limitFfmpegProcesses(config.ffmpegMaxProcesses);
    const { secret, box } = await openSecrets(db, config, log);
    const ports = await createPorts(config, db, log, secret);
    const templates = new TemplateService(new TemplateRepository(db));
    const categories = new CategoryService(new CategoryRepository(db));
    const tenants = new TenantService(new TenantRepository(db), templates);
    const videos = new VideoService(new VideoRepository(db), templates, categories);
    const events = new EventService(db, log);
    const { queue, storage, cache } = ports;
    db.recentWrites.share(cache); // read-your-writes marks reach the other nodes through Redis
    const jobs = new Jobs(queue, new VideoJobTable(db));
    const closers: Array<() => Promise<void>> = [];
    const metrics = createMetrics();
    // What most modules are built from.
    const core = { config, db, videos, jobs, events, log, closers };
    const { uploads, tus, loadTus } = await uploadParts({ ...core, ports, tenants, metrics });
    defineImportJobs({ config, jobs, storage, videos, events, log });
    exportPorts(metrics, config, db, ports);
    const node: AppContext['node'] = {};
    const { rpc, callStats } = createRpc(config, ports, secret, log, metrics);
    closers.push(() => rpc.close());
    const delivery = new DeliveryCounter(db, log, config.deliveryFlushMs);
    closers.push(() => delivery.close());
    const sources = new SourceCache(storage, path.join(config.dataDir, 'work'));
    const foreground = new Foreground(ffmpegSlots); // see ProcessSlots: slots kept for foreground runs
    const pipeline = definePipeline({ ...core, storage, templates, sources, box, metrics, foreground });
    const monitor = new MonitorService(db, log);
    const audit = new AuditService(db, log, { metrics: metrics.registry });
    closers.push(() => audit.close());
    const stats = createStats({ config, db, cache, log, jobs, closers });
    provideServices(config, rpc, { node, pipeline, videos, storage, sources, monitor });
    const nodeId = () => node.id;
    const detection = createDetection({
      ...core,
      rpc,
      sources,
      nodeId,
      foreground,
      registry: metrics.registry,
    });
    const recordings = createRecordings({ ...core, templates, categories, rpc, storage });
    const webhooks = setupWebhooks({
      db,
      box,
      queue,
      events,
      log,
      allowHosts: config.fetchAllowHosts,
      retry: config.webhookRetry,
      timeoutMs: config.webhookTimeoutMs,
      deliveries: metrics.webhookDeliveries,
      failures: metrics.webhookFailures,
    });
    jobs.assertAllDefined(); // start-up fails when a job of the registry has no handler
    return {
      config,
      log,
      db,
      tenants,
      templates,
      categories,
      videos,
      ports,
      jobs,
      secret,
      box,
      events,
      uploads,
      tus,
      loadTus,
      webhooks,
      sources,
      delivery,
      metrics,
      rpc,
      callStats,
      pipeline,
      monitor,
      audit,
      stats,
      detection,
      recordings,
      foreground,
      idempotency: new IdempotencyStore(db, box),
      ...accountServices(config, db, cache, tenants, secret),
      node,
      health: healthChecks(db, ports),
      // Closed in reverse: the queue (it may still write to the database) before the database.
      closers: [...portClosers(db, ports), ...closers],
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** Accounts and members over one repository (modules/accounts); login limits in the cache port. */
function accountServices(
  config: Config,
  db: Database,
  cache: Ports['cache'],
  tenants: TenantService,
  secret: string,
) {
  const repo = new AccountRepository(db);
  const accounts = new AccountService(
    repo,
    tenants,
    new LoginLimiter(cache, config.login),
    secret,
    config.session,
  );
  return { accounts, members: new MemberService(repo, tenants, accounts) };
}

/** The ports' metrics, read when Prometheus scrapes (queue depth, jobs run, registry, database, data dir). */
function exportPorts(metrics: Metrics, config: Config, db: Database, ports: Ports): void {
  registerPlatformMetrics(metrics, {
    roles: config.roles,
    queue: ports.queue,
    queueOf: (name) => JOBS[name as JobName]?.queue,
    registry: ports.registry,
    db,
    dataDir: config.dataDir,
  });
}

/** Node-to-node calls through the registry, with per-call statistics unless VOD_RPC_STATS=off. */
function createRpc(config: Config, ports: Ports, secret: string, log: Logger, metrics: Metrics) {
  const callStats = config.rpc.stats ? new CallStats(metrics.registry) : null;
  const rpc = new Rpc({
    registry: ports.registry,
    secret,
    log,
    stats: callStats,
    retries: config.rpc.retries,
    strategies: config.rpc.strategies,
    modes: config.rpc.modes,
  });
  return { rpc, callStats };
}

/** The RPC services this node provides, by role. */
function provideServices(
  config: Config,
  rpc: Rpc,
  s: Pick<AppContext, 'node' | 'pipeline' | 'videos' | 'sources' | 'monitor'> & { storage: Ports['storage'] },
): void {
  const { node, pipeline, videos, storage, sources, monitor } = s;
  if (config.roles.includes('worker'))
    rpc.provide(mediaService, mediaProvider({ node: () => node.id, pipeline, videos, storage, sources }));
  // The monitor role receives every node's call statistics (sent by the reporter in server.ts).
  if (config.roles.includes('monitor'))
    rpc.provide(monitorService, {
      report: async (report) => {
        await monitor.ingest(report);
        return { entries: report.entries.length };
      },
    });
}

function healthChecks(db: Database, ports: Ports): HealthCheck[] {
  return [
    { name: 'database', check: () => db.health() },
    { name: 'storage', check: () => ports.storage.health() },
    { name: 'queue', check: () => ports.queue.health() },
    { name: 'registry', check: () => ports.registry.health() },
    { name: 'cache', check: () => ports.cache.health() },
  ];
}

/** In the order they are registered (closed in reverse). */
function portClosers(db: Database, ports: Ports): Array<() => Promise<void>> {
  return [
    () => db.close(),
    () => ports.storage.close(),
    () => ports.cache.close(),
    () => ports.registry.close(),
    () => ports.queue.close(),
  ];
}

export async function closeContext(ctx: AppContext): Promise<void> {
  for (const close of [...ctx.closers].reverse()) {
    try {
      await close();
    } catch (err) {
      ctx.log.warn({ err }, 'error while closing');
    }
  }
}

/** Retries start-up work against a dependency that may still be starting, with exponential backoff. */
export async function withBackoff<T>(
  fn: () => Promise<T>,
  log: Logger,
  what: string,
  attempts = 6,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isConnectionError(err)) throw err;
      const delay = Math.min(200 * 2 ** (i - 1), 5000);
      log.warn(
        { attempt: i, delayMs: delay, err: (err as Error).message },
        `${what} unreachable at start; retrying`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
