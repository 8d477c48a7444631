// `npm run chaos [-- options]`: the fault suite (issue 13). See scripts/chaos/run.ts and README.md.
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENGINE_PORTS } from './chaos/engines';
import { renderFigures } from './chaos/report';
import { type ChaosOptions, cleanup, type RunState, runChaos } from './chaos/run';
import { ROOT } from './cluster/launcher';

const USAGE = `usage: npm run chaos [-- options]

Starts its own Redis, ZooKeeper and MariaDB (on ports of their own) and a vodcloud cluster on them and
the shared S3 (a bucket of its own), then for --duration seconds runs uploaders (tus-js-client, resuming)
and players while a seeded scheduler SIGKILLs and restarts upload, stream and worker processes, restarts
Redis and ZooKeeper once each and pauses the database once. Then it drains and checks: sources byte-exact,
every video ready, no upload lost, no orphan object, no job done twice. Exit code 1 when a check fails.

options:
  --duration S         seconds of load and faults (default 600)
  --uploaders N        uploader clients (default 8)
  --players N          player clients (default 4)
  --kill-every A-B     seconds between process kills (default 30-60)
  --seed N             seed of every random choice (default: random, printed)
  --dir DIR            the run's folder (default ./data/chaos/<run>)
  --json FILE          write the figures as JSON
  --drain S            how long the drain may wait for videos to leave processing (default 300)
  --upload-kibps N     KiB/s each uploader sends at most (default 256)
  --think A-B          seconds between one uploader's uploads (default 3-12)
  --db-pause S         seconds the database is paused (default 10)
  --ports R,Z,M        Redis, ZooKeeper, MariaDB ports (default ${Object.values(DEFAULT_ENGINE_PORTS).join(',')})
  --log-level LEVEL    VOD_LOG_LEVEL of the cluster's processes (default info)
  --keep               keep the engines' data and the S3 bucket afterwards
`;

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    uploaders: { type: 'string', default: '8' },
    players: { type: 'string', default: '4' },
    'kill-every': { type: 'string', default: '30-60' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    json: { type: 'string' },
    drain: { type: 'string', default: '300' },
    'upload-kibps': { type: 'string', default: '256' },
    think: { type: 'string', default: '3-12' },
    'db-pause': { type: 'string', default: '10' },
    ports: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (a.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const fail = (msg: string): never => {
  process.stderr.write(`${msg}\n\n${USAGE}`);
  process.exit(2);
};
const num = (name: string, v: string, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number ≥ ${min} (got ${v})`);
  return n;
};
const range = (name: string, v: string): [number, number] => {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(v);
  if (!m || Number(m[1]) > Number(m[2])) return fail(`--${name} looks like 30-60 (got ${v})`);
  return [Number(m[1]), Number(m[2])];
};

/** The shared S3 endpoint and keys: VOD_TEST_S3_* from the environment or /tmp/vod-services/test.env. */
function s3Settings(): ChaosOptions['s3'] {
  const env: Record<string, string | undefined> = { ...process.env };
  const file = path.join(process.env.VOD_SERVICES_DIR ?? '/tmp/vod-services', 'test.env');
  if (!env.VOD_TEST_S3_ENDPOINT && existsSync(file))
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]!] = m[2];
    }
  if (!env.VOD_TEST_S3_ENDPOINT) return fail(`no S3: set VOD_TEST_S3_ENDPOINT (or have ${file})`);
  return {
    endpoint: env.VOD_TEST_S3_ENDPOINT,
    accessKey: env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
    secretKey: env.VOD_TEST_S3_SECRET_KEY ?? env.VOD_TEST_S3_SECRET ?? 'cisecret',
  };
}

// The S3 SDK's notice about future Node versions would land in the middle of the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const say = (line: string) => {
  const t = new Date().toISOString().slice(11, 19);
  process.stdout.write(`[chaos ${t}] ${line}\n`);
};
const seed = a.seed !== undefined ? num('seed', a.seed) : randomInt(2 ** 31);
const runName = `run-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
const ports = a.ports?.split(',').map((p) => num('ports', p, 1)) ?? Object.values(DEFAULT_ENGINE_PORTS);
if (ports.length !== 3) fail('--ports is three ports: Redis,ZooKeeper,MariaDB');
const opts: ChaosOptions = {
  durationSeconds: num('duration', a.duration, 10),
  uploaders: num('uploaders', a.uploaders),
  players: num('players', a.players),
  killEvery: range('kill-every', a['kill-every']),
  seed,
  dir: path.resolve(a.dir ?? path.join(ROOT, 'data/chaos', runName)),
  clipCache: path.join(ROOT, 'data/chaos/clips'),
  enginePorts: { redis: ports[0]!, zookeeper: ports[1]!, mysql: ports[2]! },
  s3: s3Settings(),
  drainSeconds: num('drain', a.drain),
  uploadKiBps: num('upload-kibps', a['upload-kibps'], 1),
  thinkSeconds: range('think', a.think),
  dbPauseSeconds: num('db-pause', a['db-pause']),
  logLevel: a['log-level'],
  keep: a.keep,
  log: say,
};
mkdirSync(opts.dir, { recursive: true });

const state: RunState = { aborted: false, crashes: [] };
let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals++;
  if (signals === 1) {
    say(`${sig}: stopping the load, then everything this run started (again to hurry)`);
    state.aborted = true;
    return;
  }
  say(`${sig} again: cleaning up now`);
  void cleanup(state, opts).finally(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

say(`seed ${seed} (repeat with --seed ${seed}); folder ${opts.dir}`);
let code = 1;
try {
  const figures = await runChaos(opts, state);
  process.stdout.write(`\n${renderFigures(figures)}\n\n`);
  if (a.json) {
    writeFileSync(a.json, `${JSON.stringify(figures, null, 2)}\n`);
    say(`figures written to ${a.json}`);
  }
  code = state.aborted ? 130 : figures.failures.length ? 1 : 0;
} catch (err) {
  say(`run failed: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup(state, opts);
}
process.exit(code);
