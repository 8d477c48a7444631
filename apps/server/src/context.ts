import type { Logger } from 'pino';
import type { Config } from './config';
import { createDatabase, type Database } from './db/connect';
import { migrateToLatest } from './db/migrate';
import { CategoryRepository } from './modules/categories/repository';
import { CategoryService } from './modules/categories/service';
import { TemplateRepository } from './modules/templates/repository';
import { TemplateService } from './modules/templates/service';
import { TenantRepository } from './modules/tenants/repository';
import { TenantService } from './modules/tenants/service';
import { VideoRepository } from './modules/videos/repository';
import { VideoService } from './modules/videos/service';
import { createPorts, ensureSecret, type Ports } from './ports';

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
  secret: string;
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
    log,
  });
  try {
    if (opts.migrate !== false)
      await withBackoff(() => migrateToLatest(db.primary as never), log, 'database');
    const secret = await ensureSecret(db, config);
    const ports = await createPorts(config, db, log, secret);
    const templates = new TemplateService(new TemplateRepository(db));
    const categories = new CategoryService(new CategoryRepository(db));
    const tenants = new TenantService(new TenantRepository(db), templates);
    const videos = new VideoService(new VideoRepository(db), templates, categories);
    return {
      config,
      log,
      db,
      tenants,
      templates,
      categories,
      videos,
      ports,
      secret,
      health: [
        { name: 'database', check: () => db.health() },
        { name: 'storage', check: () => ports.storage.health() },
        { name: 'queue', check: () => ports.queue.health() },
        { name: 'registry', check: () => ports.registry.health() },
        { name: 'cache', check: () => ports.cache.health() },
      ],
      // Closed in reverse: the queue (it may still write to the database) before the database.
      closers: [
        () => db.close(),
        () => ports.storage.close(),
        () => ports.cache.close(),
        () => ports.registry.close(),
        () => ports.queue.close(),
      ],
    };
  } catch (err) {
    await db.close();
    throw err;
  }
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
      const { isConnectionError } = await import('./db/errors');
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
