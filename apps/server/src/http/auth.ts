import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '@vodcloud/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors';
import type { KeyPrincipal, Principal, SessionPrincipal, TenantService } from '../modules/tenants/service';
import type { FailedAuthLimiter } from './address-limit';

/**
 * What a route needs:
 * - `public`: nothing;
 * - `read`, `write`: a tenant key with that scope, or a tenant user: `read` any role, `write` member and up;
 * - `settings`: the tenant's administration (templates, webhooks, keys, members…): a tenant key (`read` for
 *   GET and HEAD, `write` for changes, as before), or a tenant user of role admin or owner;
 * - `admin`: the platform admin key, or a platform admin user;
 * - `manage`: the platform admin (key or user), a tenant key with the write scope, or a tenant admin or
 *   owner (the handler scopes what each sees);
 * - `session`: a signed-in user (the session cookie), whoever it is; an API key has no session.
 */
export type Access = 'public' | 'read' | 'write' | 'settings' | 'admin' | 'manage' | 'session';

/** The access levels each tenant role has (owner-only checks are the handlers'). */
export const ROLE_ACCESS: Record<Role, ReadonlyArray<Access>> = {
  viewer: ['read', 'session'],
  member: ['read', 'write', 'session'],
  admin: ['read', 'write', 'settings', 'manage', 'session'],
  owner: ['read', 'write', 'settings', 'manage', 'session'],
};
/** A platform admin user: what the platform admin key may do, and its own session. */
export const PLATFORM_ADMIN_ACCESS: ReadonlyArray<Access> = ['admin', 'manage', 'session'];

/** The weakest role with an access level, for messages. */
const ROLE_NEEDED: Partial<Record<Access, string>> = {
  read: 'any role of the tenant',
  write: 'the member role or higher',
  settings: 'the admin or owner role',
  manage: 'the admin or owner role (or a platform admin)',
  admin: 'a platform admin',
};

/** The session cookie: a random 32-byte secret (base64url); the server keeps only its sha256. */
export const SESSION_COOKIE = 'vod_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** How auth reaches sessions (modules/accounts), without depending on it. */
export interface SessionAuth {
  resolve(secret: string): Promise<{ principal: SessionPrincipal } | undefined>;
  csrfToken(sessionId: string): string;
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

/** The session cookie's value, if the request carries one. */
export function sessionSecret(req: FastifyRequest): string | undefined {
  const v = (req.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  return v ? v : undefined;
}

const digestOf = (key: string) => createHash('sha256').update(key).digest('base64url');

/** The server's own origin: VOD_PUBLIC_URL's, else the one the client addressed. */
export function ownOrigin(req: FastifyRequest, publicUrl: string | undefined): string {
  return originOf(publicUrl ?? `${req.protocol}://${req.host}`);
}

/** An origin as the URL standard serialises it (lower-case, without a default port); `invalid` if none. */
function originOf(url: string): string {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? 'invalid' : o;
  } catch {
    return 'invalid';
  }
}

/** The origin a request came from: its Origin header, else its Referer's origin; undefined without either. */
function requestOrigin(req: FastifyRequest): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== '') return origin === 'null' ? 'null' : originOf(origin);
  const referer = req.headers.referer;
  if (typeof referer !== 'string' || referer === '') return undefined;
  return originOf(referer);
}

/** Refuses a cross-site request: its Origin (or Referer) must be the server's own. */
export function checkOrigin(req: FastifyRequest, publicUrl: string | undefined, required: boolean): void {
  const from = requestOrigin(req);
  if (from === undefined) {
    if (required) throw new AppError('forbidden', 'CSRF check failed: the request has no Origin or Referer');
    return;
  }
  if (from !== ownOrigin(req, publicUrl))
    throw new AppError('forbidden', `CSRF check failed: origin ${from.slice(0, 100)} is not this server's`);
}

const sameToken = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface AuthOptions {
  /** Counts failed authentications per client address (see FailedAuthLimiter). */
  limiter?: FailedAuthLimiter;
  /** Sessions (the console's cookies); without it only API keys authenticate. */
  sessions?: SessionAuth;
  /** VOD_PUBLIC_URL: its origin is the server's own for CSRF checks. */
  publicUrl?: string;
}

