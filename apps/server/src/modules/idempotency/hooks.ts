import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isIdempotentRoute } from '../../http/openapi';
import { AppError } from '../../lib/errors';
import { type IdempotencyStore, requestHash } from './store';

/** 1–255 printable ASCII characters (spaces included). */
const KEY = /^[\x20-\x7e]{1,255}$/;
/** The response headers a replay repeats (besides its status and body). */
const KEPT_HEADERS = ['content-type', 'location'];

declare module 'fastify' {
  interface FastifyRequest {
    /** The claimed Idempotency-Key row of this request, when it sent one on an idempotent route. */
    idempotencyClaim?: string;
  }
}

/**
 * Whose keys these are: the tenant's (any of its API keys and users) or, for the platform admin, that admin
 * key's or that platform admin user's.
 */
const scopeOf = (req: FastifyRequest): string | undefined => {
  const p = req.principal;
  if (!p) return undefined;
  if (p.tenantId) return `tenant:${p.tenantId}`;
  return p.via === 'key' ? `admin:${p.keyId}` : `user:${p.userId}`;
};

/**
 * Idempotency-Key on every create (a POST answering 201, or `config.idempotent`; see http/openapi.ts
 * isIdempotentRoute): the first response is kept 24 h per principal and key, a repeat of the same request
 * (method, URL, body) gets it again with `Idempotent-Replayed: true`; the same key with another request is
 * 422 `idempotency_key_reused`, a repeat while the first runs is 409 `idempotency_key_in_progress`, a key
 * that is not 1–255 printable characters is 400 `idempotency_key_invalid`. Responses of 5xx and 429 are
 * not kept (the key is freed: retrying is what the client should do). Register before the routes.
 */
export function registerIdempotency(app: FastifyInstance, store: IdempotencyStore): void {
  // Route hooks of the create routes only: two async hooks on every route cost the data plane (playlists,
  // segments) a few per cent of its throughput (bench/delivery.ts).
  app.addHook('onRoute', (r) => {
    if (!isIdempotentRoute(r)) return;
    r.preHandler = [...[r.preHandler ?? []].flat(), preHandler];
    r.onSend = [...[r.onSend ?? []].flat(), onSend] as typeof r.onSend;
  });

  async function preHandler(req: FastifyRequest, reply: FastifyReply) {
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return;
    if (typeof raw !== 'string' || !KEY.test(raw))
      throw new AppError(
        'idempotency_key_invalid',
        'Idempotency-Key must be 1 to 255 printable ASCII characters',
        {
          errors: [
            { path: 'headers.idempotency-key', message: 'must be 1 to 255 printable ASCII characters' },
          ],
        },
      );
    const scope = scopeOf(req);
    if (!scope) return;
    const claim = await store.claim(scope, raw, requestHash(req.method, req.url, req.body));
    if (claim.kind === 'reused')
      throw new AppError(
        'idempotency_key_reused',
        'This Idempotency-Key was used with another request (method, URL or body); use a new key',
      );
    if (claim.kind === 'in_progress')
      throw new AppError(
        'idempotency_key_in_progress',
        'A request with this Idempotency-Key is in progress',
        {
          headers: { 'retry-after': '1' },
        },
      );
    if (claim.kind === 'claimed') {
      req.idempotencyClaim = claim.id;
      return;
    }
    const { status, headers, body } = claim.response;
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    return reply.code(status).header('idempotent-replayed', 'true').send(body);
  }

  async function onSend(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const id = req.idempotencyClaim;
    if (!id) return payload;
    req.idempotencyClaim = undefined;
    const status = reply.statusCode;
    try {
      if (status >= 500 || status === 429 || (typeof payload !== 'string' && payload !== null))
        await store.release(id);
      else {
        const headers: Record<string, string> = {};
        for (const h of KEPT_HEADERS) {
          const v = reply.getHeader(h);
          if (v !== undefined) headers[h] = String(v);
        }
        if (!(await store.complete(id, { status, headers, body: payload ?? '' })))
          req.log.warn({ status }, 'Idempotency-Key: response too large to keep; the key was freed');
      }
    } catch (err) {
      // The request itself succeeded; a repeat with this key runs again once the pending claim is stale.
      req.log.warn({ err: (err as Error).message }, 'Idempotency-Key: response not kept');
    }
    return payload;
  }
}
