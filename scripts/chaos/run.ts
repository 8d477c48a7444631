// One chaos run: own engines, a cluster on them, the load and the fault schedule for the duration, then
// the drain and the checks. scripts/chaos.ts parses the options and prints the figures.
import path from 'node:path';
import { type Cluster, logTail, startCluster } from '../cluster/launcher';
import { removeBucket } from './bucket';
import { baseClips } from './clips';
import { type ChaosEngines, type EnginePorts, startEngines } from './engines';
import { playerLoop, readyWatcher } from './player';
import { type Figures, failuresOf } from './report';
import { planFaults, runSchedule } from './scheduler';
import { setupTenant } from './setup';
import { Recorder, Rng, sleep } from './stats';
import { type LoadContext, send, uploaderLoop } from './uploader';
import { checkJobs, checkOrphans, checkUploads, checkVideos, drain, type StoreSettings } from './verify';
import { type Receiver, startReceiver } from './webhooks';

export interface ChaosOptions {
  durationSeconds: number;
  uploaders: number;
  players: number;
  killEvery: [number, number];
  seed: number;
  /** The run's folder (engines' data, cluster logs). */
  dir: string;
  clipCache: string;
  enginePorts: EnginePorts;
  s3: { endpoint: string; accessKey: string; secretKey: string };
  drainSeconds: number;
  uploadKiBps: number;
  thinkSeconds: [number, number];
  dbPauseSeconds: number;
  logLevel: string;
  /** Leave the engines' data and the bucket for a look afterwards. */
  keep: boolean;
  log: (line: string) => void;
}

/** What the run started, for the cleanup (also on Ctrl-C). */
export interface RunState {
  engines?: ChaosEngines;
  cluster?: Cluster;
  receiver?: Receiver;
  bucket?: StoreSettings;
  aborted: boolean;
  /** Processes that exited on their own (not by the scheduler's SIGKILL). */
  crashes: string[];
}

export async function cleanup(state: RunState, o: Pick<ChaosOptions, 'keep' | 'log'>): Promise<void> {
  const { log } = o;
  if (state.cluster) {
    log(`stopping the cluster (${state.cluster.processes.length} processes)`);
    await state.cluster.stop().catch((e: Error) => log(`cluster stop: ${e.message}`));
  }
  await state.receiver?.close().catch(() => undefined);
  if (state.engines) {
    log(o.keep ? 'stopping the engines (data kept)' : 'stopping the engines and removing their data');
    await state.engines.stop(o.keep).catch((e: Error) => log(`engines stop: ${e.message}`));
  }
  if (state.bucket && !o.keep) {
    log(`removing bucket ${state.bucket.bucket}`);
    await removeBucket(state.bucket).catch((e: Error) => log(`bucket removal: ${e.message}`));
  }
  state.cluster = state.engines = state.receiver = state.bucket = undefined;
}

