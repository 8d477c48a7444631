// The engines a chaos run may kill, restart or pause: its own Redis, ZooKeeper and MariaDB server on ports
// of their own, never the shared ones other tests use. Ceph RGW (S3) is shared and never touched here.
//
// Redis runs with an append-only file fsynced every second (as a production queue would), so BullMQ's
// jobs survive its restart; the restart is a clean SIGTERM (Redis writes the file and exits), then a
// start on the same folder. ZooKeeper is stopped and started by scripts/zk-down.sh / zk-up.sh with
// ZK_KEEP_DATA=1 (znodes and sessions survive). The database "pause" is SIGSTOP … SIGCONT: a stalled
// server that keeps its connections open and answers nothing.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../cluster/launcher';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface EnginePorts {
  redis: number;
  zookeeper: number;
  mysql: number;
}
export const DEFAULT_ENGINE_PORTS: EnginePorts = { redis: 16379, zookeeper: 12281, mysql: 13316 };

export interface ChaosEngines {
  mysqlUrl: string;
  redisUrl: string;
  zookeeperUrl: string;
  /** SIGTERM, `downMs` without Redis, start again; resolves when it answers PING. */
  restartRedis(downMs: number): Promise<void>;
  /** zk-down.sh, `downMs` without ZooKeeper, zk-up.sh (data kept); resolves when it answers ruok. */
  restartZookeeper(downMs: number): Promise<void>;
  /** SIGSTOP to the MariaDB server, `ms` later SIGCONT. */
  pauseDatabase(ms: number): Promise<void>;
  /** Stops every engine started here and removes their data (unless keepData). */
  stop(keepData?: boolean): Promise<void>;
}

function answers(port: number, probe?: { send: string; expect: RegExp }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => {
      if (!probe) return done(true);
      s.write(probe.send);
    });
    s.on('data', (d) => {
      data += d.toString();
      if (probe?.expect.test(data)) done(true);
    });
  });
}

async function waitFor(
  what: string,
  ok: () => Promise<boolean>,
  child: ChildProcess | undefined,
  ms: number,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    if (child && child.exitCode !== null)
      throw new Error(`${what} exited during start (code ${child.exitCode})`);
    await sleep(100);
  }
  throw new Error(`${what} did not answer within ${ms} ms`);
}

function spawnLogged(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.once('error', () => undefined);
  return child;
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once('exit', () => r()));

async function stopChild(c: ChildProcess | undefined, boundMs = 20_000): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGCONT'); // a paused server cannot act on SIGTERM
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), boundMs);
  await exited(c);
  clearTimeout(timer);
}

const redisPing = (port: number) => answers(port, { send: 'PING\r\n', expect: /\+PONG/ });
const zkOk = (port: number) => answers(port, { send: 'ruok', expect: /imok/ });

/** Starts Redis, ZooKeeper and a MariaDB server under `dir`, on `ports`; refuses ports already in use. */
export async function startEngines(
  dir: string,
  ports: EnginePorts,
  log: (line: string) => void,
): Promise<ChaosEngines> {
  for (const [name, port] of Object.entries(ports))
    if (await answers(port))
      throw new Error(
        `port ${port} (${name}) is in use: a chaos run's engines may still be running (choose other ports)`,
      );
  const base = path.join(dir, 'engines');
  mkdirSync(base, { recursive: true });
  let redis: ChildProcess | undefined;
  let mysql: ChildProcess | undefined;
  let zkStarted = false;
  const zkEnv = { ...process.env, ZK_PORT: String(ports.zookeeper), VOD_SERVICES_DIR: base };

  const startRedis = async () => {
    mkdirSync(path.join(base, 'redis'), { recursive: true });
    redis = spawnLogged(
      'redis-server',
      [
        ...['--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', path.join(base, 'redis')],
        ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no'],
      ],
      path.join(base, 'redis.log'),
    );
    await waitFor('redis', () => redisPing(ports.redis), redis, 30_000);
  };
  const zk = async (script: 'zk-up.sh' | 'zk-down.sh', keepData: boolean) => {
    const env = { ...zkEnv, ZK_KEEP_DATA: keepData ? '1' : '0' };
    const { stdout } = await run(path.join(ROOT, 'scripts', script), [], { env, timeout: 120_000 });
    log(`  ${stdout.trim()}`);
  };
  const mysqlDir = path.join(base, 'mysql');
  const mysqlArgs = [
    ...['--no-defaults', '--user=root', `--datadir=${mysqlDir}`, `--port=${ports.mysql}`],
    ...['--bind-address=127.0.0.1', `--socket=${path.join(base, 'mysql.sock')}`],
    ...[`--pid-file=${path.join(base, 'mysql.pid')}`, `--log-error=${path.join(base, 'mysql.err')}`],
    ...['--skip-log-bin', '--innodb-buffer-pool-size=128M', '--max-connections=500'],
  ];

  const engines: ChaosEngines = {
    mysqlUrl: `mysql://root@127.0.0.1:${ports.mysql}`,
    redisUrl: `redis://127.0.0.1:${ports.redis}`,
    zookeeperUrl: `zookeeper://127.0.0.1:${ports.zookeeper}`,
    async restartRedis(downMs) {
      await stopChild(redis);
      await sleep(downMs);
      await startRedis();
    },
    async restartZookeeper(downMs) {
      await zk('zk-down.sh', true);
      await sleep(downMs);
      await zk('zk-up.sh', true);
    },
    async pauseDatabase(ms) {
      if (!mysql?.pid) throw new Error('no MariaDB server');
      process.kill(mysql.pid, 'SIGSTOP');
      try {
        await sleep(ms);
      } finally {
        process.kill(mysql.pid, 'SIGCONT');
      }
    },
    async stop(keepData = false) {
      await Promise.all([
        stopChild(redis),
        stopChild(mysql, 60_000),
        zkStarted
          ? zk('zk-down.sh', keepData).catch((e: Error) => log(`  zk-down: ${e.message}`))
          : undefined,
      ]);
      if (!keepData) rmSync(base, { recursive: true, force: true });
    },
  };

  try {
    log(`starting Redis on ${ports.redis} (append-only file, fsync every second)`);
    await startRedis();
    log(`starting ZooKeeper on ${ports.zookeeper}`);
    zkStarted = true;
    await zk('zk-up.sh', false);
    await waitFor('zookeeper', () => zkOk(ports.zookeeper), undefined, 60_000);
    log(`starting MariaDB on ${ports.mysql}`);
    rmSync(mysqlDir, { recursive: true, force: true });
    await run(
      'mariadb-install-db',
      [
        ...['--no-defaults', `--datadir=${mysqlDir}`, '--user=root'],
        ...['--auth-root-authentication-method=normal', '--skip-test-db'],
      ],
      { timeout: 120_000 },
    );
    mysql = spawnLogged('mariadbd', mysqlArgs, path.join(base, 'mysql.out'));
    await waitFor('mariadb', () => answers(ports.mysql), mysql, 60_000);
  } catch (err) {
    await engines.stop(true);
    throw err;
  }
  return engines;
}
