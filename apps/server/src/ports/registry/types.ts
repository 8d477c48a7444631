/** Service registry port. Adapters: `local` (in-process) and `zookeeper://host:port[,host:port]/chroot`. */

/** What a process registers. Defaults: roles [], weight 1, metadata {}, load 0, startedAt now. */
export interface InstanceInput {
  /** Unique within the service; letters, digits and . _ : @ - (it becomes a znode name). */
  id: string;
  host: string;
  port: number;
  roles?: string[];
  weight?: number;
  metadata?: Record<string, unknown>;
  /** Current load, 0 = idle; the meaning (e.g. 0..1 utilisation) is up to the service. */
  load?: number;
  version?: string;
  /** ISO 8601 timestamp. */
  startedAt?: string;
}

/** An instance as seen by subscribers. */
export interface ServiceInstance {
  service: string;
  id: string;
  host: string;
  port: number;
  roles: string[];
  weight: number;
  metadata: Record<string, unknown>;
  load: number;
  version?: string;
  startedAt: string;
}

/** Fields a registered instance may change; metadata replaces the previous metadata. */
export interface InstancePatch {
  load?: number;
  metadata?: Record<string, unknown>;
  weight?: number;
}

export interface RegistrationHandle {
  readonly service: string;
  readonly id: string;
  /** Publishes new values. While the engine is unreachable it returns at once; the values are written on reconnect. */
  update(patch: InstancePatch): Promise<void>;
  /** Removes the instance. Idempotent. */
  unregister(): Promise<void>;
}

/** Called with the full, id-sorted list: once on subscribe (as soon as it is known) and on every change. */
export type InstancesListener = (instances: ServiceInstance[]) => void;

/**
 * connecting: not connected yet; connected; disconnected: connection lost, session may still be alive
 * (list() serves the last known lists); expired: session lost, a new one is being set up and everything
 * re-registered; closed.
 */
export type RegistryState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

export interface Health {
  ok: boolean;
  detail: string;
}

export interface Registry {
  readonly kind: 'local' | 'zookeeper';
  register(service: string, instance: InstanceInput): Promise<RegistrationHandle>;
  /** Returns the unsubscribe function. */
  subscribe(service: string, listener: InstancesListener): () => void;
  /**
   * The last known instances of a service, from a local cache: never waits for the network.
   * The first call for a service that is not subscribed starts tracking it (and returns [] until loaded).
   */
  list(service: string): ServiceInstance[];
  /** Names of services that have at least one instance. */
  services(): Promise<string[]>;
  state(): RegistryState;
  /** Returns a function that removes the listener. */
  on(event: 'state', listener: (state: RegistryState) => void): () => void;
  health(): Promise<Health>;
  /** Unregisters everything this registry registered, then disconnects. */
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_:@-][A-Za-z0-9._:@-]{0,199}$/;

export function checkName(kind: 'service' | 'instance id', value: string): void {
  if (!NAME.test(value)) {
    throw new Error(`registry: invalid ${kind} "${value}" (letters, digits, . _ : @ -; not starting with .)`);
  }
}

export function normalizeInstance(service: string, input: InstanceInput): ServiceInstance {
  checkName('service', service);
  checkName('instance id', input.id);
  if (!input.host) throw new Error('registry: host is required');
  if (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535) {
    throw new Error(`registry: invalid port ${input.port}`);
  }
  const instance: ServiceInstance = {
    service,
    id: input.id,
    host: input.host,
    port: input.port,
    roles: [...(input.roles ?? [])],
    weight: input.weight ?? 1,
    metadata: structuredClone(input.metadata ?? {}),
    load: input.load ?? 0,
    startedAt: input.startedAt ?? new Date().toISOString(),
  };
  if (input.version !== undefined) instance.version = input.version;
  return instance;
}

export function applyPatch(instance: ServiceInstance, patch: InstancePatch): ServiceInstance {
  const next = { ...instance };
  if (patch.load !== undefined) next.load = patch.load;
  if (patch.weight !== undefined) next.weight = patch.weight;
  if (patch.metadata !== undefined) next.metadata = structuredClone(patch.metadata);
  return next;
}

export function sortInstances(list: ServiceInstance[]): ServiceInstance[] {
  return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
