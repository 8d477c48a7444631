/**
 * ZooKeeper nodes of the registry (see zookeeper.ts for the layout and the session handling): reading
 * and writing instance nodes on one session, the connect watchdog, closing a client.
 */

import type { EventEmitter } from 'node:events';
import type { Client, Stat, Event as ZkEvent, ZkException, State as ZkState } from 'node-zookeeper-client';
import zookeeper from 'node-zookeeper-client';
import { z } from 'zod';
import type { InstancesListener, RegistryState, ServiceInstance } from './types';

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

export interface Session {
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

export interface Registration {
  service: string;
  path: string;
  instance: ServiceInstance;
  /** written to ZooKeeper at least once */
  written: boolean;
  /** a newer registration of the same id (another registry, or another register() here) replaced it */
  superseded: boolean;
}

export interface Tracked {
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

export const isCode = (err: unknown, code: number) => (err as ZkException | null)?.code === code;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function call<T>(fn: (cb: (err: ZkException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

export async function ensurePath(session: Session, path: string): Promise<void> {
  if (session.ensured.has(path)) return;
  await call<string>((cb) => session.client.mkdirp(path, cb));
  session.ensured.add(path);
}

function serialize(instance: ServiceInstance): Buffer {
  return Buffer.from(JSON.stringify(instance));
}

/**
 * Creates our ephemeral node or updates it. A node of the same id held by another session is
 * taken over on the first write of a registration (newest registration wins: e.g. a restarted
 * process whose killed predecessor's session has not expired yet); on later writes it means we
 * were replaced, and the registration is marked superseded instead.
 */
export async function writeRegistration(
  session: Session,
  reg: Registration,
  servicePath: string,
  supersede: (reg: Registration) => void,
): Promise<void> {
  const { client } = session;
  if (reg.superseded) return;
  await ensurePath(session, servicePath);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await call<string>((cb) =>
        client.create(reg.path, serialize(reg.instance), zookeeper.CreateMode.EPHEMERAL, cb),
      );
      reg.written = true;
      return;
    } catch (err) {
      if (isCode(err, zookeeper.Exception.NO_NODE)) {
        session.ensured.delete(servicePath);
        await ensurePath(session, servicePath);
        continue;
      }
      if (!isCode(err, zookeeper.Exception.NODE_EXISTS)) throw err;
    }
    const stat = await call<Stat | null>((cb) => client.exists(reg.path, cb));
    if (!stat) continue;
    if (stat.ephemeralOwner.equals(client.getSessionId())) {
      await call((cb) => client.setData(reg.path, serialize(reg.instance), -1, cb));
      reg.written = true;
      return;
    }
    if (reg.written) {
      supersede(reg);
      return;
    }
    await call<void>((cb) => client.remove(reg.path, stat.version, (e) => cb(e, undefined))).catch((e) => {
      if (!isCode(e, zookeeper.Exception.NO_NODE) && !isCode(e, -103 /* BAD_VERSION */)) throw e;
    });
  }
  throw new Error(`registry: could not create ${reg.path}`);
}

export async function removeIfOurs(session: Session, path: string): Promise<void> {
  const { client } = session;
  const stat = await call<Stat | null>((cb) => client.exists(path, cb));
  if (!stat?.ephemeralOwner.equals(client.getSessionId())) return;
  await call<void>((cb) => client.remove(path, -1, (e) => cb(e, undefined))).catch((e) => {
    if (!isCode(e, zookeeper.Exception.NO_NODE)) throw e;
  });
}

/**
 * Reads the instances of a service and (re)arms the watches: the children watch every time, the data
 * watch of each node whose watch fired (a node whose watch is still armed is taken from `previous`).
 */
export async function readInstances(
  session: Session,
  servicePath: string,
  service: string,
  previous: ServiceInstance[],
): Promise<Array<ServiceInstance | null>> {
  const { client, watcher } = session;
  await ensurePath(session, servicePath);
  const children = await new Promise<string[]>((resolve, reject) =>
    client.getChildren(servicePath, watcher, (err, kids) => (err ? reject(err) : resolve(kids))),
  );
  const known = new Map(previous.map((i) => [i.id, i]));
  const loaded = await Promise.all(
    children.map(async (child): Promise<ServiceInstance | null> => {
      const path = `${servicePath}/${child}`;
      const had = known.get(child);
      if (had && session.armedData.has(path)) return had;
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
  return loaded;
}

/** The services under `root` that have at least one instance. */
export async function serviceNames(session: Session, root: string): Promise<string[]> {
  const { client } = session;
  const list = (path: string) =>
    new Promise<string[]>((resolve, reject) =>
      client.getChildren(path, undefined, (err, kids) => (err ? reject(err) : resolve(kids))),
    );
  const names = await list(root);
  const counts = await Promise.all(
    names.map((n) =>
      list(`${root}/${n}`).then(
        (k) => k.length,
        () => 0,
      ),
    ),
  );
  return names.filter((_, i) => counts[i]! > 0).sort();
}

/**
 * node-zookeeper-client has no read timeout between the TCP connect and the server's answer to
 * its ConnectRequest: a server that accepts the connection while starting up and never answers
 * leaves the client waiting forever. While not connected, a socket that stays established and
 * silent for a whole tick is destroyed, which makes the client try again.
 */
export function startWatchdog(session: Session, sessionTimeoutMs: number, isCurrent: () => boolean): void {
  const tick = Math.min(2000, Math.max(500, Math.floor(sessionTimeoutMs / 4)));
  let suspect: unknown = null;
  let suspectBytes = -1;
  const timer = setInterval(() => {
    if (!isCurrent()) {
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

/** Closes a session's client: waits for it to disconnect, or stops its reconnecting when it was not connected. */
export async function closeClient(session: Session, spinDelayMs: number): Promise<void> {
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
    const deadline = Date.now() + spinDelayMs + 300;
    while (Date.now() < deadline && client.connectionManager && client.connectionManager.state !== -2) {
      const socket = client.connectionManager.socket;
      if (socket && !socket.destroyed) socket.destroy();
      await sleep(20);
    }
  }
}

/** Resolves once `events` reports the state `connected`; rejects after timeoutMs. */
export function connected(events: EventEmitter, timeoutMs: number, servers: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off('state', onState);
      reject(new Error(`registry: no ZooKeeper connection to ${servers} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onState = (state: RegistryState) => {
      if (state !== 'connected') return;
      clearTimeout(timer);
      events.off('state', onState);
      resolve();
    };
    events.on('state', onState);
  });
}

/** Hands a listener its copy of the instances; a failing listener must not break the others. */
export function deliver(listener: InstancesListener, instances: ServiceInstance[]): void {
  try {
    listener(structuredClone(instances));
  } catch {
    // a failing listener must not break the others
  }
}
