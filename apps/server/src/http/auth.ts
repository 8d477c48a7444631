import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors';
import type { Principal, TenantService } from '../modules/tenants/service';
import type { FailedAuthLimiter } from './address-limit';

/**
 * What a route needs: no key, a tenant key with read or write, the platform admin key, or `manage`: the
 * platform admin key or a tenant key with the write scope (the handler scopes what each sees).
 */
export type Access = 'public' | 'read' | 'write' | 'admin' | 'manage';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** `Bearer <credentials>`: the scheme is case-insensitive (RFC 7235 §2.1), one or more spaces follow it. */
const BEARER = /^bearer +([\x21-\x7e]+)$/i;

/** The credentials of an `Authorization: Bearer …` header: undefined without one, null when it is malformed. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? null;
}

export function bearerKey(req: FastifyRequest): string | undefined {
  const key = bearerToken(req.headers.authorization);
  if (key === null || (key !== undefined && (key.length < 16 || key.length > 512)))
    throw new AppError('unauthorized', 'Authorization must be "Bearer <api key>"');
  return key;
}

const digestOf = (key: string) => createHash('sha256').update(key).digest('base64url');

/**
 * Authenticates the routes that need a key. With a limiter, requests that fail authentication count per
 * client address, and a blocked address gets 429 before any key lookup (see FailedAuthLimiter).
 */
export function registerAuth(
  app: FastifyInstance,
  tenants: TenantService,
  limiter?: FailedAuthLimiter,
): void {
  const authenticate = async (req: FastifyRequest): Promise<Principal> => {
    let key: string | undefined;
    let refused: AppError | undefined;
    try {
      key = bearerKey(req);
    } catch (err) {
      refused = err as AppError;
    }
    const digest = limiter && key ? digestOf(key) : undefined;
    const wait = limiter?.blockedFor(req.ip) ?? 0;
    if (wait > 0 && !(digest && limiter?.trusted(digest))) {
      const s = Math.max(1, Math.ceil(wait / 1000));
      throw new AppError(
        'rate_limited',
        `Too many requests without a valid API key from this address; retry in ${s} s`,
        { headers: { 'retry-after': String(s) } },
      );
    }
    if (!key && !refused)
      refused = new AppError('unauthorized', 'An API key is required: send Authorization: Bearer <api key>');
    const principal = key && !refused ? await tenants.authenticate(key) : undefined;
    if (!principal) {
      limiter?.fail(req.ip);
      throw refused ?? new AppError('unauthorized', 'The API key is unknown or revoked');
    }
    if (digest) limiter?.trust(digest);
    return principal;
  };

  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const principal = await authenticate(req);
    // Known from here, also when refused below: the audit log names the key of a refused request.
    req.principal = principal;
    if (access === 'admin') {
      if (!principal.scopes.includes('admin'))
        throw new AppError('forbidden', 'This endpoint needs the platform admin key');
    } else if (access === 'manage') {
      if (principal.tenantId !== null && !principal.scopes.includes('write'))
        throw new AppError(
          'forbidden',
          'This API key is read-only; this endpoint needs the write scope or the platform admin key',
        );
    } else {
      if (principal.tenantId === null)
        throw new AppError(
          'forbidden',
          'The admin key manages tenants; use a tenant API key for tenant resources',
        );
      if (access === 'write' && !principal.scopes.includes('write'))
        throw new AppError('forbidden', 'This API key is read-only; this endpoint needs the write scope');
    }
  });
}

/** The tenant of an authenticated tenant route. */
export function tenantOf(req: FastifyRequest): string {
  const t = req.principal?.tenantId;
  if (!t) throw new AppError('unauthorized', 'An API key is required');
  return t;
}
