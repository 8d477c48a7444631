import { EventEmitter } from 'node:events';
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

interface Entry {
  instance: ServiceInstance;
  owner: LocalRegistry;
  /** identifies one register() call; a newer registration of the same id gets a new one */
  ref: object;
}

/** One in-process registry; every LocalRegistry created with the same bus name shares it. */
class Bus {
  readonly services = new Map<string, Map<string, Entry>>();
  readonly changes = new EventEmitter();
  constructor() {
    this.changes.setMaxListeners(0);
  }

  list(service: string): ServiceInstance[] {
    const entries = this.services.get(service);
    if (!entries) return [];
    return sortInstances([...entries.values()].map((e) => structuredClone(e.instance)));
  }

  current(service: string, id: string): Entry | undefined {
    return this.services.get(service)?.get(id);
  }

  put(instance: ServiceInstance, owner: LocalRegistry, ref: object): void {
    let entries = this.services.get(instance.service);
    if (!entries) {
      entries = new Map();
      this.services.set(instance.service, entries);
    }
    entries.set(instance.id, { instance, owner, ref }); // last registration wins, as with ZooKeeper
    this.changes.emit('change', instance.service);
  }

  remove(service: string, id: string, ref: object): boolean {
    const entries = this.services.get(service);
    const entry = entries?.get(id);
    if (!entries || !entry || entry.ref !== ref) return false;
    entries.delete(id);
    if (entries.size === 0) this.services.delete(service);
    this.changes.emit('change', service);
    return true;
  }
}

const buses = new Map<string, Bus>();

export class LocalRegistry implements Registry {
  readonly kind = 'local' as const;
  private readonly bus: Bus;
  private readonly mine = new Map<string, { service: string; id: string; ref: object }>();
  private readonly unsubscribers = new Set<() => void>();
  private readonly events = new EventEmitter();
  private current: RegistryState = 'connected';

  constructor(readonly busName = 'default') {
    let bus = buses.get(busName);
    if (!bus) {
      bus = new Bus();
      buses.set(busName, bus);
    }
    this.bus = bus;
  }

  private checkOpen(): void {
    if (this.current === 'closed') throw new Error('registry is closed');
  }

  async register(service: string, input: InstanceInput): Promise<RegistrationHandle> {
    this.checkOpen();
    const instance = normalizeInstance(service, input);
    const key = `${service}/${instance.id}`;
    const ref = {};
    this.mine.set(key, { service, id: instance.id, ref });
    this.bus.put(instance, this, ref);
    let live = true;
    let currentInstance = instance;
    return {
      service,
      id: instance.id,
      update: async (patch: InstancePatch) => {
        if (!live) throw new Error(`registry: ${key} is no longer registered`);
        if (this.bus.current(service, instance.id)?.ref !== ref) {
          throw new Error(`registry: ${key} was taken over by a newer registration`);
        }
        currentInstance = applyPatch(currentInstance, patch);
        this.bus.put(currentInstance, this, ref);
      },
      unregister: async () => {
        if (!live) return;
        live = false;
        if (this.mine.get(key)?.ref === ref) this.mine.delete(key);
        this.bus.remove(service, instance.id, ref);
      },
    };
  }

  subscribe(service: string, listener: InstancesListener): () => void {
    this.checkOpen();
    checkName('service', service);
    const onChange = (changed: string) => {
      if (changed !== service) return;
      try {
        listener(this.bus.list(service));
      } catch {
        // a failing listener must not break the others
      }
    };
    this.bus.changes.on('change', onChange);
    const unsubscribe = () => {
      this.bus.changes.off('change', onChange);
      this.unsubscribers.delete(unsubscribe);
    };
    this.unsubscribers.add(unsubscribe);
    onChange(service);
    return unsubscribe;
  }

  list(service: string): ServiceInstance[] {
    return this.bus.list(service);
  }

  async services(): Promise<string[]> {
    return [...this.bus.services.keys()].sort();
  }

  state(): RegistryState {
    return this.current;
  }

  on(_event: 'state', listener: (state: RegistryState) => void): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  async health(): Promise<Health> {
    return {
      ok: this.current === 'connected',
      detail: `local registry "${this.busName}", ${this.mine.size} registered here, ${this.bus.services.size} services`,
    };
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    for (const unsubscribe of [...this.unsubscribers]) unsubscribe();
    for (const { service, id, ref } of this.mine.values()) this.bus.remove(service, id, ref);
    this.mine.clear();
    this.current = 'closed';
    this.events.emit('state', 'closed');
    this.events.removeAllListeners();
  }
}
