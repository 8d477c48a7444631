import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEventsTable } from '../../db/schema';
import { ID_PATTERN, newId } from '../../lib/ids';
import type { AuditService } from './service';
import { type AuditConfig, auditNoteOf } from './types';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** How a route is audited: its action (explicit in `config.audit`, or derived), not at all, or skipped. */
export type AuditRule =
  | {
      kind: 'record';
      explicit: boolean;
      action: string;
      target: string;
      idParam?: string;
      tenantParam?: string;
    }
  | { kind: 'skip'; reason: string }
  | { kind: 'none' };

const VERBS: Record<string, string> = { POST: 'create', PUT: 'put', PATCH: 'update', DELETE: 'delete' };

/** The fallback action of a route that names none: `videos.retranscode.create` for POST /v1/videos/:id/retranscode. */
export function derivedAction(method: string, url: string): string {
  const parts = url
    .split('/')
    .filter((s) => s && s !== 'v1' && s !== '*' && !s.startsWith(':'))
    .map((s) => s.replace(/[^A-Za-z0-9]+/g, '_'));
  return [...(parts.length ? parts : ['root']), VERBS[method] ?? 'read'].join('.');
}

/**
 * The rule of one route and method: writes and admin routes are recorded (OPTIONS never); a route may name
 * its action or opt out with a reason; any other route is recorded only when it names an action.
 */
export function auditRule(
  method: string,
  url: string,
  access: string | undefined,
  audit?: AuditConfig,
): AuditRule {
  const m = method.toUpperCase();
  if (m === 'OPTIONS') return { kind: 'none' };
  if (audit !== undefined && typeof audit === 'object' && 'skip' in audit)
    return { kind: 'skip', reason: audit.skip };
  if (audit === undefined && !WRITES.has(m) && access !== 'admin') return { kind: 'none' };
  const spec = typeof audit === 'string' ? { action: audit } : (audit ?? { action: derivedAction(m, url) });
  return {
    kind: 'record',
    explicit: audit !== undefined,
    action: spec.action,
    target: spec.target ?? spec.action.split('.')[0]!,
    idParam: spec.idParam,
    tenantParam: spec.tenantParam,
  };
}

export interface AuditedRoute {
  method: string;
  url: string;
  access: string;
  rule: AuditRule;
}

const tables = new WeakMap<FastifyInstance, AuditedRoute[]>();

/** Every route of the app with its audit rule (recorded as routes are registered). */
export function auditedRoutes(app: FastifyInstance): AuditedRoute[] {
  return tables.get(app) ?? [];
}

/** What the response said that the event keeps: the created id, a related video, the error code. */
interface Seen {
  id?: string;
  videoId?: string;
  code?: string;
}
const SEEN = Symbol('vodcloud.audit.seen');
type WithSeen = FastifyRequest & { [SEEN]?: Seen };

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const safeId = (v: unknown) => (typeof v === 'string' && SAFE_ID.test(v) ? v : undefined);
const tenantIdOf = (v: unknown) => (typeof v === 'string' && ID_PATTERN.test(v) ? v : null);
const MAX_PARSED = 64 * 1024;
const MAX_DETAIL = 1000;

function ruleOf(req: FastifyRequest): AuditRule {
  const o = req.routeOptions;
  if (!o?.url) return { kind: 'none' };
  return auditRule(req.method, o.url, o.config?.access, o.config?.audit);
}

/** Reads the few fields an event keeps from a JSON response (never the body itself: it may hold a secret). */
function see(req: FastifyRequest, reply: FastifyReply, payload: unknown, action: string): void {
  const status = reply.statusCode;
  const wanted = status >= 400 || (status < 300 && action.endsWith('.create'));
  if (!wanted || typeof payload !== 'string' || payload.length > MAX_PARSED) return;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return;
  }
  if (!body || typeof body !== 'object') return;
  (req as WithSeen)[SEEN] =
    status >= 400
      ? { code: typeof body.code === 'string' && /^[a-z_]{1,40}$/.test(body.code) ? body.code : undefined }
      : { id: safeId(body.id), videoId: safeId(body.videoId) };
}

function detailOf(seen: Seen | undefined, noted: Record<string, unknown> | undefined): string | null {
  const d: Record<string, unknown> = { ...noted };
  if (seen?.code) d.code = seen.code;
  if (seen?.videoId) d.videoId = seen.videoId;
  if (Object.keys(d).length === 0) return null;
  const text = JSON.stringify(d);
  return text.length <= MAX_DETAIL ? text : JSON.stringify({ truncated: true });
}

/** The event of one answered request under its rule. */
export function eventOf(
  req: FastifyRequest,
  reply: FastifyReply,
  rule: Extract<AuditRule, { kind: 'record' }>,
): AuditEventsTable {
  const note = auditNoteOf(req.raw);
  const seen = (req as WithSeen)[SEEN];
  const params = (req.params ?? {}) as Record<string, unknown>;
  const p = req.principal;
  // The named parameter; else a create's new id; else the `id` parameter.
  const fromParams = safeId(params[rule.idParam ?? 'id']);
  const targetId =
    note?.targetId ??
    (rule.idParam === undefined && rule.action.endsWith('.create') ? seen?.id : fromParams) ??
    null;
  const tenantId =
    note?.tenantId ??
    p?.tenantId ??
    (rule.tenantParam
      ? tenantIdOf(params[rule.tenantParam])
      : rule.target === 'tenant'
        ? tenantIdOf(targetId)
        : null);
  const actor: { kind: string; id: string | null; email?: string } =
    note?.actor ??
    (p?.via === 'session'
      ? { kind: 'user', id: p.userId, email: p.email }
      : p
        ? { kind: 'api_key', id: p.keyId }
        : { kind: 'anonymous', id: null });
  return {
    id: newId(),
    at: new Date().toISOString(),
    tenant_id: tenantIdOf(tenantId),
    actor_kind: actor.kind,
    actor_id: actor.id,
    actor_email: actor.email ? actor.email.slice(0, 254) : null,
    action: rule.action.slice(0, 64),
    target_type: rule.target.slice(0, 32),
    target_id: targetId,
    method: req.method,
    route: (req.routeOptions.url ?? '').slice(0, 200),
    status: reply.statusCode,
    request_id: String(req.id).slice(0, 128),
    address: req.ip ? req.ip.slice(0, 64) : null,
    detail: detailOf(seen, note?.detail),
  };
}

/**
 * Records the audit event of every write and admin request once it is answered (onResponse, so replies of
 * hijacking handlers such as tus count too): accepted or refused, including 401 and 403. Not recorded: 429
 * (refused before any decision; a flood must not fill the log), and routes that opt out (`{ skip }`).
 * Register before the routes.
 */
export function registerAudit(app: FastifyInstance, audit: AuditService): void {
  const table: AuditedRoute[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      table.push({
        method,
        url: r.url,
        access: r.config?.access ?? 'public',
        rule: auditRule(method, r.url, r.config?.access, r.config?.audit),
      });
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const rule = ruleOf(req);
    if (rule.kind === 'record') see(req, reply, payload, rule.action);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const rule = ruleOf(req);
    if (rule.kind !== 'record' || reply.statusCode === 429) return;
    try {
      audit.record(eventOf(req, reply, rule));
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'audit event not recorded');
    }
  });
}
