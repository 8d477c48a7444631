import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { ClusterMode } from '../../lib/rpc-strategies';
import type { Registry, ServiceInstance } from '../../ports/registry';
import { unhealthyInstances } from '../cluster';
import { Balancer, CircuitBreaker, type Strategy } from './balance';
import {
  type CallContext,
  type CallOptions,
  type Client,
  type Impl,
  type MethodDef,
  registryName,
  type ServiceDef,
} from './define';
import { deadlineError, RpcError, toRpcError } from './errors';
import type { CallStats } from './stats';
import { type Provided, postCall, rpcRoute } from './transport';

export { RpcError } from './errors';
export { RPC_PATH } from './transport';
export type { ClusterMode };

export interface RpcOptions {
  registry: Registry;
  /** The cluster secret: providers accept only calls authenticated with a key derived from it. */
  secret: string;
  log: Logger;
  /** Call statistics (consumer and provider side); null turns accounting off. */
  stats: CallStats | null;
  /** Retries on other instances for idempotent calls in failover mode (default 2). */
  retries?: number;
  /** Per-service overrides of the strategy and the cluster mode. */
  strategies?: Record<string, Strategy>;
  modes?: Record<string, ClusterMode>;
  /** Call a provider in this process directly when there is one (default true). */
  preferLocal?: boolean;
  breaker?: { threshold?: number; openMs?: number };
  /** How long a consumer waits for the registry's first list of a service it never asked for (default 3 s). */
  discoveryWaitMs?: number;
}

/**
 * Typed RPC over the registry's providers. A provider registers `rpc-<service>` with its URL; a consumer
 * subscribes (the registry pushes changes), picks an instance by the service's strategy, avoids instances
 * whose circuit is open or that the sentinel marked unhealthy, and fails idempotent calls over to another
 * instance. Calls travel as JSON over keep-alive HTTP connections (undici), with the deadline (remaining
 * milliseconds, so clocks need not agree) and the request id in headers; errors come back as the
 * platform's problem codes. A provider in the same process is called directly.
 */
export class Rpc {
  private readonly impls = new Map<string, Provided>();
  private readonly lists = new Map<string, { instances: ServiceInstance[]; ready: Promise<void> }>();
  private readonly unsubscribes: Array<() => void> = [];
  readonly balancer = new Balancer();
  readonly breaker: CircuitBreaker;
  /**
   * The connections to other processes, made on the first call to one: undici costs ~5 MB of heap, and a
   * node that provides every service it calls (the embedded all-in-one) never makes such a call.
   */
  private agent: Promise<Agent> | undefined;
  private readonly key: string;
  private unhealthyCache: { at: number; ids: Set<string> } = { at: 0, ids: new Set() };
  private closed = false;

  constructor(private readonly o: RpcOptions) {
    this.key = createHmac('sha256', o.secret).update('vodcloud-rpc-v1').digest('base64url');
    this.breaker = new CircuitBreaker(o.breaker?.threshold ?? 5, o.breaker?.openMs ?? 5_000);
  }

  /** Serves a service from this process (registered in the registry by the node; see `provided()`). */
  provide<S extends ServiceDef>(def: S, impl: Impl<S>): void {
    this.impls.set(def.name, { def, impl: impl as Record<string, unknown> });
  }

  /** Registry names of the services this process provides. */
  provided(): string[] {
    return [...this.impls.keys()].map(registryName);
  }

  client<S extends ServiceDef>(def: S): Client<S> {
    const out: Record<string, unknown> = {};
    for (const m of Object.keys(def.methods))
      out[m] = (input: unknown, opts?: CallOptions) => this.call(def, m, input, opts);
    return out as Client<S>;
  }

  /** The instances of a service as this consumer sees them (pushed by the registry). */
  instances(service: string): ServiceInstance[] {
    return this.track(service).instances;
  }

  private track(service: string) {
    let entry = this.lists.get(service);
    if (!entry) {
      let first!: () => void;
      const ready = new Promise<void>((r) => {
        first = r;
      });
      const e = { instances: [] as ServiceInstance[], ready };
      entry = e;
      this.lists.set(service, e);
      this.unsubscribes.push(
        this.o.registry.subscribe(registryName(service), (list) => {
          e.instances = list;
          first();
        }),
      );
    }
    return entry;
  }

  /** Instance ids the sentinel currently reports unhealthy (read from the registry, cached 500 ms). */
  private unhealthy(): Set<string> {
    const now = Date.now();
    if (now - this.unhealthyCache.at < 500) return this.unhealthyCache.ids;
    this.unhealthyCache = { at: now, ids: unhealthyInstances(this.o.registry) };
    return this.unhealthyCache.ids;
  }

  async call(def: ServiceDef, method: string, rawInput: unknown, opts: CallOptions = {}): Promise<never> {
    const m = def.methods[method] as MethodDef | undefined;
    if (!m) throw new RpcError('not_found', `rpc: ${def.name} has no method ${method}`, false);
    const started = performance.now();
    const deadline = opts.deadline ?? Date.now() + (opts.timeoutMs ?? m.timeoutMs);
    const requestId = opts.requestId ?? randomUUID();
    let ok = false;
    try {
      const parsed = m.input.safeParse(rawInput);
      if (!parsed.success)
        throw Object.assign(
          new RpcError('validation_failed', `rpc: invalid input for ${def.name}.${method}`, false),
          {
            extra: {
              errors: parsed.error.issues.map((i) => ({
                path: `body.${i.path.join('.')}`,
                message: i.message,
              })),
            },
          },
        );
      const input = parsed.data;
      const local = this.o.preferLocal !== false ? this.impls.get(def.name) : undefined;
      const result = local
        ? await this.runLocal(def, method, m, local.impl, input, { requestId, deadline, signal: opts.signal })
        : await this.remote(def, method, m, input, { ...opts, requestId, deadline });
      ok = true;
      return m.output.parse(result) as never;
    } finally {
      this.o.stats?.record('consumer', def.name, method, performance.now() - started, ok);
    }
  }

