// `npm run cluster [-- options]`: a vodcloud cluster on this machine (see scripts/cluster/launcher.ts).
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Cluster,
  ClusterError,
  clusterTable,
  DEFAULT_LAYOUT,
  type Engines,
  enginesFromEnv,
  logTail,
  ROOT,
  startCluster,
} from './cluster/launcher';

const USAGE = `usage: npm run cluster [-- options]

Starts ZooKeeper and Ceph RGW (scripts/services-up.sh; MariaDB and Redis are used as they are, or started
by it), creates a fresh MariaDB database, then runs ${Object.entries(DEFAULT_LAYOUT)
  .map(([r, n]) => `${n} ${r}`)
  .join(', ')} processes of vodcloud on the real adapters. Ctrl-C stops them, then the services it started.

options:
  --dir DIR              the cluster's folder: logs/ and nodes/ (default ./data/cluster)
  --name NAME            ZooKeeper chroot, queue prefix and S3 bucket (default vodcloud-cluster)
  --database NAME        MariaDB database, dropped and created afresh (default vodcloud_cluster)
  --bucket NAME          S3 bucket (default: the name)
  --host ADDR            listen and advertise address (default 127.0.0.1)
  --base-port N          the api's port; the others get the next ones (default 8080; 0 = free ports)
  --log-level LEVEL      VOD_LOG_LEVEL of every process (default info)
  --shutdown-timeout-ms N  VOD_SHUTDOWN_TIMEOUT_MS of every process (default 10000)
  --no-services          do not run services-up.sh; every engine must be given
  --keep-services        leave ZooKeeper and Ceph running when the cluster stops
  --env-file FILE        engines from a file of VOD_TEST_* lines (what services-up.sh writes to test.env)
  --mysql URL            MariaDB server, e.g. mysql://root@127.0.0.1:3306
  --redis URL            Redis, e.g. redis://127.0.0.1:6379 (queue and cache)
  --zookeeper URL        ZooKeeper, e.g. zookeeper://127.0.0.1:2181
  --s3-endpoint URL      S3 endpoint, e.g. http://127.0.0.1:7480 (keys: --s3-access-key, --s3-secret-key)
`;

