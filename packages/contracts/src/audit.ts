import { z } from 'zod';
import { Id, IsoTime } from './common';

/** The audit log (GET /v1/audit): who did what, one event per write or admin request. */

const isoInput = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

export const AuditActorKind = z
  .enum(['api_key', 'upload_token', 'anonymous', 'cli', 'user'])
  .describe(
    '`api_key`: the key whose id is `actor.id`; `upload_token`: the upload token of upload `actor.id` (tus); ' +
      '`anonymous`: refused before any key was known; `cli`: the command line (`id`: the OS user); ' +
      "`user`: a user signed in with a session (`id`: the user's id, `email` beside it)",
  );

export const AuditEvent = z
  .object({
    id: Id,
    at: IsoTime,
    tenantId: Id.nullable().describe('The tenant the action concerns; null for platform actions'),
    actor: z.object({
      kind: AuditActorKind,
      id: z.string().nullable(),
      email: z.string().optional().describe("A `user`'s email when the event was recorded"),
    }),
    action: z.string().describe('A stable dotted name, e.g. `video.create`, `api_key.revoke`'),
    target: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
    method: z.string(),
    route: z.string().describe('The route pattern, e.g. `/v1/videos/:id`'),
    status: z.number().int().describe('The HTTP status answered'),
    requestId: z.string(),
    address: z.string().nullable().describe("The client's address as the server saw it"),
    detail: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe(
        'A small object: the error `code` of a refusal, related ids (e.g. `videoId`); never a secret',
      ),
  })
  .meta({ id: 'AuditEvent' });

export const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
    tenantId: Id.optional().describe(
      "The platform admin key: one tenant's events; a tenant key: its own only",
    ),
    action: z.string().min(1).max(64).optional(),
    actor: z.string().min(1).max(64).optional().describe("The actor's id (an API key's or a user's id)"),
    targetId: z.string().min(1).max(64).optional(),
    since: isoInput.optional().describe('Events at or after this time'),
    until: isoInput.optional().describe('Events before this time'),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;
