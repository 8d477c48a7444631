// The fault schedule of a chaos run, drawn from the seed: a SIGKILL of a random upload, stream or worker
// process every 30–60 s (restarted a few seconds later), plus one Redis restart, one ZooKeeper restart
// and one 10 s database pause at random times. Faults run one at a time; each names the phase its
// requests are counted in, from the fault until the component is back plus a settle time.
import type { Cluster } from '../cluster/launcher';
import type { ChaosEngines } from './engines';
import { type Recorder, type Rng, sleep } from './stats';

export type FaultKind = 'kill' | 'redis-restart' | 'zk-restart' | 'db-pause';

export interface Fault {
  kind: FaultKind;
  /** Planned start, seconds after the load started. */
  at: number;
  /** kill: the process. */
  target?: string;
  /** kill: seconds dead before the restart; restarts: seconds down; db-pause: seconds paused. */
  downSeconds: number;
}

export interface FaultResult extends Fault {
  startedAt?: number;
  /** Seconds from the fault to the component answering again. */
  recoverySeconds?: number;
  skipped?: string;
  error?: string;
}

export interface ScheduleOptions {
  durationSeconds: number;
  killEvery: [number, number];
  /** Processes that may be killed (upload, stream and worker ones). */
  targets: string[];
  dbPauseSeconds: number;
}

/** The faults of a run, in planned order. */
export function planFaults(rng: Rng, o: ScheduleOptions): Fault[] {
  const faults: Fault[] = [];
  for (let t = rng.between(...o.killEvery); t < o.durationSeconds - 10; t += rng.between(...o.killEvery))
    faults.push({ kind: 'kill', at: t, target: rng.pick(o.targets), downSeconds: rng.between(2, 6) });
  const specials: FaultKind[] = ['redis-restart', 'zk-restart', 'db-pause'];
  // Spread over the middle of the run, one per third of it, in a seeded order.
  const order = specials.map((k) => ({ k, r: rng.next() })).sort((a, b) => a.r - b.r);
  order.forEach(({ k }, i) => {
    const span = (o.durationSeconds * 0.7) / 3;
    const at = o.durationSeconds * 0.15 + span * i + rng.between(0.1, 0.9) * span;
    faults.push({ kind: k, at, downSeconds: k === 'db-pause' ? o.dbPauseSeconds : rng.between(3, 6) });
  });
  return faults.sort((a, b) => a.at - b.at);
}

export const phaseName = (f: Fault) => (f.kind === 'kill' ? `kill ${f.target}` : f.kind);

/** Time a phase lasts after the component is back, for the effects that follow it (reconnects, expiries). */
const SETTLE_MS = 10_000;

async function runFault(f: Fault, cluster: Cluster, engines: ChaosEngines, log: (l: string) => void) {
  const t = Date.now();
  if (f.kind === 'kill') {
    await cluster.kill(f.target!, 'SIGKILL');
    log(`SIGKILL ${f.target}; restart in ${f.downSeconds.toFixed(1)} s`);
    await sleep(f.downSeconds * 1000);
    await cluster.restart(f.target!, 240_000);
  } else if (f.kind === 'redis-restart') {
    log(`restarting Redis (${f.downSeconds.toFixed(1)} s down)`);
    await engines.restartRedis(f.downSeconds * 1000);
  } else if (f.kind === 'zk-restart') {
    log(`restarting ZooKeeper (${f.downSeconds.toFixed(1)} s down)`);
    await engines.restartZookeeper(f.downSeconds * 1000);
  } else {
    log(`pausing MariaDB for ${f.downSeconds} s (SIGSTOP … SIGCONT)`);
    await engines.pauseDatabase(f.downSeconds * 1000);
  }
  return (Date.now() - t) / 1000;
}

/**
 * The next fault to run: the earliest planned, except that a once-per-run fault whose time has come goes
 * before overdue kills (so kills running late never crowd the Redis, ZooKeeper and database faults out).
 */
function nextFault(pending: Fault[], elapsedSeconds: number): Fault | undefined {
  return pending.find((f) => f.kind !== 'kill' && f.at <= elapsedSeconds) ?? pending[0];
}

/**
 * Runs `faults` one after another (each waits for its planned time and for the previous one to settle)
 * until `stopAt` (epoch ms); a kill that cannot start 10 s before it is skipped, a once-per-run fault
 * only when it cannot start before it.
 */
export async function runSchedule(
  faults: Fault[],
  ctx: { rec: Recorder; cluster: Cluster; engines: ChaosEngines; log: (l: string) => void; stopAt: number },
  aborted: () => boolean,
): Promise<FaultResult[]> {
  const results: FaultResult[] = [];
  const start = Date.now();
  const pending = [...faults];
  for (let f = nextFault(pending, 0); f; f = nextFault(pending, (Date.now() - start) / 1000)) {
    pending.splice(pending.indexOf(f), 1);
    const r: FaultResult = { ...f };
    results.push(r);
    const plannedAt = start + f.at * 1000;
    while (!aborted() && Date.now() < plannedAt) await sleep(Math.min(500, plannedAt - Date.now()));
    if (aborted()) {
      r.skipped = 'the load stopped first';
      continue;
    }
    if (Date.now() > ctx.stopAt - (f.kind === 'kill' ? 10_000 : 0)) {
      r.skipped = 'no time left before the load stops';
      continue;
    }
    r.startedAt = (Date.now() - ctx.rec.t0) / 1000;
    ctx.rec.setPhase(phaseName(f));
    try {
      r.recoverySeconds = await runFault(f, ctx.cluster, ctx.engines, ctx.log);
      ctx.log(`${phaseName(f)}: back after ${r.recoverySeconds.toFixed(1)} s`);
    } catch (err) {
      r.error = (err as Error).message.split('\n')[0];
      ctx.log(`${phaseName(f)} failed: ${(err as Error).message}`);
    }
    await sleep(SETTLE_MS);
    ctx.rec.setPhase('steady');
  }
  return results.sort((a, b) => a.at - b.at);
}
