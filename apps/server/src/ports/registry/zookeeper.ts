import { EventEmitter } from 'node:events';
import type { Client, Stat, Event as ZkEvent, ZkException, State as ZkState } from 'node-zookeeper-client';
import zookeeper from 'node-zookeeper-client';
import { z } from 'zod';
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

const instanceSchema = z.object({
  service: z.string(),
  id: z.string(),
  host: z.string(),
  port: z.number().int(),
  roles: z.array(z.string()),
  weight: z.number(),
  metadata: z.record(z.string(), z.unknown()),
  load: z.number(),
  version: z.string().optional(),
  startedAt: z.string(),
});

interface Session {
  readonly client: Client;
  connected: boolean;
  /** paths whose data watch is armed for this session */
  readonly armedData: Set<string>;
  /** how many data-watch events each path has seen (guards against a watch firing before we mark it armed) */
  readonly fired: Map<string, number>;
  /** paths known to exist (mkdirp done) in this session */
  readonly ensured: Set<string>;
  readonly watcher: (event: ZkEvent) => void;
}

interface Registration {
  service: string;
  path: string;
  instance: ServiceInstance;
  /** written to ZooKeeper at least once */
  written: boolean;
  /** a newer registration of the same id (another registry, or another register() here) replaced it */
  superseded: boolean;
}

interface Tracked {
  instances: ServiceInstance[] | null; // null until first loaded
  json: string;
  listeners: Set<InstancesListener>;
  running: boolean;
  dirty: boolean;
}

function parseInstance(data: Buffer | null, service: string, id: string): ServiceInstance | null {
  if (!data || data.length === 0) return null;
  try {
    const parsed = instanceSchema.safeParse(JSON.parse(data.toString('utf8')));
    if (!parsed.success || parsed.data.service !== service || parsed.data.id !== id) return null;
    return parsed.data as ServiceInstance;
  } catch {
    return null;
  }
}

