import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Gauge, type Registry as PromRegistry } from 'prom-client';
import type { AlertThresholds } from '../../config';
import { createKysely, type Database, dialectOf } from '../../db/connect';
import type { DB } from '../../db/schema';
import type { JobQueue } from '../../ports/queue';
import type { RegistrationHandle, Registry, ServiceInstance } from '../../ports/registry';
import { type InstanceHealth, instancesOf, SENTINEL_SERVICE, type SentinelView } from '../cluster';
import { AlertNotifier, type Evaluation } from './alerts';
import { evaluateDisk, evaluateProviders, evaluateQueue, evaluateReplica, evaluateRpc } from './rules';
import type { MonitorService } from './service';

/** A probe must answer within this; an instance is unhealthy after this many failures in a row. */
export const PROBE_TIMEOUT_MS = 2000;
export const FAILURES_TO_UNHEALTHY = 2;

export interface SentinelOptions {
  registry: Registry;
  monitor: MonitorService;
  queue: JobQueue;
  db: Database;
  log: Logger;
  /** Where vod_alerts_open and vod_instance_healthy are exported. */
  metrics: PromRegistry;
  /** This node: its registry id and how it is reached (the sentinel registers under it). */
  self: { id: string; url: string; version?: string };
  dataDir: string;
  intervalMs: number;
  thresholds: AlertThresholds;
  dbReplicaUrl?: string;
  dbTimeoutMs?: number;
}

interface ProbeState {
  /** null until the first success or the FAILURES_TO_UNHEALTHY-th failure. */
  ok: boolean | null;
  failures: number;
  /** The probe that set `ok`. */
  checkedAt: string;
  detail: string;
}

function gauge(registry: PromRegistry, name: string, help: string, labelNames: string[] = []): Gauge {
  return (
    (registry.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] })
  );
}