  private async runLocal(
    def: ServiceDef,
    method: string,
    m: MethodDef,
    impl: Record<string, unknown>,
    input: unknown,
    c: { requestId: string; deadline: number; signal?: AbortSignal },
  ): Promise<unknown> {
    const remaining = c.deadline - Date.now();
    if (remaining <= 0) throw deadlineError(def.name, method);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), remaining);
    const onAbort = () => ac.abort();
    c.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.serve(def, method, m, impl, input, {
        requestId: c.requestId,
        deadline: c.deadline,
        signal: ac.signal,
      });
    } finally {
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs a provider's handler with provider-side accounting and the deadline enforced. */
  private async serve(
    def: ServiceDef,
    method: string,
    _m: MethodDef,
    impl: Record<string, unknown>,
    input: unknown,
    ctx: CallContext,
  ): Promise<unknown> {
    const fn = impl[method] as ((i: unknown, c: CallContext) => Promise<unknown>) | undefined;
    if (!fn) throw new RpcError('not_found', `rpc: ${def.name}.${method} is not provided here`, false);
    const started = performance.now();
    let ok = false;
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        const onAbort = () => reject(deadlineError(def.name, method));
        if (ctx.signal.aborted) return onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        fn(input, ctx).then(
          (v) => {
            ctx.signal.removeEventListener('abort', onAbort);
            resolve(v);
          },
          (e) => {
            ctx.signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
      ok = true;
      return result;
    } finally {
      this.o.stats?.record('provider', def.name, method, performance.now() - started, ok);
    }
  }

  private async remote(
    def: ServiceDef,
    method: string,
    m: MethodDef,
    input: unknown,
    opts: CallOptions & { requestId: string; deadline: number },
  ): Promise<unknown> {
    const strategy = this.o.strategies?.[def.name] ?? def.strategy;
    const mode = this.o.modes?.[def.name] ?? 'failover';
    const attempts = m.idempotent && mode === 'failover' ? 1 + (this.o.retries ?? 2) : 1;
    const entry = this.track(def.name);
    if (entry.instances.length === 0) {
      // First use of a service: wait (bounded) for the registry's first list.
      const wait = Math.min(this.o.discoveryWaitMs ?? 3_000, opts.deadline - Date.now());
      if (wait > 0) await Promise.race([entry.ready, new Promise((r) => setTimeout(r, wait).unref())]);
    }
    const tried = new Set<string>();
    let last: RpcError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (Date.now() >= opts.deadline) throw last ?? deadlineError(def.name, method);
      const instance = this.choose(def.name, strategy, entry.instances, tried, opts.hashKey);
      if (!instance) break;
      tried.add(instance.id);
      this.balancer.begin(instance.id);
      try {
        const result = await postCall(
          await this.remoteAgent(),
          this.key,
          def.name,
          method,
          instance,
          input,
          opts,
        );
        this.breaker.success(instance.id);
        return result;
      } catch (err) {
        const e = toRpcError(err, def.name, method, instance.id);
        if (e.retriable) this.breaker.failure(instance.id);
        else this.breaker.success(instance.id); // the instance answered: it is alive
        last = e;
        if (!e.retriable) throw e;
        this.o.log.debug(
          { err: e.message, instance: instance.id, service: def.name, method },
          'rpc attempt failed',
        );
      } finally {
        this.balancer.end(instance.id);
      }
    }
    throw (
      last ??
      new RpcError(
        'unavailable',
        `no provider of ${def.name} is available (${entry.instances.length} registered)`,
        true,
      )
    );
  }

  /**
   * An instance not tried yet, preferring those the sentinel calls healthy and whose circuit is closed; when
   * every candidate is marked unhealthy, those are still tried (the sentinel may lag behind a recovery).
   */
  private choose(
    service: string,
    strategy: Strategy,
    all: ServiceInstance[],
    tried: Set<string>,
    hashKey?: string,
  ): ServiceInstance | undefined {
    const untried = all.filter((i) => !tried.has(i.id));
    const sick = this.unhealthy();
    const healthy = untried.filter((i) => !sick.has(i.id));
    for (const pool of [healthy, untried]) {
      let candidates = pool.filter((i) => this.breaker.state(i.id) !== 'open');
      while (candidates.length) {
        const pick = this.balancer.pick(service, strategy, candidates, hashKey)!;
        if (this.breaker.allow(pick.id)) return pick;
        candidates = candidates.filter((i) => i.id !== pick.id);
      }
    }
    return undefined;
  }

  /** Serves `POST /internal/rpc/:service/:method` for the services this process provides. */
  routes(app: FastifyInstance): void {
    rpcRoute(
      app,
      this.key,
      (service) => this.impls.get(service),
      (...args) => this.serve(...args),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribes) u();
    await this.agent?.then((a) => a.close()).catch(() => undefined);
  }

  private remoteAgent(): Promise<Agent> {
    this.agent ??= import('undici').then(
      ({ Agent }) => new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 256 }),
    );
    return this.agent;
  }
}
