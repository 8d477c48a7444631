import type { IncomingMessage } from 'node:http';

/**
 * What a route says about its audit event (`config.audit`): its action, a stable dotted name, or why it is
 * not recorded. Every write route (POST, PUT, PATCH, DELETE) and every admin route must say one or the
 * other (audit.test.ts walks the route table); one that does not is still recorded, under an action
 * derived from its method and pattern.
 */
export type AuditConfig =
  | string
  | {
      action: string;
      /** The target's type; default: the action's first part (`video` of `video.update`). */
      target?: string;
      /** The path parameter holding the target's id; default: a `*.create` takes the response's `id`, others `id`. */
      idParam?: string;
      /** The path parameter holding the tenant an admin action concerns (e.g. `id` of /v1/tenants/:id/…). */
      tenantParam?: string;
    }
  | { skip: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditConfig;
  }
}

/** `cli`: the command line (its id the OS user); `user`: a signed-in user of the console (a session). */
export type ActorKind = 'api_key' | 'upload_token' | 'anonymous' | 'cli' | 'user';

/** Facts a handler knows that the audit hook cannot infer (e.g. the tus endpoint's caller). */
export interface AuditNote {
  actor?: { kind: ActorKind; id: string | null; email?: string };
  tenantId?: string;
  targetId?: string;
  detail?: Record<string, string | number | boolean>;
}

const NOTE = Symbol.for('vodcloud.audit.note');
type Noted = IncomingMessage & { [NOTE]?: AuditNote };

/** Adds facts to the audit event of the request (merged with earlier notes). */
export function noteAudit(raw: IncomingMessage, note: AuditNote): void {
  const r = raw as Noted;
  const prev = r[NOTE];
  r[NOTE] = { ...prev, ...note, detail: { ...prev?.detail, ...note.detail } };
}

export function auditNoteOf(raw: IncomingMessage): AuditNote | undefined {
  return (raw as Noted)[NOTE];
}
