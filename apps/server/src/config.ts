import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Strategy } from './modules/rpc/balance';

export const ROLES = ['api', 'upload', 'stream', 'worker', 'monitor'] as const;
export type Role = (typeof ROLES)[number];

const urlLike = (name: string, pattern: RegExp, example: string) =>
  z.string().regex(pattern, `${name} must look like ${example}`);

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z
  .object({
    VOD_PORT: intFrom(0, 65535).default(8080),
    VOD_HOST: z.string().min(1).default('0.0.0.0'),
    VOD_DATA_DIR: z.string().min(1).default('./data'),
    VOD_ROLES: z.string().optional(),
    VOD_DB_URL: urlLike(
      'VOD_DB_URL',
      /^(sqlite:|mysql:\/\/|mariadb:\/\/|postgres(ql)?:\/\/)/,
      'sqlite:./data/vodcloud.db, mysql://user:pass@host:3306/db or postgres://user:pass@host:5432/db',
    ).optional(),
    VOD_DB_REPLICA_URL: urlLike(
      'VOD_DB_REPLICA_URL',
      /^(mysql:\/\/|mariadb:\/\/|postgres(ql)?:\/\/|sqlite:)/,
      'mysql://… or postgres://…',
    ).optional(),
    VOD_STORAGE_URL: urlLike(
      'VOD_STORAGE_URL',
      /^(file:|s3:\/\/)/,
      'file:./data/objects or s3://bucket?endpoint=…',
    ).optional(),
    VOD_QUEUE_URL: urlLike(
      'VOD_QUEUE_URL',
      /^(db$|redis:\/\/|rediss:\/\/)/,
      'db or redis://host:6379',
    ).default('db'),
    VOD_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'VOD_QUEUE_PREFIX is 1-64 letters, digits, _ or -')
      .default('vod'),
    VOD_REGISTRY_URL: urlLike(
      'VOD_REGISTRY_URL',
      /^(local(:\/\/[A-Za-z0-9_-]+)?$|zookeeper:\/\/)/,
      'local or zookeeper://host:2181/vodcloud',
    ).default('local'),
    VOD_CACHE_URL: urlLike(
      'VOD_CACHE_URL',
      /^(memory(:\/\/[A-Za-z0-9_-]+)?$|redis:\/\/|rediss:\/\/)/,
      'memory or redis://host:6379',
    ).default('memory'),
    VOD_PUBLIC_URL: z.url({ message: 'VOD_PUBLIC_URL must be an absolute http(s) URL' }).optional(),
    VOD_CDN_URL: z.url({ message: 'VOD_CDN_URL must be an absolute http(s) URL' }).optional(),
    VOD_ADMIN_API_KEY: z.string().min(24, 'VOD_ADMIN_API_KEY must be at least 24 characters').optional(),
    VOD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    VOD_RATE_LIMIT_PER_MINUTE: intFrom(0, 10_000_000).default(1200),
    VOD_BODY_LIMIT_BYTES: intFrom(1024, 100 * 1024 * 1024).default(1024 * 1024),
    VOD_CORS_ORIGINS: z.string().default('*'),
    VOD_SHUTDOWN_TIMEOUT_MS: intFrom(0, 600_000).default(10_000),
    VOD_REQUEST_TIMEOUT_MS: intFrom(1000, 86_400_000).default(900_000),
    VOD_IDLE_TIMEOUT_MS: intFrom(1000, 3_600_000).default(60_000),
    VOD_DB_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
    VOD_SECRET: z.string().min(32, 'VOD_SECRET must be at least 32 characters').optional(),
    VOD_ADVERTISE_URL: z.url({ message: 'VOD_ADVERTISE_URL must be an absolute http(s) URL' }).optional(),
    VOD_S3_ACCESS_KEY_ID: z.string().optional(),
    VOD_S3_SECRET_ACCESS_KEY: z.string().optional(),
    VOD_UPLOAD_MAX_BYTES: intFrom(1, Number.MAX_SAFE_INTEGER).default(50 * 1024 ** 3),
    VOD_UPLOAD_EXPIRES_IN: intFrom(60, 30 * 86_400).default(86_400),
    VOD_TENANT_QUOTA_BYTES: intFrom(0, Number.MAX_SAFE_INTEGER).default(0),
    VOD_FETCH_ALLOW_HOSTS: z.string().default(''),
    VOD_FETCH_MAX_BYTES: intFrom(1, Number.MAX_SAFE_INTEGER).default(20 * 1024 ** 3),
    VOD_FETCH_TIMEOUT_MS: intFrom(1000, 86_400_000).default(3_600_000),
    VOD_WORKER_CONCURRENCY: z
      .string()
      .regex(
        /^(cpu|io|fast)=\d+(,(cpu|io|fast)=\d+)*$/,
        'VOD_WORKER_CONCURRENCY looks like cpu=1,io=4,fast=8',
      )
      .optional(),
    VOD_WEBHOOK_RETRY_BASE_MS: intFrom(100, 3_600_000).default(30_000),
    VOD_WEBHOOK_RETRY_MAX_MS: intFrom(100, 86_400_000).default(3_600_000),
    VOD_WEBHOOK_ATTEMPTS: intFrom(1, 100).default(31),
    VOD_WEBHOOK_TIMEOUT_MS: intFrom(1000, 120_000).default(10_000),
    VOD_STREAM_REDIRECT: z.enum(['off', 'presigned']).default('off'),
    VOD_DELIVERY_FLUSH_MS: intFrom(100, 10_000).default(10_000),
    VOD_QUEUE_LEASE_MS: intFrom(1000, 3_600_000).default(30_000),
    VOD_RPC_STRATEGIES: z
      .string()
      .regex(
        /^([a-z][a-z0-9-]*=(random|round_robin|least_active|consistent_hash)(:(failover|failfast))?)(,[a-z][a-z0-9-]*=(random|round_robin|least_active|consistent_hash)(:(failover|failfast))?)*$/,
        'VOD_RPC_STRATEGIES looks like media=least_active,monitor=round_robin:failfast',
      )
      .optional(),
    VOD_RPC_RETRIES: intFrom(0, 10).default(2),
    VOD_RPC_STATS: z.enum(['on', 'off']).default('on'),
    VOD_RPC_REPORT_MS: intFrom(200, 600_000).default(5_000),
    VOD_NODE_WEIGHT: intFrom(0, 1000).default(1),
    VOD_JIT_WAIT_MS: intFrom(0, 120_000).default(15_000),
    VOD_PASSTHROUGH: z.enum(['on', 'off']).default('on'),
    // Monitor, sentinel and alerts (modules/monitor).
    VOD_MONITOR_RETENTION_HOURS: intFrom(1, 24 * 366).default(168),
    VOD_SENTINEL_INTERVAL_MS: intFrom(500, 600_000).default(5000),
    VOD_ALERT_REQUIRED_SERVICES: z
      .string()
      .regex(
        /^(none|[A-Za-z0-9_:@.-]+(\s*,\s*[A-Za-z0-9_:@.-]+)*)?$/,
        'a comma-separated list of service names',
      )
      .default('vod-api,vod-upload,vod-stream,vod-worker'),
    VOD_ALERT_RPC_WINDOW_MINUTES: intFrom(1, 1440).default(5),
    VOD_ALERT_RPC_MIN_CALLS: intFrom(1, 1_000_000_000).default(20),
    VOD_ALERT_RPC_ERROR_RATE_PERCENT: z.coerce.number().min(0).max(100).default(5),
    VOD_ALERT_RPC_P95_MS: intFrom(1, 3_600_000).default(2000),
    VOD_ALERT_QUEUE_WAITING: intFrom(0, 1_000_000_000).default(1000),
    VOD_ALERT_QUEUE_WAIT_SECONDS: intFrom(1, 30 * 86_400).default(900),
    VOD_ALERT_DISK_FREE_PERCENT: z.coerce.number().min(0).max(100).default(10),
    VOD_ALERT_DB_REPLICA_LAG_SECONDS: intFrom(1, 86_400).default(60),
    VOD_ALERT_WEBHOOK_URLS: z
      .string()
      .refine(
        (v) =>
          v
            .split(',')
            .map((u) => u.trim())
            .filter(Boolean)
            .every((u) => /^https?:\/\/[^\s]+$/.test(u) && URL.canParse(u)),
        'VOD_ALERT_WEBHOOK_URLS must be comma-separated absolute http(s) URLs',
      )
      .default(''),
  })
  .strict();

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  roles: Role[];
  dbUrl: string;
  dbReplicaUrl?: string;
  storageUrl: string;
  queueUrl: string;
  /** Key prefix of the Redis (BullMQ) queue: clusters sharing one Redis need different ones. */
  queuePrefix: string;
  registryUrl: string;
  cacheUrl: string;
  publicUrl?: string;
  /** Base URL of a CDN in front of the stream nodes: playback URLs in API responses use it. */
  cdnUrl?: string;
  adminApiKey?: string;
  logLevel: string;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  corsOrigins: string[] | '*';
  shutdownTimeoutMs: number;
  requestTimeoutMs: number;
  /** A connection that sends nothing for this long is closed (slow clients cannot hold sockets). */
  idleTimeoutMs: number;
  dbTimeoutMs: number;
  /** Shared secret for signed URLs and tokens; from VOD_SECRET, else generated once and kept in the database. */
  secret?: string;
  /** How other nodes and clients reach this node; defaults to http://<host>:<port>. */
  advertiseUrl?: string;
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  uploadMaxBytes: number;
  uploadExpiresInSec: number;
  /** Default per-tenant storage quota in bytes; 0 = unlimited. */
  tenantQuotaBytes: number;
  fetchAllowHosts: string[];
  fetchMaxBytes: number;
  fetchTimeoutMs: number;
  workerConcurrency: { cpu: number; io: number; fast: number };
  queueLeaseMs: number;
  /** How often delivery counts are written (at most every 10 s). */
  deliveryFlushMs: number;
  /** With S3 storage, send players to short-lived presigned URLs for segments and MP4s instead of streaming through. */
  streamRedirect: 'off' | 'presigned';
  /** Webhook retries: baseMs doubling up to maxMs, attempts in all (default 31 over about 24 h). */
  webhookRetry: { baseMs: number; maxMs: number; attempts: number };
  /** Bound on one webhook delivery attempt. */
  webhookTimeoutMs: number;
  /** RPC: per-service load-balancing strategy and cluster mode overrides, retries for idempotent calls. */
  rpc: {
    strategies: Record<string, Strategy>;
    modes: Record<string, 'failover' | 'failfast'>;
    retries: number;
    stats: boolean;
    reportMs: number;
  };
  /** This node's weight in the registry (weighted strategies); 0 takes it out of weighted picks. */
  nodeWeight: number;
  /** How long the stream role waits for a just-in-time segment before answering 503 + Retry-After. */
  jitWaitMs: number;
  /** Web-ready sources become the top rendition by stream copy (off: every rendition is encoded). */
  passthrough: boolean;
  /** Call statistics kept this long; the monitor role purges older minutes. */
  monitorRetentionHours: number;
  /** How often the sentinel (monitor role) probes instances and evaluates the alert rules. */
  sentinelIntervalMs: number;
  alerts: AlertThresholds;
}

