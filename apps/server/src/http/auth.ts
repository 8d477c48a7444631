import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors';
import type { Principal, TenantService } from '../modules/tenants/service';

/** What a route needs: no key, a tenant key with read or write, or the platform admin key. */
export type Access = 'public' | 'read' | 'write' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function bearerKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer ([\x21-\x7e]{16,512})$/.exec(header);
  if (!m) throw new AppError('unauthorized', 'Authorization must be "Bearer <api key>"');
  return m[1];
}

export function registerAuth(app: FastifyInstance, tenants: TenantService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const key = bearerKey(req);
    if (!key)
      throw new AppError('unauthorized', 'An API key is required: send Authorization: Bearer <api key>');
    const principal = await tenants.authenticate(key);
    if (!principal) throw new AppError('unauthorized', 'The API key is unknown or revoked');
    if (access === 'admin') {
      if (!principal.scopes.includes('admin'))
        throw new AppError('forbidden', 'This endpoint needs the platform admin key');
    } else {
      if (principal.tenantId === null)
        throw new AppError(
          'forbidden',
          'The admin key manages tenants; use a tenant API key for tenant resources',
        );
      if (access === 'write' && !principal.scopes.includes('write'))
        throw new AppError('forbidden', 'This API key is read-only; this endpoint needs the write scope');
    }
    req.principal = principal;
  });
}

/** The tenant of an authenticated tenant route. */
export function tenantOf(req: FastifyRequest): string {
  const t = req.principal?.tenantId;
  if (!t) throw new AppError('unauthorized', 'An API key is required');
  return t;
}