const isCode = (err: unknown, code: number) => (err as ZkException | null)?.code === code;

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
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('state', onState);
        reject(
          new Error(
            `registry: no ZooKeeper connection to ${this.servers} within ${this.connectTimeoutMs} ms`,
          ),
        );
      }, this.connectTimeoutMs);
      const onState = (state: RegistryState) => {
        if (state !== 'connected') return;
        clearTimeout(timer);
        this.events.off('state', onState);
        resolve();
      };
      this.events.on('state', onState);
    }).catch(async (err) => {
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
    this.startWatchdog(session);
  }

  /**
   * node-zookeeper-client has no read timeout between the TCP connect and the server's answer to
   * its ConnectRequest: a server that accepts the connection while starting up and never answers
   * leaves the client waiting forever. While not connected, a socket that stays established and
   * silent for a whole tick is destroyed, which makes the client try again.
   */
  private startWatchdog(session: Session): void {
    const tick = Math.min(2000, Math.max(500, Math.floor(this.sessionTimeoutMs / 4)));
    let suspect: unknown = null;
    let suspectBytes = -1;
    const timer = setInterval(() => {
      if (this.closed || session !== this.session) {
        clearInterval(timer);
        return;
      }
      const socket = session.client.connectionManager?.socket;
      if (session.connected || !socket || socket.destroyed || socket.connecting) {
        suspect = null;
        return;
      }
      if (socket === suspect && socket.bytesRead === suspectBytes) {
        socket.destroy();
        suspect = null;
        return;
      }
      suspect = socket;
      suspectBytes = socket.bytesRead;
    }, tick);
    timer.unref();
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

  private call<T>(fn: (cb: (err: ZkException | null, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
  }

  private async ensurePath(session: Session, path: string): Promise<void> {
    if (session.ensured.has(path)) return;
    await this.call<string>((cb) => session.client.mkdirp(path, cb));
    session.ensured.add(path);
  }

  private servicePath(service: string): string {
    return `${this.root}/${service}`;
  }

  private serialize(instance: ServiceInstance): Buffer {
    return Buffer.from(JSON.stringify(instance));
  }

  /**
   * Creates our ephemeral node or updates it. A node of the same id held by another session is
   * taken over on the first write of a registration (newest registration wins: e.g. a restarted
   * process whose killed predecessor's session has not expired yet); on later writes it means we
   * were replaced, and the registration is marked superseded instead.
   */
  private async writeRegistration(session: Session, reg: Registration): Promise<void> {
    const { client } = session;
    if (reg.superseded) return;
    await this.ensurePath(session, this.servicePath(reg.service));
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.call<string>((cb) =>
          client.create(reg.path, this.serialize(reg.instance), zookeeper.CreateMode.EPHEMERAL, cb),
        );
        reg.written = true;
        return;
      } catch (err) {
        if (isCode(err, zookeeper.Exception.NO_NODE)) {
          session.ensured.delete(this.servicePath(reg.service));
          await this.ensurePath(session, this.servicePath(reg.service));
          continue;
        }
        if (!isCode(err, zookeeper.Exception.NODE_EXISTS)) throw err;
      }
      const stat = await this.call<Stat | null>((cb) => client.exists(reg.path, cb));
      if (!stat) continue;
      if (stat.ephemeralOwner.equals(client.getSessionId())) {
        await this.call((cb) => client.setData(reg.path, this.serialize(reg.instance), -1, cb));
        reg.written = true;
        return;
      }
      if (reg.written) {
        this.supersede(reg);
        return;
      }
      await this.call<void>((cb) => client.remove(reg.path, stat.version, (e) => cb(e, undefined))).catch(
        (e) => {
          if (!isCode(e, zookeeper.Exception.NO_NODE) && !isCode(e, -103 /* BAD_VERSION */)) throw e;
        },
      );
    }
    throw new Error(`registry: could not create ${reg.path}`);
  }

  private supersede(reg: Registration): void {
    reg.superseded = true;
    if (this.registrations.get(reg.path) === reg) this.registrations.delete(reg.path);
  }

  private async removeIfOurs(session: Session, path: string): Promise<void> {
    const { client } = session;
    const stat = await this.call<Stat | null>((cb) => client.exists(path, cb));
    if (!stat?.ephemeralOwner.equals(client.getSessionId())) return;
    await this.call<void>((cb) => client.remove(path, -1, (e) => cb(e, undefined))).catch((e) => {
      if (!isCode(e, zookeeper.Exception.NO_NODE)) throw e;
    });
  }

  /** After (re)connecting: make ZooKeeper match our registrations and reload tracked services. */
  private resync(session: Session): void {
    const run = async () => {
      await this.ensurePath(session, this.root);
      for (const path of [...this.pendingRemovals]) {
        await this.removeIfOurs(session, path);
        this.pendingRemovals.delete(path);
      }
      await Promise.all([...this.registrations.values()].map((reg) => this.writeRegistration(session, reg)));
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
    const { client, watcher } = session;
    const servicePath = this.servicePath(service);
    await this.ensurePath(session, servicePath);
    const children = await new Promise<string[]>((resolve, reject) =>
      client.getChildren(servicePath, watcher, (err, kids) => (err ? reject(err) : resolve(kids))),
    );
    const previous = new Map((t.instances ?? []).map((i) => [i.id, i]));
    const loaded = await Promise.all(
      children.map(async (child): Promise<ServiceInstance | null> => {
        const path = `${servicePath}/${child}`;
        const known = previous.get(child);
        if (known && session.armedData.has(path)) return known;
        const firedBefore = session.fired.get(path) ?? 0;
        try {
          const data = await new Promise<Buffer | null>((resolve, reject) =>
            client.getData(path, watcher, (err, buf) => (err ? reject(err) : resolve(buf))),
          );
          // The watch may already have fired (the event can arrive in the same read as the
          // response): then it is not armed any more and the pending refresh reads the node again.
          if ((session.fired.get(path) ?? 0) === firedBefore) session.armedData.add(path);
          return parseInstance(data, service, child); // null for foreign nodes: ignored
        } catch (err) {
          if (isCode(err, zookeeper.Exception.NO_NODE)) return null;
          throw err;
        }
      }),
    );
    const present = new Set(children.map((child) => `${servicePath}/${child}`));
    for (const path of session.fired.keys()) {
      if (path.startsWith(`${servicePath}/`) && !present.has(path)) session.fired.delete(path);
    }
    if (session !== this.session) return;
    const instances = sortInstances(loaded.filter((i): i is ServiceInstance => i !== null));
    const json = JSON.stringify(instances);
    const first = t.instances === null;
    if (!first && json === t.json) return;
    t.instances = instances;
    t.json = json;
    for (const listener of t.listeners) this.deliver(listener, instances);
  }

  private deliver(listener: InstancesListener, instances: ServiceInstance[]): void {
    try {
      listener(structuredClone(instances));
    } catch {
      // a failing listener must not break the others
    }
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
      await this.writeRegistration(session, reg);
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
      await this.removeIfOurs(session, path);
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
    if (t.instances !== null) this.deliver(listener, t.instances);
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
    const { client } = session;
    const list = (path: string) =>
      new Promise<string[]>((resolve, reject) =>
        client.getChildren(path, undefined, (err, kids) => (err ? reject(err) : resolve(kids))),
      );
    try {
      const names = await list(this.root);
      const counts = await Promise.all(
        names.map((n) =>
          list(`${this.root}/${n}`).then(
            (k) => k.length,
            () => 0,
          ),
        ),
      );
      return names.filter((_, i) => counts[i]! > 0).sort();
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
        this.removeIfOurs(session, path).catch(() => {}),
      );
      await Promise.race([Promise.all(removals), sleep(2000)]);
    }
    this.closed = true;
    this.registrations.clear();
    if (session) {
      const client = session.client;
      const wasConnected = session.connected;
      session.connected = false;
      const gone = new Promise<void>((resolve) => {
        client.on('state', (state: ZkState) => {
          if (state.name === 'DISCONNECTED') resolve();
        });
      });
      client.close();
      if (wasConnected) {
        await Promise.race([gone, sleep(2000)]);
      } else {
        // Not connected: there is no session to end politely, but the library may be about to open
        // another socket (after its spin delay) that would revive it. Stop it until it is CLOSED (-2).
        const deadline = Date.now() + this.spinDelayMs + 300;
        while (Date.now() < deadline && client.connectionManager && client.connectionManager.state !== -2) {
          const socket = client.connectionManager.socket;
          if (socket && !socket.destroyed) socket.destroy();
          await sleep(20);
        }
      }
    }
    this.setState('closed');
    this.events.removeAllListeners();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