async function startAll(o: ChaosOptions, state: RunState, name: string) {
  state.engines = await startEngines(o.dir, o.enginePorts, o.log);
  const receiver = await startReceiver();
  state.receiver = receiver;
  state.bucket = { ...o.s3, bucket: name };
  const cluster = await startCluster({
    dir: path.join(o.dir, 'cluster'),
    name,
    engines: {
      mysqlUrl: state.engines.mysqlUrl,
      redisUrl: state.engines.redisUrl,
      zookeeperUrl: state.engines.zookeeperUrl,
      s3: o.s3,
    },
    services: false,
    basePort: 0,
    readyTimeoutMs: 240_000,
    env: {
      VOD_LOG_LEVEL: o.logLevel,
      VOD_FETCH_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`,
      VOD_WEBHOOK_RETRY_BASE_MS: '1000',
      VOD_WEBHOOK_RETRY_MAX_MS: '10000',
      VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4',
    },
    log: o.log,
    onUnexpectedExit: (p, code, signal) => {
      if (signal === 'SIGKILL' || state.aborted) return; // the scheduler's kills
      state.crashes.push(`${p.name} exited (code ${code}, signal ${signal})`);
      o.log(`!! ${p.name} exited by itself (code ${code}, signal ${signal}):\n${logTail(p.logFile, 8)}`);
      // As a supervisor would: start it again.
      setTimeout(
        () => state.cluster?.restart(p.name).catch((e: Error) => o.log(`restart ${p.name}: ${e.message}`)),
        2000,
      );
    },
  });
  state.cluster = cluster;
  const tenant = await setupTenant(cluster, receiver.url);
  receiver.secret = tenant.webhookSecret;
  return { cluster, receiver, tenant, engines: state.engines };
}

/** Runs the whole thing; the caller prints the figures and calls cleanup(). */
export async function runChaos(o: ChaosOptions, state: RunState): Promise<Figures> {
  const name = `chaos-${Date.now().toString(36)}`;
  const rng = new Rng(o.seed);
  const clips = await baseClips(o.clipCache, o.log);
  const { cluster, receiver, tenant, engines } = await startAll(o, state, name);
  o.log(`cluster ready: api ${cluster.urls.api[0]}, logs in ${path.join(o.dir, 'cluster/logs')}`);

  const rec = new Recorder();
  let stopping = false;
  const ctx: LoadContext = {
    rec,
    api: cluster.urls.api[0]!,
    auth: tenant.auth,
    tenantId: tenant.tenantId,
    templateId: tenant.templateId,
    uploadOrigins: () => cluster.processes.filter((p) => p.role === 'upload').map((p) => p.url),
    uploads: [],
    stopping: () => stopping || state.aborted,
    log: o.log,
  };
  const targets = cluster.processes.filter((p) => ['upload', 'stream', 'worker'].includes(p.role));
  const faults = planFaults(rng.fork(), {
    durationSeconds: o.durationSeconds,
    killEvery: o.killEvery,
    targets: targets.map((p) => p.name),
    dbPauseSeconds: o.dbPauseSeconds,
  });
  o.log(
    `load: ${o.uploaders} uploaders, ${o.players} players for ${o.durationSeconds} s; ${faults.length} faults planned`,
  );
  const upOpts = { bytesPerSecond: o.uploadKiBps * 1024, thinkSeconds: o.thinkSeconds, boundMs: 300_000 };
  const uploaders = Array.from({ length: o.uploaders }, (_, i) =>
    uploaderLoop(ctx, i + 1, clips, rng.fork(), upOpts),
  );
  const ready = new Set<string>();
  const watcher = readyWatcher(ctx, ready);
  const players = Array.from({ length: o.players }, (_, i) => playerLoop(ctx, i + 1, rng.fork(), ready));
  const stopAt = Date.now() + o.durationSeconds * 1000;
  const schedule = runSchedule(faults, { rec, cluster, engines, log: o.log, stopAt }, () => ctx.stopping());
  while (Date.now() < stopAt && !state.aborted) await sleep(500);
  stopping = true;
  o.log('load stopping: no new uploads; in-flight uploads finish');
  const faultResults = await schedule;
  rec.setPhase('drain');
  const drainStart = Date.now();
  await Promise.all(uploaders);
  const playerStats = await Promise.all(players);
  await watcher;
  rec.closeOutages();
  if (state.aborted) throw new Error('aborted by a signal: no checks');
  for (const u of ctx.uploads.filter((x) => x.videoId && !x.completed && x.data && !state.aborted)) {
    o.log(`resuming upload ${u.uploader}-${u.n} (video ${u.videoId}) once more`);
    await send(ctx, u, u.data!, 4 * 1024 * 1024, Date.now() + 120_000);
  }
  return await verifyAll(o, state, { ctx, cluster, receiver, faultResults, playerStats, drainStart });
}

async function verifyAll(
  o: ChaosOptions,
  state: RunState,
  r: {
    ctx: LoadContext;
    cluster: Cluster;
    receiver: Receiver;
    faultResults: Figures['faults'];
    playerStats: { plays: number; segments: number; failed: number }[];
    drainStart: number;
  },
): Promise<Figures> {
  const { ctx, cluster, receiver } = r;
  const states = await drain(ctx, o.drainSeconds * 1000);
  const readyIds = [...states].filter(([, s]) => s.status === 'ready').map(([id]) => id);
  // Webhook deliveries trail the state change (and retry after faults): give them a bounded while.
  const hookDeadline = Date.now() + 60_000;
  while (
    Date.now() < hookDeadline &&
    readyIds.some((id) => !receiver.events.get(id)?.get('video.ready')?.size)
  )
    await sleep(1000);
  const drainSeconds = (Date.now() - r.drainStart) / 1000;
  o.log('checking sources, videos, objects and jobs');
  const uploads = await checkUploads(ctx);
  const videos = await checkVideos(ctx, states);
  const dbUrl = cluster.env.VOD_DB_URL!;
  const orphans = await checkOrphans(dbUrl, state.bucket!);
  const jobs = await checkJobs(ctx, {
    mysqlDbUrl: dbUrl,
    redisUrl: cluster.env.VOD_QUEUE_URL!,
    prefix: cluster.queuePrefix,
    receiver,
    readyIds,
  });
  ctx.rec.finish();
  const sum = (k: 'plays' | 'segments' | 'failed') => r.playerStats.reduce((a, s) => a + s[k], 0);
  const f: Omit<Figures, 'failures'> = {
    seed: o.seed,
    durationSeconds: o.durationSeconds,
    uploaders: o.uploaders,
    players: o.players,
    uploads,
    videos,
    faults: r.faultResults,
    crashes: state.crashes,
    records: ctx.uploads.map(({ data: _d, headers: _h, ...rest }) => rest),
    playback: {
      plays: sum('plays'),
      segments: sum('segments'),
      failedRequests: sum('failed'),
      worstOutage: ctx.rec.worstOutage(),
      outages: ctx.rec.outages.length,
    },
    phases: Object.fromEntries(ctx.rec.phases),
    orphans,
    jobs,
    drainSeconds,
  };
  return { ...f, failures: failuresOf(f) };
}