/** VOD_ALERT_*: the sentinel's rule thresholds and where alerts are posted. */
export interface AlertThresholds {
  /** Services that must always have a healthy instance (besides every service seen since start). */
  requiredServices: string[];
  rpcWindowMinutes: number;
  rpcMinCalls: number;
  rpcErrorRatePercent: number;
  rpcP95Ms: number;
  queueWaiting: number;
  queueWaitSeconds: number;
  diskFreePercent: number;
  dbReplicaLagSeconds: number;
  webhookUrls: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseConcurrency(value: string | undefined): { cpu: number; io: number; fast: number } {
  // One CPU-bound job at a time per core pair is the safe default: ffmpeg itself uses every core.
  const out = { cpu: 1, io: 4, fast: 8 };
  for (const part of value?.split(',') ?? []) {
    const [k, v] = part.split('=') as ['cpu' | 'io' | 'fast', string];
    out[k] = Math.max(1, Number(v));
  }
  return out;
}

function parseStrategies(value: string | undefined) {
  const strategies: Record<string, Strategy> = {};
  const modes: Record<string, 'failover' | 'failfast'> = {};
  for (const part of value ? value.split(',') : []) {
    const [service, rest] = part.split('=') as [string, string];
    const [strategy, mode] = rest.split(':') as [Strategy, 'failover' | 'failfast' | undefined];
    strategies[service] = strategy;
    if (mode) modes[service] = mode;
  }
  return { strategies, modes };
}

export function parseRoles(value: string | undefined): Role[] {
  if (!value || value.trim() === '' || value === 'all') return [...ROLES];
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length)
    throw new ConfigError([
      `VOD_ROLES / --roles: unknown role(s) ${bad.join(', ')}; known: ${ROLES.join(', ')}`,
    ]);
  return [...new Set(roles)] as Role[];
}

