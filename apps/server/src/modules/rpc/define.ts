import type { z } from 'zod';
import type { Strategy } from './balance';

export interface MethodDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
  /** Safe to run twice: failover may retry it on another instance. */
  idempotent: boolean;
  /** Deadline of a call when the caller sets none. */
  timeoutMs: number;
}

export interface ServiceDef<M extends Record<string, MethodDef> = Record<string, MethodDef>> {
  name: string;
  /** Default load-balancing strategy; a consumer may choose another per service. */
  strategy: Strategy;
  methods: M;
}

export function defineService<M extends Record<string, MethodDef>>(def: ServiceDef<M>): ServiceDef<M> {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(def.name)) throw new Error(`rpc: invalid service name ${def.name}`);
  return def;
}

/** What a provider's handler gets besides its input. */
export interface CallContext {
  requestId: string;
  /** Aborted when the caller's deadline passes (or the caller goes away). */
  signal: AbortSignal;
  /** Absolute deadline, ms since the epoch. */
  deadline: number;
}

export type Impl<S extends ServiceDef> = {
  [K in keyof S['methods']]: (
    input: z.output<S['methods'][K]['input']>,
    ctx: CallContext,
  ) => Promise<z.input<S['methods'][K]['output']>>;
};

export interface CallOptions {
  /** Key for consistent hashing (e.g. the video id). */
  hashKey?: string;
  /** Overrides the method's timeout (ms from now). */
  timeoutMs?: number;
  /** Absolute deadline (ms since the epoch), e.g. inherited from the caller's own call. */
  deadline?: number;
  requestId?: string;
  signal?: AbortSignal;
}

export type Client<S extends ServiceDef> = {
  [K in keyof S['methods']]: (
    input: z.input<S['methods'][K]['input']>,
    opts?: CallOptions,
  ) => Promise<z.output<S['methods'][K]['output']>>;
};

export const registryName = (service: string) => `rpc-${service}`;
