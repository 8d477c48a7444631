import { EventEmitter } from 'node:events';
import type { Event as ZkEvent, State as ZkState } from 'node-zookeeper-client';
import zookeeper from 'node-zookeeper-client';
import type {
  Health,
  InstanceInput,
  InstancePatch,
  InstancesListener,
  RegistrationHandle,
  Registry,
  RegistryState,
  ServiceInstance,
} from './types';
import { applyPatch, checkName, normalizeInstance, sortInstances } from './types';
import {
  closeClient,
  connected,
  deliver,
  ensurePath,
  isCode,
  type Registration,
  readInstances,
  removeIfOurs,
  type Session,
  serviceNames,
  sleep,
  startWatchdog,
  type Tracked,
  writeRegistration,
} from './zookeeper-nodes';

/*
 * Layout under the chroot: /services/{service}/{instanceId}, one EPHEMERAL znode per instance whose
 * data is the instance as JSON. Service nodes are persistent (created on demand).
 *
 * Sessions: the client library reconnects by itself while the session lives (and re-sends the
 * watches it knows). When the session expires, this class opens a new client (new session),
 * re-creates every registered node and re-arms the watches of every tracked service.
 * Watches fire once: every refresh re-arms the children watch, and data watches are re-armed for
 * the nodes whose watch fired.
 */

export interface ZooKeeperRegistryOptions {
  /** host:port[,host:port] */
  servers: string;
  /** e.g. /vodcloud; '' or '/' = the root */
  chroot?: string;
  /** Requested session timeout (the server may adjust it into [2, 20] x tickTime). Default 10 000. */
  sessionTimeoutMs?: number;
  /** Max random pause between reconnect rounds. Default 200. */
  spinDelayMs?: number;
  /** How long start() waits for the first connection. Default 10 000. */
  connectTimeoutMs?: number;
}

export class ZooKeeperRegistry implements Registry {
  readonly kind = 'zookeeper' as const;
  private readonly servers: string;
  private readonly root: string;
  private readonly sessionTimeoutMs: number;
  private readonly spinDelayMs: number;
  private readonly connectTimeoutMs: number;
  private session!: Session;
  private current: RegistryState = 'connecting';
  private readonly events = new EventEmitter();
  private readonly registrations = new Map<string, Registration>();
  /** nodes unregistered while the connection was down; removed on reconnect if still ours */
  private readonly pendingRemovals = new Set<string>();
  private readonly tracked = new Map<string, Tracked>();
  private closed = false;

  constructor(opts: ZooKeeperRegistryOptions) {
    this.servers = opts.servers;
    const chroot = (opts.chroot ?? '').replace(/\/+$/, '');
    this.root = `${chroot}/services`;
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000;
    this.spinDelayMs = opts.spinDelayMs ?? 200;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.events.setMaxListeners(0);
  }

  /** Connects; rejects (and closes) if no connection within connectTimeoutMs. */
  async start(): Promise<this> {
    this.openSession();
    await connected(this.events, this.connectTimeoutMs, this.servers).catch(async (err) => {
      await this.close();
      throw err;
    });
    return this;
  }

  /** The current session (diagnostics and tests); null when not connected. */
  sessionInfo(): { id: string; sessionId: Buffer; password: Buffer; timeoutMs: number } | null {
    if (!this.session?.connected) return null;
    const c = this.session.client;
    const sessionId = c.getSessionId();
    return {
      id: `0x${sessionId.toString('hex')}`,
      sessionId,
      password: c.getSessionPassword(),
      timeoutMs: c.getSessionTimeout(),
    };
  }

  private setState(state: RegistryState): void {
    if (this.current === state) return;
    this.current = state;
    this.events.emit('state', state);
  }