const { values: a } = parseArgs({
  options: {
    dir: { type: 'string', default: path.join(ROOT, 'data/cluster') },
    name: { type: 'string' },
    database: { type: 'string' },
    bucket: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'base-port': { type: 'string', default: '8080' },
    'log-level': { type: 'string', default: 'info' },
    'shutdown-timeout-ms': { type: 'string', default: '10000' },
    'no-services': { type: 'boolean', default: false },
    'keep-services': { type: 'boolean', default: false },
    'env-file': { type: 'string' },
    mysql: { type: 'string' },
    redis: { type: 'string' },
    zookeeper: { type: 'string' },
    's3-endpoint': { type: 'string' },
    's3-access-key': { type: 'string', default: 'ciaccess' },
    's3-secret-key': { type: 'string', default: 'cisecret' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (a.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const say = (line: string) => process.stdout.write(`[cluster] ${line}\n`);
const int = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number (got ${v})\n${USAGE}`);
    process.exit(2);
  }
  return n;
};

let engines: Partial<Engines> = {};
if (a['env-file']) {
  const { readFileSync } = await import('node:fs');
  const fileEnv: Record<string, string> = {};
  for (const line of readFileSync(a['env-file'], 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) fileEnv[m[1]!] = m[2]!;
  }
  engines = enginesFromEnv(fileEnv);
}
if (a.mysql) engines.mysqlUrl = a.mysql;
if (a.redis) engines.redisUrl = a.redis;
if (a.zookeeper) engines.zookeeperUrl = a.zookeeper;
if (a['s3-endpoint'])
  engines.s3 = { endpoint: a['s3-endpoint'], accessKey: a['s3-access-key'], secretKey: a['s3-secret-key'] };

let cluster: Cluster | undefined;
let firstSignalAt = 0;
let stopping: Promise<void> | undefined;

const stop = (why: string) => {
  stopping ??= (async () => {
    if (!cluster) return;
    say(
      `${why}: stopping ${cluster.processes.length} processes (SIGTERM; SIGKILL after ${cluster.stopBoundMs} ms)`,
    );
    const exits = await cluster.stop();
    for (const x of exits)
      say(
        `  ${x.name.padEnd(10)} pid ${x.pid}: ${x.signal ? `signal ${x.signal}` : `exit code ${x.code}`}` +
          ` after ${x.ms} ms${x.killed ? ' (killed: still running after the bound)' : ''}`,
      );
    const clean = exits.every((x) => x.code === 0 && !x.killed);
    say(clean ? 'all processes stopped cleanly' : 'some processes did not stop cleanly; see their logs');
    process.exit(clean ? 0 : 1);
  })();
  return stopping;
};

const onSignal = (sig: NodeJS.Signals) => {
  // Ctrl-C under `npm run` arrives twice at once (from the terminal and forwarded by npm): only a
  // repeat a second later forces.
  if (firstSignalAt && Date.now() - firstSignalAt < 1000) return;
  if (firstSignalAt) {
    say(`${sig} again: killing every process now`);
    for (const p of cluster?.processes ?? []) p.child.kill('SIGKILL');
    process.exit(130);
  }
  firstSignalAt = Date.now();
  if (cluster) void stop(sig);
  else say(`${sig}: will stop as soon as the start finishes (again to abort)`);
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

const t0 = Date.now();
try {
  cluster = await startCluster({
    dir: a.dir,
    name: a.name,
    database: a.database,
    bucket: a.bucket,
    host: a.host,
    basePort: int('base-port', a['base-port']),
    engines,
    services: !a['no-services'],
    keepServices: a['keep-services'],
    shutdownTimeoutMs: int('shutdown-timeout-ms', a['shutdown-timeout-ms']),
    env: { VOD_LOG_LEVEL: a['log-level'] },
    log: say,
    onUnexpectedExit: (p, code, signal) => {
      say(
        `!! ${p.name} (pid ${p.pid}, ${p.url}) exited with ${signal ? `signal ${signal}` : `code ${code}`}; ` +
          `last lines of ${p.logFile}:\n${logTail(p.logFile, 8)}`,
      );
    },
  });
} catch (err) {
  process.stderr.write(
    `[cluster] ${err instanceof ClusterError ? err.message : String((err as Error).stack)}\n`,
  );
  process.exit(1);
}

const c = cluster;
if (firstSignalAt) await stop('signal during start');
const api = c.urls.api[0]!;
say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
process.stdout.write(`${clusterTable(c)}

database  ${c.database} (MariaDB)     bucket ${c.bucket} (S3)     ZooKeeper ${c.registryUrl}     queue prefix ${c.queuePrefix}
admin key ${c.adminKey}

Upload (the api hands out a tus endpoint on the least-loaded upload node):
  export VOD=${api} ADMIN=${c.adminKey}
  curl -s -XPOST $VOD/v1/tenants -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"name":"demo"}'
  curl -s -XPOST $VOD/v1/tenants/<tenant id>/api-keys -H "authorization: Bearer $ADMIN" \\
       -H 'content-type: application/json' -d '{"name":"cli","scopes":["read","write"]}'
  npx vodcloud upload talk.mp4 --api $VOD --key <tenant key>
  curl -s $VOD/v1/videos/<video id> -H "authorization: Bearer <tenant key>"     # until "status": "ready"
Play: the playback URLs in API responses name a healthy stream node (any stream node serves the same paths):
  ${c.urls.stream.map((u) => `${u}/hls/<playback id>/master.m3u8`).join('\n  ')}

Logs: ${path.join(c.dir, 'logs')}/<process>.log     Ctrl-C stops the cluster.
`);