/**
 * Reads configuration from an optional JSON file (keys as the env names) overlaid by the
 * environment; only VOD_* variables are considered. Throws ConfigError naming each bad setting.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<string, string>> = {},
): Config {
  const fileValues: Record<string, string> = {};
  const file = overrides.VOD_CONFIG_FILE ?? env.VOD_CONFIG_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`VOD_CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`]);
    }
    if (!parsed || typeof parsed !== 'object')
      throw new ConfigError([`VOD_CONFIG_FILE: ${file} must hold a JSON object`]);
    for (const [k, v] of Object.entries(parsed)) fileValues[k] = String(v);
  }
  const raw: Record<string, string> = { ...fileValues };
  for (const [k, v] of Object.entries(env)) {
    if (
      k.startsWith('VOD_') &&
      !k.startsWith('VOD_TEST_') &&
      k !== 'VOD_CONFIG_FILE' &&
      v !== undefined &&
      v !== ''
    )
      raw[k] = v;
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined && k !== 'VOD_CONFIG_FILE') raw[k] = v;
  // Settings the schema does not know are reported, so a typo never silently falls back to a default.
  const known = new Set(Object.keys(schema.shape));
  const ignoredPrefixes = [
    'VOD_S3_',
    'VOD_SERVICES_',
    'VOD_SECRET',
    'VOD_FETCH_',
    'VOD_UPLOAD_',
    'VOD_FFMPEG',
    'VOD_WORKER_',
  ];
  for (const k of Object.keys(raw)) {
    if (!known.has(k) && ignoredPrefixes.some((p) => k.startsWith(p))) delete raw[k];
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join('.');
        if (i.code === 'unrecognized_keys') return `unknown setting(s) ${i.keys.join(', ')}`;
        const got = key && raw[key] !== undefined ? ` (got ${JSON.stringify(raw[key])})` : '';
        return `${key}: ${i.message}${got}`;
      }),
    );
  }
  const c = result.data;
  const dataDir = path.resolve(c.VOD_DATA_DIR);
  return {
    port: c.VOD_PORT,
    host: c.VOD_HOST,
    dataDir,
    roles: parseRoles(c.VOD_ROLES),
    dbUrl: c.VOD_DB_URL ?? `sqlite:${path.join(dataDir, 'vodcloud.db')}`,
    dbReplicaUrl: c.VOD_DB_REPLICA_URL,
    storageUrl: c.VOD_STORAGE_URL ?? `file:${path.join(dataDir, 'objects')}`,
    queueUrl: c.VOD_QUEUE_URL,
    queuePrefix: c.VOD_QUEUE_PREFIX,
    registryUrl: c.VOD_REGISTRY_URL,
    cacheUrl: c.VOD_CACHE_URL,
    publicUrl: c.VOD_PUBLIC_URL?.replace(/\/+$/, ''),
    adminApiKey: c.VOD_ADMIN_API_KEY,
    logLevel: c.VOD_LOG_LEVEL,
    rateLimitPerMinute: c.VOD_RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: c.VOD_BODY_LIMIT_BYTES,
    corsOrigins:
      c.VOD_CORS_ORIGINS.trim() === '*'
        ? '*'
        : c.VOD_CORS_ORIGINS.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    shutdownTimeoutMs: c.VOD_SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: c.VOD_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: c.VOD_IDLE_TIMEOUT_MS,
    dbTimeoutMs: c.VOD_DB_TIMEOUT_MS,
    secret: c.VOD_SECRET,
    advertiseUrl: c.VOD_ADVERTISE_URL?.replace(/\/+$/, ''),
    s3Credentials:
      c.VOD_S3_ACCESS_KEY_ID && c.VOD_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: c.VOD_S3_ACCESS_KEY_ID, secretAccessKey: c.VOD_S3_SECRET_ACCESS_KEY }
        : undefined,
    uploadMaxBytes: c.VOD_UPLOAD_MAX_BYTES,
    uploadExpiresInSec: c.VOD_UPLOAD_EXPIRES_IN,
    tenantQuotaBytes: c.VOD_TENANT_QUOTA_BYTES,
    fetchAllowHosts: c.VOD_FETCH_ALLOW_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    fetchMaxBytes: c.VOD_FETCH_MAX_BYTES,
    fetchTimeoutMs: c.VOD_FETCH_TIMEOUT_MS,
    workerConcurrency: parseConcurrency(c.VOD_WORKER_CONCURRENCY),
    queueLeaseMs: c.VOD_QUEUE_LEASE_MS,
    deliveryFlushMs: c.VOD_DELIVERY_FLUSH_MS,
    streamRedirect: c.VOD_STREAM_REDIRECT,
    cdnUrl: c.VOD_CDN_URL,
    rpc: {
      ...parseStrategies(c.VOD_RPC_STRATEGIES),
      retries: c.VOD_RPC_RETRIES,
      stats: c.VOD_RPC_STATS === 'on',
      reportMs: c.VOD_RPC_REPORT_MS,
    },
    nodeWeight: c.VOD_NODE_WEIGHT,
    jitWaitMs: c.VOD_JIT_WAIT_MS,
    passthrough: c.VOD_PASSTHROUGH === 'on',
    webhookRetry: {
      baseMs: c.VOD_WEBHOOK_RETRY_BASE_MS,
      maxMs: c.VOD_WEBHOOK_RETRY_MAX_MS,
      attempts: c.VOD_WEBHOOK_ATTEMPTS,
    },
    webhookTimeoutMs: c.VOD_WEBHOOK_TIMEOUT_MS,
    monitorRetentionHours: c.VOD_MONITOR_RETENTION_HOURS,
    sentinelIntervalMs: c.VOD_SENTINEL_INTERVAL_MS,
    alerts: {
      requiredServices: splitList(
        c.VOD_ALERT_REQUIRED_SERVICES === 'none' ? '' : c.VOD_ALERT_REQUIRED_SERVICES,
      ),
      rpcWindowMinutes: c.VOD_ALERT_RPC_WINDOW_MINUTES,
      rpcMinCalls: c.VOD_ALERT_RPC_MIN_CALLS,
      rpcErrorRatePercent: c.VOD_ALERT_RPC_ERROR_RATE_PERCENT,
      rpcP95Ms: c.VOD_ALERT_RPC_P95_MS,
      queueWaiting: c.VOD_ALERT_QUEUE_WAITING,
      queueWaitSeconds: c.VOD_ALERT_QUEUE_WAIT_SECONDS,
      diskFreePercent: c.VOD_ALERT_DISK_FREE_PERCENT,
      dbReplicaLagSeconds: c.VOD_ALERT_DB_REPLICA_LAG_SECONDS,
      webhookUrls: splitList(c.VOD_ALERT_WEBHOOK_URLS),
    },
  };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
