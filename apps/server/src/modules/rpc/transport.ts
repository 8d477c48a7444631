import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Agent, Dispatcher } from 'undici';
import { ZodError } from 'zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../lib/errors';
import type { ServiceInstance } from '../../ports/registry';
import type { CallContext, CallOptions, MethodDef, ServiceDef } from './define';
import { codeFor, deadlineError, RpcError } from './errors';

/**
 * The wire of an RPC call: a JSON POST to `/internal/rpc/<service>/<method>` on the provider, with the
 * cluster key, the deadline (remaining milliseconds, so clocks need not agree) and the request id in
 * headers; errors come back as the platform's problem documents.
 */
export const RPC_PATH = '/internal/rpc';
const KEY_HEADER = 'x-vod-rpc-key';
const DEADLINE_HEADER = 'x-vod-deadline-ms';
const RETRIABLE_STATUS = new Set([500, 502, 503, 504]);

/** Sends one call to one instance; resolves with its JSON answer, rejects with an RpcError. */
export async function postCall(
  agent: Agent,
  key: string,
  service: string,
  method: string,
  instance: ServiceInstance,
  input: unknown,
  opts: CallOptions & { requestId: string; deadline: number },
): Promise<unknown> {
  const base = new URL(
    (instance.metadata as { url?: string }).url ?? `http://${instance.host}:${instance.port}`,
  );
  const remaining = opts.deadline - Date.now();
  if (remaining <= 0) throw deadlineError(service, method);
  let res: Dispatcher.ResponseData;
  try {
    res = await agent.request({
      origin: base.origin,
      path: `${base.pathname.replace(/\/$/, '')}${RPC_PATH}/${service}/${method}`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [KEY_HEADER]: key,
        [DEADLINE_HEADER]: String(remaining),
        'x-request-id': opts.requestId,
      },
      body: JSON.stringify(input ?? null),
      // undici's own timers bound the call (an AbortSignal per call costs more than the call itself).
      ...(opts.signal ? { signal: opts.signal } : {}),
      headersTimeout: remaining,
      bodyTimeout: remaining,
    });
  } catch (err) {
    if (opts.deadline <= Date.now()) throw deadlineError(service, method, instance.id);
    throw new RpcError(
      'unavailable',
      `${service}.${method} on ${instance.id}: ${(err as Error).message}`,
      true,
      instance.id,
    );
  }
  const text = await res.body.text();
  if (res.statusCode === 200) return text ? JSON.parse(text) : null;
  let body: { code?: string; detail?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not a problem document: e.g. a proxy's error page
  }
  const code = (body.code && body.code in ERROR_STATUS ? body.code : codeFor(res.statusCode)) as ErrorCode;
  throw new RpcError(
    code,
    body.detail ?? `${service}.${method} on ${instance.id} answered ${res.statusCode}`,
    RETRIABLE_STATUS.has(res.statusCode) && !(body.detail ?? '').startsWith('deadline'),
    instance.id,
  );
}

/** A service this process provides: its definition and its handlers. */
export interface Provided {
  def: ServiceDef;
  impl: Record<string, unknown>;
}

/** Runs a provider's handler (the Rpc's accounting and deadline). */
export type Serve = (
  def: ServiceDef,
  method: string,
  m: MethodDef,
  impl: Record<string, unknown>,
  input: unknown,
  ctx: CallContext,
) => Promise<unknown>;

/** Serves `POST /internal/rpc/:service/:method` for the services `find` knows, to callers holding `key`. */
export function rpcRoute(
  app: FastifyInstance,
  key: string,
  find: (service: string) => Provided | undefined,
  serve: Serve,
): void {
  app.post<{ Params: { service: string; method: string } }>(
    `${RPC_PATH}/:service/:method`,
    {
      schema: { hide: true },
      logLevel: 'warn',
      config: {
        audit: { skip: 'node-to-node calls under the cluster key, no API actor; the monitor counts them' },
      },
    },
    async (req, reply) => {
      const given = req.headers[KEY_HEADER];
      if (typeof given !== 'string' || !safeEqual(given, key))
        throw new AppError('unauthorized', 'rpc: missing or wrong cluster key');
      const entry = find(req.params.service);
      // Own method names only (`constructor` must not find Object.prototype's).
      const m = (
        entry && Object.hasOwn(entry.def.methods, req.params.method)
          ? entry.def.methods[req.params.method]
          : undefined
      ) as MethodDef | undefined;
      if (!entry || !m)
        throw new AppError(
          'not_found',
          `rpc: ${req.params.service}.${req.params.method} is not provided here`,
        );
      const remaining = Math.max(1, Math.min(Number(req.headers[DEADLINE_HEADER]) || m.timeoutMs, 3_600_000));
      const deadline = Date.now() + remaining;
      // Aborted at the caller's deadline or when the caller goes away.
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), remaining);
      reply.raw.once('close', () => {
        clearTimeout(timer);
        if (!reply.raw.writableFinished) ac.abort();
      });
      let input: unknown;
      try {
        input = m.input.parse(req.body);
      } catch (err) {
        if (err instanceof ZodError)
          throw new AppError(
            'validation_failed',
            `rpc: invalid input for ${entry.def.name}.${req.params.method}`,
            {
              errors: err.issues.map((i) => ({ path: `body.${i.path.join('.')}`, message: i.message })),
            },
          );
        throw err;
      }
      const result = await serve(entry.def, req.params.method, m, entry.impl, input, {
        requestId: String(req.id),
        deadline,
        signal: ac.signal,
      });
      clearTimeout(timer);
      return reply
        .type('application/json')
        .serializer((v: unknown) => JSON.stringify(v ?? null))
        .send(result);
    },
  );
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
