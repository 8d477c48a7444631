import { z } from 'zod';
import { STRATEGIES_SETTING } from './lib/rpc-strategies';
import { parseMasterKey } from './lib/secretbox';

/**
 * The VOD_* settings as they come in (environment or VOD_CONFIG_FILE), checked. config.ts turns them
 * into the Config every module reads.
 */
const urlLike = (name: string, pattern: RegExp, example: string) =>
  z.string().regex(pattern, `${name} must look like ${example}`);

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A comma-separated list of master keys, each checked by parseMasterKey (which names the setting). */
const masterKeys = (name: string) =>
  z.string().superRefine((v, ctx) => {
    for (const part of v.split(',').filter((p) => p.trim())) {
      try {
        parseMasterKey(part, name);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return;
      }
    }
  });

export const envSchema = z
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
    VOD_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    VOD_RATE_LIMIT_PER_MINUTE: intFrom(0, 10_000_000).default(1200),
    VOD_RATE_LIMIT_ANON_PER_MINUTE: intFrom(0, 10_000_000).default(300),
    VOD_TRUST_PROXY: z
      .string()
      .regex(
        /^(off|\d{1,2}|(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)(,(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?))*)$/,
        'VOD_TRUST_PROXY is off, a number of proxy hops, or a comma list of proxy addresses/CIDRs (loopback, linklocal, uniquelocal allowed)',
      )
      .default('off'),
    VOD_BODY_LIMIT_BYTES: intFrom(1024, 100 * 1024 * 1024).default(1024 * 1024),
    VOD_CORS_ORIGINS: z.string().default('*'),
    VOD_SHUTDOWN_TIMEOUT_MS: intFrom(0, 600_000).default(10_000),
    VOD_REQUEST_TIMEOUT_MS: intFrom(1000, 86_400_000).default(900_000),
    VOD_IDLE_TIMEOUT_MS: intFrom(1000, 3_600_000).default(60_000),
    VOD_HEADERS_TIMEOUT_MS: intFrom(1000, 600_000).default(10_000),
    VOD_METRICS_TOKEN: z.string().min(16, 'VOD_METRICS_TOKEN must be at least 16 characters').optional(),
    VOD_DB_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
    VOD_DB_REPLICA_MAX_LAG_SEC: intFrom(1, 3600).default(5),
    VOD_SECRET: z.string().min(32, 'VOD_SECRET must be at least 32 characters').optional(),
    // Secrets at rest (lib/secretbox.ts): the key sealing them, and earlier ones still opening while rotating.
    VOD_MASTER_KEY: masterKeys('VOD_MASTER_KEY')
      .refine(
        (v) => !v.includes(','),
        'VOD_MASTER_KEY is one key (earlier ones go in VOD_MASTER_KEY_PREVIOUS)',
      )
      .optional(),
    VOD_MASTER_KEY_PREVIOUS: masterKeys('VOD_MASTER_KEY_PREVIOUS').optional(),
    VOD_ADVERTISE_URL: z.url({ message: 'VOD_ADVERTISE_URL must be an absolute http(s) URL' }).optional(),
    VOD_UPLOAD_URL: z.url({ message: 'VOD_UPLOAD_URL must be an absolute http(s) URL' }).optional(),
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
        /^(cpu|io|fast|detect)=\d+(,(cpu|io|fast|detect)=\d+)*$/,
        'VOD_WORKER_CONCURRENCY looks like cpu=1,io=4,fast=8,detect=1',
      )
      .optional(),
    VOD_WEBHOOK_RETRY_BASE_MS: intFrom(100, 3_600_000).default(30_000),
    VOD_WEBHOOK_RETRY_MAX_MS: intFrom(100, 86_400_000).default(3_600_000),
    VOD_WEBHOOK_ATTEMPTS: intFrom(1, 100).default(31),
    VOD_WEBHOOK_TIMEOUT_MS: intFrom(1000, 120_000).default(10_000),
    VOD_STREAM_REDIRECT: z.enum(['off', 'presigned']).default('off'),
    VOD_DELIVERY_FLUSH_MS: intFrom(100, 10_000).default(10_000),
    // nginx in front of the stream role (deploy/nginx/vodcloud.conf): nginx sends segment, MP4 and sprite bytes
    // after this node authorised the request (auth_request), and its delivery log is counted here.
    VOD_STREAM_ACCEL: z.enum(['off', 'nginx']).default('off'),
    VOD_DELIVERY_LOG: z
      .string()
      .refine((v) => v === '' || v.startsWith('/'), 'VOD_DELIVERY_LOG is an absolute file path')
      .default(''),
    VOD_QUEUE_LEASE_MS: intFrom(1000, 3_600_000).default(30_000),
    VOD_RPC_STRATEGIES: z
      .string()
      .regex(
        STRATEGIES_SETTING,
        'VOD_RPC_STRATEGIES looks like media=least_active,monitor=round_robin:failfast',
      )
      .optional(),
    VOD_RPC_RETRIES: intFrom(0, 10).default(2),
    VOD_RPC_STATS: z.enum(['on', 'off']).default('on'),
    VOD_RPC_REPORT_MS: intFrom(200, 600_000).default(5_000),
    VOD_NODE_WEIGHT: intFrom(0, 1000).default(1),
    VOD_JIT_WAIT_MS: intFrom(0, 120_000).default(15_000),
    VOD_JIT_MAX_CONCURRENT: intFrom(1, 64).default(2),
    VOD_FFMPEG_MAX_PROCESSES: intFrom(1, 1024).optional(),
    VOD_PASSTHROUGH: z.enum(['on', 'off']).default('on'),
    VOD_THUMB_GENERATE_PER_MINUTE: intFrom(0, 1_000_000).default(60),
    VOD_THUMB_MAX_VARIANTS: intFrom(1, 100_000).default(100),
    // Monitor, sentinel and alerts (modules/monitor).
    VOD_MONITOR_RETENTION_HOURS: intFrom(1, 24 * 366).default(168),
    // The audit log (modules/audit): events older than this are purged by the monitor role.
    VOD_AUDIT_RETENTION_DAYS: intFrom(1, 36_500).default(365),
    // Statistics (modules/stats): the beacon buffer (flushed to the database every VOD_BEACON_FLUSH_MS; past
    // VOD_BEACON_BUFFER_MAX waiting beacons the ingest answers 503), the roll-up job's interval, how long a
    // view may stay silent before it is closed, and how long each level is kept (days).
    VOD_BEACON_FLUSH_MS: intFrom(50, 60_000).default(1000),
    VOD_BEACON_BUFFER_MAX: intFrom(100, 10_000_000).default(200_000),
    // Beacon requests one address may send per minute (many viewers share a NAT: about 1,000 players at one
    // batch per 10 s); its own limit instead of VOD_RATE_LIMIT_PER_MINUTE. 0: no limit.
    VOD_BEACON_RATE_PER_MINUTE: intFrom(0, 10_000_000).default(6000),
    VOD_STATS_ROLLUP_INTERVAL_MS: intFrom(1000, 3_600_000).default(60_000),
    VOD_STATS_VIEW_TIMEOUT_SEC: intFrom(30, 86_400).default(300),
    VOD_STATS_RAW_RETENTION_DAYS: intFrom(2, 3650).default(7),
    VOD_STATS_MINUTE_RETENTION_DAYS: intFrom(2, 3650).default(7),
    VOD_STATS_HOUR_RETENTION_DAYS: intFrom(2, 36_500).default(90),
    VOD_STATS_DAY_RETENTION_DAYS: intFrom(2, 36_500).default(1825),
    // Detection (modules/detection): off turns the automatic run off cluster-wide (POST …/detect still runs it);
    // the nice level of its ffmpeg and model thread; the quality-check thresholds (ffmpeg filter options).
    VOD_DETECTION: z.enum(['on', 'off']).default('on'),
    VOD_DETECTION_NICE: intFrom(0, 19).default(19),
    VOD_DETECTION_MODEL_IDLE_MS: intFrom(1000, 86_400_000).default(120_000),
    VOD_QC_BLACK_MIN_SEC: z.coerce.number().min(0.04).max(3600).default(0.5),
    VOD_QC_BLACK_PIXEL: z.coerce.number().min(0).max(1).default(0.1),
    VOD_QC_FREEZE_MIN_SEC: z.coerce.number().min(0.1).max(3600).default(1),
    VOD_QC_FREEZE_NOISE_DB: z.coerce.number().min(-90).max(0).default(-60),
    VOD_QC_SILENCE_MIN_SEC: z.coerce.number().min(0.1).max(3600).default(1),
    VOD_QC_SILENCE_NOISE_DB: z.coerce.number().min(-90).max(0).default(-50),
    VOD_QC_SCENE_THRESHOLD: z.coerce.number().min(1).max(100).default(10),
    // Live recordings (modules/recordings): the directories a recorder's callback may name (realpath
    // checked; comma-separated absolute paths; empty: only hooks with a fetchBaseUrl work), the largest file,
    // and how long an HLS playlist without #EXT-X-ENDLIST is followed.
    VOD_RECORDING_DIRS: z.string().default(''),
    VOD_RECORDING_MAX_BYTES: intFrom(1, Number.MAX_SAFE_INTEGER).default(50 * 1024 ** 3),
    VOD_RECORDING_HLS_WAIT_SEC: intFrom(1, 86_400).default(120),
    VOD_RECORDING_HLS_IDLE_SEC: intFrom(1, 3600).default(6),
    // Console sign-in (modules/accounts): session lifetimes and login failure limits, in seconds.
    VOD_SESSION_IDLE_TTL: intFrom(1, 31_536_000).default(43_200),
    VOD_SESSION_MAX_AGE: intFrom(1, 31_536_000).default(604_800),
    VOD_LOGIN_MAX_FAILURES_PER_ACCOUNT: intFrom(0, 1_000_000).default(5),
    VOD_LOGIN_MAX_FAILURES_PER_ADDRESS: intFrom(0, 1_000_000).default(20),
    VOD_LOGIN_WINDOW: intFrom(1, 86_400).default(900),
    VOD_LOGIN_LOCKOUT: intFrom(1, 86_400).default(900),
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

export type EnvSettings = z.output<typeof envSchema>;
