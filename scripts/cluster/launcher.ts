// A vodcloud cluster on one machine: several processes of the same program, one or more per role, on the
// real adapters (MariaDB, S3 on Ceph RGW, BullMQ on Redis, ZooKeeper, Redis cache). Used by
// `npm run cluster` (scripts/cluster.ts) and by test/e2e/cluster.test.ts.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';

const run = promisify(execFile);

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'apps/server/bin/vodcloud.js');

export type ClusterRole = 'api' | 'upload' | 'stream' | 'worker' | 'monitor';
/** The order processes are numbered (and ports handed out) in. */
export const CLUSTER_ROLES: ClusterRole[] = ['api', 'upload', 'stream', 'worker', 'monitor'];
/** 1 api, 2 upload, 2 stream, 2 worker, 1 monitor. */
export const DEFAULT_LAYOUT: Record<ClusterRole, number> = {
  api: 1,
  upload: 2,
  stream: 2,
  worker: 2,
  monitor: 1,
};

export interface S3Engine {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

export interface Engines {
  /** The MariaDB server, e.g. mysql://root@127.0.0.1:3306 (a database path is ignored). */
  mysqlUrl: string;
  redisUrl: string;
  /** e.g. zookeeper://127.0.0.1:2181 (a chroot is ignored: the cluster gets its own). */
  zookeeperUrl: string;
  s3: S3Engine;
}

export interface ClusterOptions {
  /** The cluster's folder: logs/<role>-<n>.log and nodes/<role>-<n>/ (each process's VOD_DATA_DIR). */
  dir: string;
  /** Names the cluster's ZooKeeper chroot (/<name>), queue prefix and S3 bucket. Default vodcloud-cluster. */
  name?: string;
  /** The MariaDB database, dropped and created afresh. Default: the name with - as _ (vodcloud_cluster). */
  database?: string;
  /** The S3 bucket. Default: the name. */
  bucket?: string;
  /** Engines to use; any that is missing is started with scripts/services-up.sh (unless services is false). */
  engines?: Partial<Engines>;
  /** Run scripts/services-up.sh for missing engines (default true). */
  services?: boolean;
  /** Leave ZooKeeper and Ceph running on stop even when this launcher started them. */
  keepServices?: boolean;
  /** VOD_SERVICES_DIR for the service scripts (default $VOD_SERVICES_DIR or /tmp/vodcloud-services). */
  servicesDir?: string;
  /** Listen and advertise address (default 127.0.0.1). */
  host?: string;
  /** The api gets this port, the other processes the next ones in CLUSTER_ROLES order. 0: free ports. Default 8080. */
  basePort?: number;
  /** Processes per role (default DEFAULT_LAYOUT). */
  layout?: Partial<Record<ClusterRole, number>>;
  /** Extra settings for every process (e.g. VOD_LOG_LEVEL). */
  env?: Record<string, string>;
  /** VOD_SHUTDOWN_TIMEOUT_MS of every process (default 10 000). */
  shutdownTimeoutMs?: number;
  /** How long each process may take to answer /readyz with 200 (default 180 s). */
  readyTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Called when a process exits while the cluster is running (not during stop). */
  onUnexpectedExit?: (p: ClusterProcess, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface ClusterProcess {
  /** e.g. upload-2 */
  name: string;
  role: ClusterRole;
  n: number;
  port: number;
  url: string;
  pid: number;
  logFile: string;
  dataDir: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ProcessExit {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** SIGKILLed because it was still running after the bound. */
  killed: boolean;
  ms: number;
}

export interface Cluster {
  name: string;
  dir: string;
  adminKey: string;
  secret: string;
  database: string;
  bucket: string;
  queuePrefix: string;
  registryUrl: string;
  /** The URLs of each role's processes. */
  urls: Record<ClusterRole, string[]>;
  processes: ClusterProcess[];
  /** The settings every process got (secrets included). */
  env: Record<string, string>;
  /** How long stop() waits for a process after SIGTERM before SIGKILL. */
  stopBoundMs: number;
  /** Services this launcher started (and stop() stops unless keepServices). */
  startedServices: string[];
  /** SIGTERM to every process, SIGKILL to those still running after stopBoundMs; then the services. */
  stop(): Promise<ProcessExit[]>;
  /**
   * Sends a signal to one process's whole process group (the node and its ffmpeg children, as when its
   * machine or container dies); resolves once it has exited (SIGKILL) or at once (other signals).
   */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts an exited process again with the same name, role, port, data folder and settings; its entry in
   * `processes` is replaced. Resolves when it answers /readyz (throws if it is still running).
   */
  restart(name: string, readyTimeoutMs?: number): Promise<ClusterProcess>;
}

export class ClusterError extends Error {
  override name = 'ClusterError';
}

/** A human table of the cluster: role, URL, pid, log. */
export function clusterTable(c: Cluster): string {
  const rows = [
    ['process', 'url', 'pid', 'log'],
    ...c.processes.map((p) => [p.name, p.url, String(p.pid), p.logFile]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The last lines of a process's log, for error messages. */
export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The engines named by the test environment (scripts/services-up.sh's test.env), where set. */
export function enginesFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Engines> {
  const e: Partial<Engines> = {};
  if (env.VOD_TEST_MYSQL_URL) e.mysqlUrl = env.VOD_TEST_MYSQL_URL;
  if (env.VOD_TEST_REDIS_URL) e.redisUrl = env.VOD_TEST_REDIS_URL;
  if (env.VOD_TEST_ZK_URL) e.zookeeperUrl = env.VOD_TEST_ZK_URL;
  if (env.VOD_TEST_S3_ENDPOINT)
    e.s3 = {
      endpoint: env.VOD_TEST_S3_ENDPOINT,
      accessKey: env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      secretKey: env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
    };
  return e;
}

const missingEngines = (e: Partial<Engines>) =>
  (['mysqlUrl', 'redisUrl', 'zookeeperUrl', 's3'] as const).filter((k) => !e[k]);

/**
 * Runs scripts/services-up.sh and returns the engines it reports, plus which of ZooKeeper and Ceph were
 * not answering before (so stop() stops only what this launcher started).
 */
async function servicesUp(
  servicesDir: string,
  log: (l: string) => void,
): Promise<{ engines: Engines; started: string[] }> {
  const zkPort = Number(process.env.ZK_PORT ?? 2181);
  const rgwPort = Number(process.env.RGW_PORT ?? 7480);
  const before = {
    zookeeper: await tcpAnswers('127.0.0.1', zkPort),
    ceph: await tcpAnswers('127.0.0.1', rgwPort),
  };
  log(`starting services with scripts/services-up.sh (VOD_SERVICES_DIR=${servicesDir})`);
  const script = path.join(ROOT, 'scripts/services-up.sh');
  try {
    const { stdout } = await run(script, [], {
      env: { ...process.env, VOD_SERVICES_DIR: servicesDir },
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const line of stdout.trimEnd().split('\n')) log(`  ${line}`);
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new ClusterError(`scripts/services-up.sh failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  const t = readEnvFile(path.join(servicesDir, 'test.env'));
  const engines = enginesFromEnv(t) as Engines;
  const started = (['zookeeper', 'ceph'] as const).filter((s) => !before[s]);
  return { engines, started };
}

async function servicesDown(servicesDir: string, which: string[], log: (l: string) => void): Promise<void> {
  for (const s of which) {
    const script = path.join(ROOT, s === 'zookeeper' ? 'scripts/zk-down.sh' : 'scripts/s3-down.sh');
    log(`stopping ${s} (${path.relative(ROOT, script)})`);
    await run(script, [], { env: { ...process.env, VOD_SERVICES_DIR: servicesDir }, timeout: 120_000 }).catch(
      (err: Error) => log(`  ${s}: ${err.message}`),
    );
  }
}

/** Drops and creates the cluster's database on the MariaDB server; returns its URL. */
async function freshDatabase(serverUrl: string, database: string): Promise<string> {
  const u = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const conn = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  u.pathname = `/${database}`;
  u.search = '';
  return u.toString();
}

/** Drops the cluster's database (for tests; `npm run cluster` keeps it for a look after stopping). */
export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const u = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const conn = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await conn.end();
  }
}

/** Polls GET /readyz until 200; fails early when the process exits. */
async function waitReady(p: ClusterProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  p.exited.then((x) => (gone = x));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (gone)
      throw new ClusterError(
        `${p.name} exited during start (code ${gone.code}, signal ${gone.signal}); last lines of ${p.logFile}:\n${logTail(p.logFile)}`,
      );
    try {
      const res = await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new ClusterError(
    `${p.name} not ready within ${timeoutMs} ms (last: ${last}); last lines of ${p.logFile}:\n${logTail(p.logFile)}`,
  );
}

/** Starts the services (when needed), the database, then the api, then every other process in parallel. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const name = opts.name ?? 'vodcloud-cluster';
  if (!/^[a-z0-9][a-z0-9-]{1,50}[a-z0-9]$/.test(name))
    throw new ClusterError(`cluster name "${name}": 3-52 lowercase letters, digits and -`);
  const database = opts.database ?? name.replace(/-/g, '_');
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database))
    throw new ClusterError(`database "${database}": 1-64 letters, digits and _`);
  const bucket = opts.bucket ?? name;
  const host = opts.host ?? '127.0.0.1';
  const dir = path.resolve(opts.dir);
  const layout = { ...DEFAULT_LAYOUT, ...opts.layout };
  if (layout.api < 1) throw new ClusterError('a cluster needs an api process (it runs the migrations)');
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 10_000;
  // A process's stop: in-flight requests get the bound, then the queue waits for running jobs up to
  // the bound again, then pools close.
  const stopBoundMs = 2 * shutdownTimeoutMs + 10_000;
  const servicesDir = opts.servicesDir ?? process.env.VOD_SERVICES_DIR ?? '/tmp/vodcloud-services';

  // 1. engines
  let engines: Partial<Engines> = { ...opts.engines };
  let startedServices: string[] = [];
  const missing = missingEngines(engines);
  if (missing.length) {
    if (opts.services === false)
      throw new ClusterError(`no ${missing.join(', ')} given and starting services is off`);
    const up = await servicesUp(servicesDir, log);
    engines = { ...up.engines, ...engines };
    startedServices = up.started;
  }
  const e = engines as Engines;
  const stopServices = async () => {
    if (!opts.keepServices && startedServices.length) await servicesDown(servicesDir, startedServices, log);
  };

  // 2. ports, database, settings
  const counts = CLUSTER_ROLES.flatMap((role) =>
    Array.from({ length: layout[role] }, (_, i) => ({ role, n: i + 1 })),
  );
  const basePort = opts.basePort ?? 8080;
  const ports: number[] = [];
  try {
    for (let i = 0; i < counts.length; i++) {
      const port = basePort === 0 ? await freePort(host) : basePort + i;
      if (basePort !== 0 && !(await portFree(host, port)))
        throw new ClusterError(`port ${port} on ${host} is in use (choose another --base-port)`);
      ports.push(port);
    }
  } catch (err) {
    await stopServices();
    throw err;
  }
  let dbUrl: string;
  try {
    dbUrl = await freshDatabase(e.mysqlUrl, database);
  } catch (err) {
    await stopServices();
    throw new ClusterError(`cannot create database ${database} on MariaDB: ${(err as Error).message}`);
  }
  log(`database ${database} created`);
  const secret = randomBytes(32).toString('base64url');
  const adminKey = `vod_admin_${randomBytes(24).toString('base64url')}`;
  const zk = new URL(e.zookeeperUrl.replace(/^zookeeper:/, 'http:'));
  const registryUrl = `zookeeper://${zk.host}/${name}`;
  const s3 = new URL(e.s3.endpoint);
  const storageUrl =
    `s3://${bucket}?endpoint=${s3.origin}&region=${e.s3.region ?? 'us-east-1'}` + '&forcePathStyle=true';
  const env: Record<string, string> = {
    VOD_HOST: host,
    VOD_DB_URL: dbUrl,
    VOD_STORAGE_URL: storageUrl,
    VOD_S3_ACCESS_KEY_ID: e.s3.accessKey,
    VOD_S3_SECRET_ACCESS_KEY: e.s3.secretKey,
    VOD_QUEUE_URL: e.redisUrl,
    VOD_QUEUE_PREFIX: name,
    VOD_REGISTRY_URL: registryUrl,
    VOD_CACHE_URL: e.redisUrl,
    VOD_SECRET: secret,
    VOD_ADMIN_API_KEY: adminKey,
    VOD_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    ...opts.env,
  };

  // 3. processes
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const processes: ClusterProcess[] = [];
  let stopping = false;
  const spawnOne = (role: ClusterRole, n: number, port: number): ClusterProcess => {
    const pname = `${role}-${n}`;
    const logFile = path.join(dir, 'logs', `${pname}.log`);
    const dataDir = path.join(dir, 'nodes', pname);
    mkdirSync(dataDir, { recursive: true });
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const fd = openSync(logFile, 'a');
    // Its own process group: a Ctrl-C in the terminal reaches the launcher only, which then stops
    // every process once (a second signal would make vodcloud exit at once with 130).
    const child = spawn(process.execPath, [BIN, 'serve', '--roles', role, '--port', String(port)], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env,
        VOD_DATA_DIR: dataDir,
        VOD_ADVERTISE_URL: url,
        VOD_PORT: String(port),
        VOD_ROLES: role,
      },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const p: ClusterProcess = {
      name: pname,
      role,
      n,
      port,
      url,
      pid: child.pid ?? -1,
      logFile,
      dataDir,
      child,
      exited,
    };
    child.once('error', (err) => log(`${pname}: ${err.message}`));
    exited.then(({ code, signal }) => {
      if (!stopping) opts.onUnexpectedExit?.(p, code, signal);
    });
    const at = processes.findIndex((q) => q.name === pname);
    if (at >= 0) processes[at] = p;
    else processes.push(p);
    return p;
  };
  const byName = (pname: string): ClusterProcess => {
    const p = processes.find((q) => q.name === pname);
    if (!p) throw new ClusterError(`no process named ${pname}`);
    return p;
  };
  const running = (p: ClusterProcess) => p.child.exitCode === null && p.child.signalCode === null;

  const stopAll = async (): Promise<ProcessExit[]> => {
    stopping = true;
    const exits = await Promise.all(
      processes.map(async (p) => {
        const t0 = Date.now();
        let killed = false;
        if (running(p)) p.child.kill('SIGTERM');
        const timer = setTimeout(() => {
          killed = true;
          log(`${p.name} still running ${stopBoundMs} ms after SIGTERM: SIGKILL`);
          p.child.kill('SIGKILL');
        }, stopBoundMs);
        const { code, signal } = await p.exited;
        clearTimeout(timer);
        return { name: p.name, pid: p.pid, code, signal, killed, ms: Date.now() - t0 };
      }),
    );
    await stopServices();
    return exits;
  };

  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  try {
    const api = counts.findIndex((c) => c.role === 'api');
    const first = spawnOne('api', counts[api]!.n, ports[api]!);
    log(`starting ${first.name} on ${first.url} (runs the migrations)`);
    await waitReady(first, readyTimeoutMs);
    log(`${first.name} ready; starting the other ${counts.length - 1} processes`);
    const rest = counts
      .map((c, i) => ({ ...c, port: ports[i]! }))
      .filter((c) => !(c.role === 'api' && c.n === counts[api]!.n))
      .map((c) => spawnOne(c.role, c.n, c.port));
    await Promise.all(rest.map((p) => waitReady(p, readyTimeoutMs).then(() => log(`${p.name} ready`))));
  } catch (err) {
    log(`start failed; stopping what was started`);
    await stopAll();
    throw err;
  }

  const urls = Object.fromEntries(
    CLUSTER_ROLES.map((r) => [r, processes.filter((p) => p.role === r).map((p) => p.url)]),
  ) as Record<ClusterRole, string[]>;
  let stopped: Promise<ProcessExit[]> | undefined;
  return {
    name,
    dir,
    adminKey,
    secret,
    database,
    bucket,
    queuePrefix: name,
    registryUrl,
    urls,
    processes,
    env,
    stopBoundMs,
    startedServices,
    stop: () => {
      stopped ??= stopAll();
      return stopped;
    },
    kill: async (pname, signal = 'SIGKILL') => {
      const p = byName(pname);
      if (!running(p)) return;
      try {
        process.kill(-p.pid, signal); // the process group: spawned detached, so its pid is the group's id
      } catch {
        p.child.kill(signal);
      }
      if (signal === 'SIGKILL') await p.exited;
    },
    restart: async (pname, timeoutMs = readyTimeoutMs) => {
      if (stopping) throw new ClusterError(`cannot restart ${pname}: the cluster is stopping`);
      const old = byName(pname);
      if (running(old)) throw new ClusterError(`${pname} (pid ${old.pid}) is still running`);
      const p = spawnOne(old.role, old.n, old.port);
      log(`restarting ${p.name} on ${p.url} (pid ${p.pid})`);
      await waitReady(p, timeoutMs);
      return p;
    },
  };
}
