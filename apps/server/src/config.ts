import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { type EnvSettings, envSchema } from './config-env';
import {
  type DetectionConfig,
  detectionConfig,
  type RecordingConfig,
  recordingConfig,
  type StatsConfig,
  statsConfig,
} from './config-sections';
import { type ClusterMode, parseStrategies, type Strategy } from './lib/rpc-strategies';

export const ROLES = ['api', 'upload', 'stream', 'worker', 'monitor'] as const;
export type Role = (typeof ROLES)[number];

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
  /** json: one JSON object a line; pretty: human-readable; auto: pretty when stdout is a terminal. */
  logFormat: 'auto' | 'json' | 'pretty';
  rateLimitPerMinute: number;
  /**
   * Requests per minute and client address that fail authentication (no key, a malformed or unknown one)
   * before that address gets 429 without a key lookup; 0 (or rateLimitPerMinute 0) turns it off.
   */
  rateLimitAnonPerMinute: number;
  bodyLimitBytes: number;
  corsOrigins: string[] | '*';
  shutdownTimeoutMs: number;
  requestTimeoutMs: number;
  /** A connection that sends nothing for this long is closed (slow clients cannot hold sockets). */
  idleTimeoutMs: number;
  /** A request whose headers are not complete this long after it began is answered 408 and closed (slowloris). */
  headersTimeoutMs: number;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`; unset, it is public. */
  metricsToken?: string;
  dbTimeoutMs: number;
  /** The replica serves reads only while it lags less; a tenant reads from the primary this long after a write. */
  dbReplicaMaxLagSec: number;
  /** Shared secret for signed URLs and tokens; from VOD_SECRET, else generated once and kept in the database. */
  secret?: string;
  /**
   * Master keys sealing secrets at rest (VOD_MASTER_KEY, VOD_MASTER_KEY_PREVIOUS): `current` seals, every
   * key opens. Without `current`, secrets are kept as without a master key (see lib/secretbox.ts).
   */
  masterKeys: { current?: string; previous: string[] };
  /** How other nodes and clients reach this node; defaults to http://<host>:<port>. */
  advertiseUrl?: string;
  /** Fastify's trustProxy: which X-Forwarded-For hops to believe for the client address (false: none). */
  trustProxy: false | number | string[];
  /**
   * The base clients reach this upload node's tus endpoint on (upload URLs); default the advertise URL. Behind
   * a load balancer with shared storage (S3), where any upload node continues any upload: the public URL.
   */
  uploadUrl?: string;
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  uploadMaxBytes: number;
  uploadExpiresInSec: number;
  /** Default per-tenant storage quota in bytes; 0 = unlimited. */
  tenantQuotaBytes: number;
  fetchAllowHosts: string[];
  fetchMaxBytes: number;
  fetchTimeoutMs: number;
  workerConcurrency: { cpu: number; io: number; fast: number; detect: number };
  queueLeaseMs: number;
  /** How often delivery counts are written (at most every 10 s). */
  deliveryFlushMs: number;
  /** With S3 storage, send players to short-lived presigned URLs for segments and MP4s instead of streaming through. */
  streamRedirect: 'off' | 'presigned';
  /**
   * `nginx`: the nginx front's authorisation requests (X-Vod-Accel: 1) for segments, MP4s and sprites are
   * answered with the object's key once authorised, and nginx sends the bytes (deploy/nginx/).
   */
  streamAccel: 'off' | 'nginx';
  /** The nginx front's delivery log this node counts (one node per log); unset: none. */
  deliveryLog?: string;
  /** Webhook retries: baseMs doubling up to maxMs, attempts in all (default 31 over about 24 h). */
  webhookRetry: { baseMs: number; maxMs: number; attempts: number };
  /** Bound on one webhook delivery attempt. */
  webhookTimeoutMs: number;
  /** RPC: per-service load-balancing strategy and cluster mode overrides, retries for idempotent calls. */
  rpc: {
    strategies: Record<string, Strategy>;
    modes: Record<string, ClusterMode>;
    retries: number;
    stats: boolean;
    reportMs: number;
  };
  /** This node's weight in the registry (weighted strategies); 0 takes it out of weighted picks. */
  nodeWeight: number;
  /** How long the stream role waits for a just-in-time segment before answering 503 + Retry-After. */
  jitWaitMs: number;
  /** Just-in-time encodes one worker runs at once (16 more wait; beyond, 503 + Retry-After). */
  jitMaxConcurrent: number;
  /** ffmpeg processes one node runs at once, whatever clients ask (default max(4, 2 × cores)). */
  ffmpegMaxProcesses: number;
  /** Web-ready sources become the top rendition by stream copy (off: every rendition is encoded). */
  passthrough: boolean;
  /** On-demand thumbnails: images one address may have made per minute (0: unlimited), stored per generation. */
  thumbs: { generatePerMinute: number; maxVariants: number };
  /** Call statistics kept this long; the monitor role purges older minutes. */
  monitorRetentionHours: number;
  /** Audit events kept this long; the monitor role purges older ones. */
  auditRetentionDays: number;
  /** Statistics: beacon buffer, roll-up interval, view timeout, and retention per level in days. */
  stats: StatsConfig;
  /** Detection (modules/detection): the automatic run, the background nice level, the model's idle unload, QC thresholds. */
  detection: DetectionConfig;
  /** Live recordings (modules/recordings): shared directories, size bound, HLS follow bounds. */
  recording: RecordingConfig;
  /** Console sessions: idle expiry (sliding) and absolute maximum age, in milliseconds. */
  session: { idleTtlMs: number; maxAgeMs: number };
  /**
   * Failed sign-ins counted per account and per client address in a fixed window; past a maximum (0: no
   * limit) the account or address is refused (429) for `lockoutMs`.
   */
  login: { maxPerAccount: number; maxPerAddress: number; windowMs: number; lockoutMs: number };
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

function parseConcurrency(value: string | undefined): Config['workerConcurrency'] {
  // One CPU-bound job at a time per core pair is the safe default: ffmpeg itself uses every core.
  const out = { cpu: 1, io: 4, fast: 8, detect: 1 };
  for (const part of value?.split(',') ?? []) {
    const [k, v] = part.split('=') as [keyof typeof out, string];
    // detect may be 0: this worker then runs no detection job (another does).
    out[k] = Math.max(k === 'detect' ? 0 : 1, Number(v));
  }
  return out;
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
  return toConfig(checkSettings(rawSettings(env, overrides)));
}

/** The VOD_* settings of the config file, the environment and the overrides, later ones winning. */
function rawSettings(
  env: NodeJS.ProcessEnv,
  overrides: Partial<Record<string, string>>,
): Record<string, string> {
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
  return raw;
}

/** Checks the settings against the schema; throws ConfigError naming each bad one and what was given. */
function checkSettings(raw: Record<string, string>): EnvSettings {
  // Settings the schema does not know are reported, so a typo never silently falls back to a default.
  const known = new Set(Object.keys(envSchema.shape));
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
  const result = envSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join('.');
        if (i.code === 'unrecognized_keys') return `unknown setting(s) ${i.keys.join(', ')}`;
        // Never echo a secret setting's value into logs.
        const hidden = /SECRET|_KEY|TOKEN/.test(key) ? ' (value hidden)' : undefined;
        const got = key && raw[key] !== undefined ? (hidden ?? ` (got ${JSON.stringify(raw[key])})`) : '';
        return `${key}: ${i.message}${got}`;
      }),
    );
  }
  return result.data;
}

function toConfig(c: EnvSettings): Config {
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
    logFormat: c.VOD_LOG_FORMAT,
    rateLimitPerMinute: c.VOD_RATE_LIMIT_PER_MINUTE,
    rateLimitAnonPerMinute: c.VOD_RATE_LIMIT_PER_MINUTE === 0 ? 0 : c.VOD_RATE_LIMIT_ANON_PER_MINUTE,
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
    // Node refuses a header timeout longer than the request timeout.
    headersTimeoutMs: Math.min(c.VOD_HEADERS_TIMEOUT_MS, c.VOD_REQUEST_TIMEOUT_MS),
    metricsToken: c.VOD_METRICS_TOKEN,
    dbTimeoutMs: c.VOD_DB_TIMEOUT_MS,
    dbReplicaMaxLagSec: c.VOD_DB_REPLICA_MAX_LAG_SEC,
    secret: c.VOD_SECRET,
    masterKeys: {
      current: c.VOD_MASTER_KEY?.trim(),
      previous: splitList(c.VOD_MASTER_KEY_PREVIOUS ?? ''),
    },
    advertiseUrl: c.VOD_ADVERTISE_URL?.replace(/\/+$/, ''),
    uploadUrl: c.VOD_UPLOAD_URL?.replace(/\/+$/, ''),
    trustProxy:
      c.VOD_TRUST_PROXY === 'off'
        ? false
        : /^\d+$/.test(c.VOD_TRUST_PROXY)
          ? Number(c.VOD_TRUST_PROXY)
          : c.VOD_TRUST_PROXY.split(','),
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
    streamAccel: c.VOD_STREAM_ACCEL,
    deliveryLog: c.VOD_DELIVERY_LOG || undefined,
    cdnUrl: c.VOD_CDN_URL,
    rpc: {
      ...parseStrategies(c.VOD_RPC_STRATEGIES),
      retries: c.VOD_RPC_RETRIES,
      stats: c.VOD_RPC_STATS === 'on',
      reportMs: c.VOD_RPC_REPORT_MS,
    },
    nodeWeight: c.VOD_NODE_WEIGHT,
    jitWaitMs: c.VOD_JIT_WAIT_MS,
    jitMaxConcurrent: c.VOD_JIT_MAX_CONCURRENT,
    ffmpegMaxProcesses: c.VOD_FFMPEG_MAX_PROCESSES ?? Math.max(4, 2 * availableParallelism()),
    passthrough: c.VOD_PASSTHROUGH === 'on',
    thumbs: {
      generatePerMinute: c.VOD_THUMB_GENERATE_PER_MINUTE,
      maxVariants: c.VOD_THUMB_MAX_VARIANTS,
    },
    webhookRetry: {
      baseMs: c.VOD_WEBHOOK_RETRY_BASE_MS,
      maxMs: c.VOD_WEBHOOK_RETRY_MAX_MS,
      attempts: c.VOD_WEBHOOK_ATTEMPTS,
    },
    webhookTimeoutMs: c.VOD_WEBHOOK_TIMEOUT_MS,
    monitorRetentionHours: c.VOD_MONITOR_RETENTION_HOURS,
    auditRetentionDays: c.VOD_AUDIT_RETENTION_DAYS,
    stats: statsConfig(c),
    detection: detectionConfig(c),
    recording: recordingConfig(c),
    session: { idleTtlMs: c.VOD_SESSION_IDLE_TTL * 1000, maxAgeMs: c.VOD_SESSION_MAX_AGE * 1000 },
    login: {
      maxPerAccount: c.VOD_LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxPerAddress: c.VOD_LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowMs: c.VOD_LOGIN_WINDOW * 1000,
      lockoutMs: c.VOD_LOGIN_LOCKOUT * 1000,
    },
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