async function probe(url: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/livez`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      redirect: 'manual',
    });
    await res.body?.cancel().catch(() => undefined);
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return { ok: false, detail: `no answer within ${PROBE_TIMEOUT_MS} ms` };
    return { ok: false, detail: e.cause?.code ?? e.cause?.message ?? e.message };
  }
}

const urlOf = (i: ServiceInstance) =>
  typeof i.metadata.url === 'string' && i.metadata.url ? i.metadata.url : `http://${i.host}:${i.port}`;

/**
 * Runs in processes with the monitor role. Every interval it probes each registered instance's
 * /livez, publishes the verdicts in the registry (service vod-sentinel, only when they change),
 * evaluates the alert rules and opens or resolves alerts (logged, and posted to VOD_ALERT_WEBHOOK_URLS).
 */
export class Sentinel {
  private readonly probes = new Map<string, ProbeState>();
  /** Services with an instance at some point since start. */
  private readonly seen = new Set<string>();
  private readonly notifier: AlertNotifier;
  private readonly alertsOpen: Gauge;
  private readonly instanceHealthy: Gauge;
  /** Only with a replica: a gauge without labels would say 0 (down) where there is none. */
  private readonly replicaUp?: Gauge;
  private readonly replicaLag?: Gauge;
  private handle: RegistrationHandle | undefined;
  private published = '';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private replica: Kysely<DB> | undefined;
  private unmeasurableLogged = '';

  constructor(private readonly o: SentinelOptions) {
    this.notifier = new AlertNotifier(o.thresholds.webhookUrls, o.log);
    this.alertsOpen = gauge(o.metrics, 'vod_alerts_open', 'Alerts currently open');
    this.instanceHealthy = gauge(
      o.metrics,
      'vod_instance_healthy',
      '1 when the sentinel holds a registered instance healthy, 0 when unhealthy (absent until known)',
      ['service', 'instance'],
    );
    if (o.dbReplicaUrl) {
      this.replicaUp = gauge(
        o.metrics,
        'vod_db_replica_up',
        "1 when the read replica (VOD_DB_REPLICA_URL) answered the sentinel's last check, 0 when not",
      );
      this.replicaLag = gauge(
        o.metrics,
        'vod_db_replica_lag_seconds',
        'Replication lag of the read replica at the last check (0 until first measured)',
      );
    }
    if (o.dbReplicaUrl)
      this.replica = createKysely(o.dbReplicaUrl, {
        poolSize: 1,
        timeoutMs: o.dbTimeoutMs ?? 5000,
        prefer: 'replica',
      });
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      this.timer = setTimeout(async () => {
        await this.tick();
        if (!this.stopped) loop();
      }, this.o.intervalMs);
      this.timer.unref();
    };
    void this.tick().finally(() => {
      if (!this.stopped) loop();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.handle?.unregister().catch(() => undefined);
    this.handle = undefined;
    await this.notifier.drain();
    await this.replica?.destroy();
    this.replica = undefined;
  }

  /** One round: probe, publish, evaluate. Never throws; a round already running is joined. */
  tick(now?: number): Promise<void> {
    this.running ??= this.round(now)
      .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'sentinel round failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** The current verdict on an instance (ok null: not known yet). */
  healthOf(id: string): { ok: boolean | null; detail: string; checkedAt: string | null } {
    const p = this.probes.get(id);
    return p
      ? { ok: p.ok, detail: p.detail, checkedAt: p.checkedAt }
      : { ok: null, detail: '', checkedAt: null };
  }

  private async round(nowArg?: number): Promise<void> {
    const { registry, log } = this.o;
    const names = (await registry.services()).filter((s) => s !== SENTINEL_SERVICE);
    const instances = new Map<string, ServiceInstance[]>();
    // With ZooKeeper a service not tracked yet lists [] until loaded: wait for its first list.
    const all = [...new Set([...names, ...this.seen, ...this.o.thresholds.requiredServices])];
    const lists = await Promise.all(all.map((s) => instancesOf(registry, s)));
    all.forEach((s, i) => {
      instances.set(s, lists[i]!);
      if (lists[i]!.length) this.seen.add(s);
    });
    await this.probeAll(instances);
    await this.publish().catch((err) =>
      log.warn({ err: (err as Error).message }, 'sentinel could not publish its view in the registry'),
    );
    this.instanceHealthy.reset();
    for (const [service, list] of instances)
      for (const i of list) {
        const ok = this.probes.get(i.id)?.ok;
        if (ok !== null && ok !== undefined)
          this.instanceHealthy.set({ service, instance: i.id }, ok ? 1 : 0);
      }

    const now = nowArg ?? Date.now();
    const t = this.o.thresholds;
    const evaluations: Evaluation[] = [];
    const run = async (what: string, fn: () => Promise<Evaluation | Evaluation[]>) => {
      try {
        const r = await fn();
        evaluations.push(...(Array.isArray(r) ? r : [r]));
      } catch (err) {
        // Not evaluated this round: its open alerts stay as they are.
        log.warn({ err: (err as Error).message, rule: what }, 'sentinel could not evaluate a rule');
      }
    };
    const required = new Set([...this.seen, ...t.requiredServices]);
    await run('no_healthy_provider', async () =>
      evaluateProviders([...required].sort(), instances, (id) => this.healthOf(id)),
    );
    await run('rpc', () => evaluateRpc(this.o.monitor, t, now));
    await run('queue', () => evaluateQueue(this.o.queue, this.o.db, t, now));
    await run('disk_free', () => evaluateDisk(this.o.dataDir, this.o.self.id, t));
    await run('db_replica', () =>
      evaluateReplica(
        this.replica,
        this.o.dbReplicaUrl ? dialectOf(this.o.dbReplicaUrl) : 'sqlite',
        t,
        (why) => {
          if (why === this.unmeasurableLogged) return;
          this.unmeasurableLogged = why;
          log.info(
            { reason: why },
            'database replica lag is not measurable; only its availability is checked',
          );
        },
        (seen) => {
          this.replicaUp?.set(seen.up ? 1 : 0);
          if (seen.lagSec !== undefined) this.replicaLag?.set(seen.lagSec);
        },
      ),
    );
    await this.o.monitor.alerts.reconcile(evaluations, this.notifier.send, now);
    this.alertsOpen.set(await this.o.monitor.alerts.countOpen());
  }

  private async probeAll(instances: Map<string, ServiceInstance[]>): Promise<void> {
    const urls = new Map<string, string>();
    for (const list of instances.values())
      for (const i of list) if (!urls.has(i.id)) urls.set(i.id, urlOf(i));
    for (const id of [...this.probes.keys()]) if (!urls.has(id)) this.probes.delete(id);
    await Promise.all(
      [...urls].map(async ([id, url]) => {
        const r = await probe(url);
        const at = new Date().toISOString();
        const prev = this.probes.get(id) ?? { ok: null, failures: 0, checkedAt: at, detail: '' };
        let next: ProbeState;
        if (r.ok) next = { ok: true, failures: 0, checkedAt: at, detail: r.detail };
        else {
          const failures = prev.failures + 1;
          next =
            failures >= FAILURES_TO_UNHEALTHY
              ? { ok: false, failures, checkedAt: at, detail: r.detail }
              : { ...prev, failures };
          if (prev.ok !== false && next.ok === false)
            this.o.log.warn({ instance: id, url, detail: r.detail }, 'instance unhealthy');
        }
        if (prev.ok === false && next.ok === true)
          this.o.log.info({ instance: id, url }, 'instance healthy again');
        this.probes.set(id, next);
      }),
    );
  }

  /** The view other processes read (unhealthyInstances); written only when a verdict changes. */
  view(): SentinelView {
    const health: Record<string, InstanceHealth> = {};
    for (const [id, p] of [...this.probes].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (p.ok !== null) health[id] = { ok: p.ok, checkedAt: p.checkedAt, detail: p.detail };
    const unhealthy = Object.keys(health).filter((id) => !health[id]!.ok);
    return { health, unhealthy };
  }

  private async publish(): Promise<void> {
    if (this.stopped) return;
    const view = this.view();
    // Compared without the check times, which move every round.
    const signature = JSON.stringify(Object.entries(view.health).map(([id, h]) => [id, h.ok, h.detail]));
    if (this.handle && signature === this.published) return;
    const metadata = { ...view, url: this.o.self.url } as Record<string, unknown>;
    if (this.handle) await this.handle.update({ metadata });
    else {
      const u = new URL(this.o.self.url);
      this.handle = await this.o.registry.register(SENTINEL_SERVICE, {
        id: this.o.self.id,
        host: u.hostname,
        port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
        roles: ['monitor'],
        version: this.o.self.version,
        metadata,
      });
    }
    this.published = signature;
  }
}
