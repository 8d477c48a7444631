/** Minimal typings for node-zookeeper-client 1.1 (the package ships none): only what this port uses. */
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';

  export interface State {
    readonly name: string;
    readonly code: number;
  }

  export interface Stat {
    readonly ephemeralOwner: Buffer;
    readonly version: number;
    readonly numChildren: number;
  }

  export interface Event {
    readonly type: number;
    readonly name: string;
    readonly path: string;
    getType(): number;
    getPath(): string;
  }

  export interface ZkException extends Error {
    readonly code: number;
    getCode(): number;
  }

  export type Watcher = (event: Event) => void;
  type Cb<T> = (error: ZkException | null, result: T) => void;

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
    sessionId?: Buffer;
    sessionPassword?: Buffer;
  }

  export interface Client extends EventEmitter {
    /** Internal, undocumented: used only to unstick a silent handshake (see zookeeper.ts). */
    readonly connectionManager?: { readonly socket?: import('node:net').Socket; readonly state?: number };
    connect(): void;
    close(): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    getSessionTimeout(): number;
    create(path: string, data: Buffer | null, mode: number, callback: Cb<string>): void;
    remove(path: string, version: number, callback: (error: ZkException | null) => void): void;
    removeRecursive(path: string, version: number, callback: (error: ZkException | null) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: Cb<Stat>): void;
    getData(
      path: string,
      watcher: Watcher | undefined,
      callback: (e: ZkException | null, d: Buffer | null, s: Stat) => void,
    ): void;
    exists(path: string, callback: Cb<Stat | null>): void;
    getChildren(
      path: string,
      watcher: Watcher | undefined,
      callback: (error: ZkException | null, children: string[], stat: Stat) => void,
    ): void;
    mkdirp(path: string, callback: Cb<string>): void;
    on(event: 'state', listener: (state: State) => void): this;
    on(event: 'connected' | 'disconnected' | 'expired', listener: () => void): this;
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;

  export const CreateMode: {
    readonly PERSISTENT: number;
    readonly EPHEMERAL: number;
    readonly PERSISTENT_SEQUENTIAL: number;
    readonly EPHEMERAL_SEQUENTIAL: number;
  };

  export const State: {
    readonly DISCONNECTED: State;
    readonly SYNC_CONNECTED: State;
    readonly AUTH_FAILED: State;
    readonly CONNECTED_READ_ONLY: State;
    readonly EXPIRED: State;
  };

  export const Event: {
    readonly NODE_CREATED: number;
    readonly NODE_DELETED: number;
    readonly NODE_DATA_CHANGED: number;
    readonly NODE_CHILDREN_CHANGED: number;
  };

  export const Exception: {
    readonly CONNECTION_LOSS: number;
    readonly NO_NODE: number;
    readonly NODE_EXISTS: number;
    readonly NOT_EMPTY: number;
    readonly SESSION_EXPIRED: number;
  };

  const zookeeper: {
    createClient: typeof createClient;
    CreateMode: typeof CreateMode;
    State: typeof State;
    Event: typeof Event;
    Exception: typeof Exception;
  };
  export default zookeeper;
}
