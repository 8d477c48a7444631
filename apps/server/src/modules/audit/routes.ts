import { AuditEvent, AuditQuery, listOf } from '@vodcloud/contracts';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import type { AuditService } from './service';

const utc = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/**
 * GET /v1/audit: the platform admin key reads every tenant's events (or one tenant's, `tenantId`); a tenant
 * key with the write scope reads its own tenant's only (naming another tenant is 403); a read-only key is
 * refused (403): the log names the tenant's keys and what they did. A tenant key does not see the target
 * id of a refused request (it may name another tenant's resource); the admin key does.
 */
export function auditRoutes(app: ZodApp, audit: AuditService): void {
  app.get('/v1/audit', {
    config: { access: 'manage' },
    schema: {
      operationId: 'listAuditEvents',
      tags: ['audit'],
      summary:
        'The audit log: who did what, newest first (the admin key: every tenant; a write key: its own)',
      querystring: AuditQuery,
      response: { 200: listOf(AuditEvent) },
    },
    handler: async (req) => {
      const q = req.query;
      const own = req.principal?.tenantId ?? null;
      if (own !== null && q.tenantId !== undefined && q.tenantId !== own)
        throw new AppError('forbidden', "A tenant key reads its own tenant's audit events only");
      const rows = await audit.list(
        {
          tenantId: own ?? q.tenantId,
          action: q.action,
          actorId: q.actor,
          targetId: q.targetId,
          since: utc(q.since),
          until: utc(q.until),
          tenantView: own !== null,
        },
        q.limit,
        decodeCursor(q.cursor),
      );
      const p = page(rows, q.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
}