  private openSession(): void {
    const client = zookeeper.createClient(this.servers, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: this.spinDelayMs,
      retries: 0,
    });
    const session: Session = {
      client,
      connected: false,
      armedData: new Set(),
      fired: new Map(),
      ensured: new Set(),
      watcher: (event) => this.onWatch(session, event),
    };
    client.on('state', (state: ZkState) => this.onClientState(session, state));
    this.session = session;
    client.connect();
    startWatchdog(session, this.sessionTimeoutMs, () => !this.closed && session === this.session);
  }

  private onClientState(session: Session, state: ZkState): void {
    if (session !== this.session || this.closed) return;
    switch (state.name) {
      case 'SYNC_CONNECTED':
        session.connected = true;
        this.setState('connected');
        this.resync(session);
        break;
      case 'DISCONNECTED':
        session.connected = false;
        this.setState('disconnected');
        break;
      case 'EXPIRED':
        // The old client stops by itself after an expiry; start over with a new session.
        session.connected = false;
        this.setState('expired');
        this.openSession();
        break;
      default:
        break;
    }
  }

  // ---- promisified client calls, bound to one session ----

  private servicePath(service: string): string {
    return `${this.root}/${service}`;
  }

  private supersede(reg: Registration): void {
    reg.superseded = true;
    if (this.registrations.get(reg.path) === reg) this.registrations.delete(reg.path);
  }

  /** After (re)connecting: make ZooKeeper match our registrations and reload tracked services. */
  private resync(session: Session): void {
    const run = async () => {
      await ensurePath(session, this.root);
      for (const path of [...this.pendingRemovals]) {
        await removeIfOurs(session, path);
        this.pendingRemovals.delete(path);
      }
      await Promise.all(
        [...this.registrations.values()].map((reg) =>
          writeRegistration(session, reg, this.servicePath(reg.service), (r) => this.supersede(r)),
        ),
      );
      for (const service of this.tracked.keys()) this.scheduleRefresh(service);
    };
    run().catch(() => this.retryLater(session, () => this.resync(session)));
  }

  private retryLater(session: Session, fn: () => void): void {
    // Connection loss: the next SYNC_CONNECTED resyncs anyway. Other errors: retry shortly.
    if (this.closed || session !== this.session || !session.connected) return;
    setTimeout(() => {
      if (!this.closed && session === this.session && session.connected) fn();
    }, 250).unref();
  }

  // ---- watching ----

  private onWatch(session: Session, event: ZkEvent): void {
    if (session !== this.session || this.closed) return;
    const path = event.path;
    if (!path.startsWith(`${this.root}/`)) return;
    const [service, id] = path.slice(this.root.length + 1).split('/');
    if (!service) return;
    if (id) {
      session.armedData.delete(path);
      session.fired.set(path, (session.fired.get(path) ?? 0) + 1);
    } else if (event.type === zookeeper.Event.NODE_DELETED) session.ensured.delete(path);
    this.scheduleRefresh(service);
  }

  private track(service: string): Tracked {
    let t = this.tracked.get(service);
    if (!t) {
      t = { instances: null, json: '', listeners: new Set(), running: false, dirty: false };
      this.tracked.set(service, t);
      this.scheduleRefresh(service);
    }
    return t;
  }

  private scheduleRefresh(service: string): void {
    const t = this.tracked.get(service);
    if (!t || this.closed) return;
    if (t.running) {
      t.dirty = true;
      return;
    }
    const session = this.session;
    if (!session.connected) return; // reloaded on reconnect
    t.running = true;
    const loop = async () => {
      do {
        t.dirty = false;
        await this.refresh(session, service, t);
      } while (t.dirty && !this.closed && session === this.session && session.connected);
    };
    loop()
      .catch(() => this.retryLater(session, () => this.scheduleRefresh(service)))
      .finally(() => {
        t.running = false;
        // a newer session may have asked for a refresh while this one was running
        if (t.dirty && session !== this.session) this.scheduleRefresh(service);
      });
  }

  private async refresh(session: Session, service: string, t: Tracked): Promise<void> {
    const loaded = await readInstances(session, this.servicePath(service), service, t.instances ?? []);
    if (session !== this.session) return;
    const instances = sortInstances(loaded.filter((i): i is ServiceInstance => i !== null));
    const json = JSON.stringify(instances);
    const first = t.instances === null;
    if (!first && json === t.json) return;
    t.instances = instances;
    t.json = json;
    for (const listener of t.listeners) deliver(listener, instances);
  }

  // ---- Registry ----

  async register(service: string, input: InstanceInput): Promise<RegistrationHandle> {
    if (this.closed) throw new Error('registry is closed');
    const instance = normalizeInstance(service, input);
    const path = `${this.servicePath(service)}/${instance.id}`;
    const reg: Registration = { service, path, instance, written: false, superseded: false };
    const previous = this.registrations.get(path);
    if (previous) {
      previous.superseded = true;
      reg.written = previous.written; // our own node: update it in place
    }
    this.registrations.set(path, reg);
    this.pendingRemovals.delete(path);
    await this.publish(reg);
    let live = true;
    return {
      service,
      id: instance.id,
      update: async (patch: InstancePatch) => {
        if (!live) throw new Error(`registry: ${path} is no longer registered`);
        if (!reg.superseded) {
          reg.instance = applyPatch(reg.instance, patch);
          await this.publish(reg);
        }
        if (reg.superseded) throw new Error(`registry: ${path} was taken over by a newer registration`);
      },
      unregister: async () => {
        if (!live) return;
        live = false;
        if (reg.superseded) return; // the node belongs to whoever replaced us
        this.registrations.delete(path);
        await this.unpublish(path);
      },
    };
  }

  /** Writes a registration now if connected; otherwise the next resync writes it. */
  private async publish(reg: Registration): Promise<void> {
    const session = this.session;
    if (!session.connected) return;
    try {
      await writeRegistration(session, reg, this.servicePath(reg.service), (r) => this.supersede(r));
    } catch (err) {
      if (
        isCode(err, zookeeper.Exception.CONNECTION_LOSS) ||
        isCode(err, zookeeper.Exception.SESSION_EXPIRED)
      )
        return;
      throw err;
    }
  }

  private async unpublish(path: string): Promise<void> {
    const session = this.session;
    if (!session.connected) {
      this.pendingRemovals.add(path);
      return;
    }
    try {
      await removeIfOurs(session, path);
    } catch (err) {
      if (isCode(err, zookeeper.Exception.CONNECTION_LOSS)) this.pendingRemovals.add(path);
      else if (!isCode(err, zookeeper.Exception.SESSION_EXPIRED)) throw err;
    }
  }

  subscribe(service: string, listener: InstancesListener): () => void {
    if (this.closed) throw new Error('registry is closed');
    checkName('service', service);
    const t = this.track(service);
    t.listeners.add(listener);
    if (t.instances !== null) deliver(listener, t.instances);
    return () => {
      t.listeners.delete(listener);
    };
  }

  list(service: string): ServiceInstance[] {
    checkName('service', service);
    if (this.closed) return structuredClone(this.tracked.get(service)?.instances ?? []);
    return structuredClone(this.track(service).instances ?? []);
  }

  async services(): Promise<string[]> {
    const session = this.session;
    const known = () =>
      [...this.tracked.entries()]
        .filter(([, t]) => (t.instances?.length ?? 0) > 0)
        .map(([name]) => name)
        .sort();
    if (!session.connected || this.closed) return known();
    try {
      return await serviceNames(session, this.root);
    } catch (err) {
      if (isCode(err, zookeeper.Exception.NO_NODE)) return [];
      if (isCode(err, zookeeper.Exception.CONNECTION_LOSS)) return known();
      throw err;
    }
  }

  state(): RegistryState {
    return this.current;
  }

  on(_event: 'state', listener: (state: RegistryState) => void): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  async health(): Promise<Health> {
    const info = this.sessionInfo();
    const counts = `${this.registrations.size} registered here, ${this.tracked.size} services tracked`;
    if (!info) return { ok: false, detail: `zookeeper ${this.servers} ${this.current}; ${counts}` };
    return {
      ok: true,
      detail: `zookeeper ${this.servers} connected, session ${info.id} (timeout ${info.timeoutMs} ms); ${counts}`,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const session = this.session;
    if (session?.connected) {
      // remove our nodes explicitly, then end the session (which would remove them too)
      const removals = [...this.registrations.keys()].map((path) =>
        removeIfOurs(session, path).catch(() => {}),
      );
      await Promise.race([Promise.all(removals), sleep(2000)]);
    }
    this.closed = true;
    this.registrations.clear();
    if (session) await closeClient(session, this.spinDelayMs);
    this.setState('closed');
    this.events.removeAllListeners();
  }
}