/** Whether an API key's principal may use a route (the rules of keys, unchanged by sessions). */
function checkKey(p: KeyPrincipal, access: Access, method: string): void {
  if (access === 'session')
    throw new AppError('forbidden', 'This endpoint needs a signed-in session (the console), not an API key');
  if (access === 'admin') {
    if (!p.scopes.includes('admin'))
      throw new AppError('forbidden', 'This endpoint needs the platform admin key');
  } else if (access === 'manage') {
    if (p.tenantId !== null && !p.scopes.includes('write'))
      throw new AppError(
        'forbidden',
        'This API key is read-only; this endpoint needs the write scope or the platform admin key',
      );
  } else {
    if (p.tenantId === null)
      throw new AppError(
        'forbidden',
        'The admin key manages tenants; use a tenant API key for tenant resources',
      );
    const needsWrite = access === 'write' || (access === 'settings' && !SAFE_METHODS.has(method));
    if (needsWrite && !p.scopes.includes('write'))
      throw new AppError('forbidden', 'This API key is read-only; this endpoint needs the write scope');
  }
}

/** Whether a signed-in user's role may use a route. */
function checkUser(p: SessionPrincipal, access: Access): void {
  const allowed = p.role === null ? PLATFORM_ADMIN_ACCESS : ROLE_ACCESS[p.role];
  if (allowed.includes(access)) return;
  if (p.role === null)
    throw new AppError(
      'forbidden',
      'A platform admin manages tenants; sign in as a user of the tenant for its resources',
    );
  throw new AppError(
    'forbidden',
    `Your role (${p.role}) may not do this; it needs ${ROLE_NEEDED[access] ?? 'another role'}`,
  );
}

/**
 * Authenticates the routes that need a key or a session. `Authorization: Bearer <api key>` wins over the
 * session cookie when a request has both. A cookie-authenticated request other than GET/HEAD/OPTIONS must
 * come from the server's own origin and carry the session's CSRF token in `x-csrf-token`. With a limiter,
 * requests that fail authentication count per client address, and a blocked address gets 429 before any
 * key lookup (see FailedAuthLimiter).
 */
export function registerAuth(app: FastifyInstance, tenants: TenantService, opts: AuthOptions = {}): void {
  const { limiter, sessions, publicUrl } = opts;
  const authenticate = async (req: FastifyRequest): Promise<Principal> => {
    const cookie = sessions ? sessionSecret(req) : undefined;
    const useSession = cookie !== undefined && req.headers.authorization === undefined;
    let key: string | undefined;
    let refused: AppError | undefined;
    try {
      key = useSession ? undefined : bearerKey(req);
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
    if (useSession) {
      const found = await sessions!.resolve(cookie!);
      if (!found) {
        limiter?.fail(req.ip);
        throw new AppError('unauthorized', 'The session has ended or is unknown; sign in again');
      }
      return found.principal;
    }
    if (!key && !refused)
      refused = new AppError(
        'unauthorized',
        'An API key is required: send Authorization: Bearer <api key> (or sign in for a session)',
      );
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
    // Known from here, also when refused below: the audit log names the key or user of a refused request.
    req.principal = principal;
    if (principal.via === 'key') return checkKey(principal, access, req.method);
    if (!SAFE_METHODS.has(req.method)) {
      checkOrigin(req, publicUrl, true);
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || token === '')
        throw new AppError('forbidden', `CSRF check failed: the ${CSRF_HEADER} header is missing`);
      if (!sameToken(token, sessions!.csrfToken(principal.sessionId)))
        throw new AppError(
          'forbidden',
          `CSRF check failed: the ${CSRF_HEADER} header does not match the session`,
        );
    }
    checkUser(principal, access);
  });
}

/** The tenant of an authenticated tenant route. */
export function tenantOf(req: FastifyRequest): string {
  const t = req.principal?.tenantId;
  if (!t) throw new AppError('unauthorized', 'An API key is required');
  return t;
}
