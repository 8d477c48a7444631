import type { IncomingMessage } from 'node:http';
import { ERRORS } from '@tus/utils';
import type { Config } from '../../config';
import type { UploadsTable } from '../../db/schema';
import { type AuditNote, noteAudit } from '../audit';
import type { TenantService } from '../tenants/service';
import { UPLOAD_TOKEN_PREFIX, type UploadService } from './service';

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
/** A tus URL's id: `tenant.video`. */
export const URL_ID = new RegExp(`^(${ULID})\\.(${ULID})$`);
/** A tus upload id: the source's object key `tenant/video/source`. */
export const TUS_ID = new RegExp(`^(${ULID})/(${ULID})/source$`);

/** tus errors are `{status_code, body}`; the body is plain text for tus clients. */
export const fail = (status_code: number, body: string) => ({ status_code, body: `${body}\n` });

export interface Caller {
  tenantId: string;
  /** Set when the caller used an upload token: the one upload it may touch. */
  upload?: UploadsTable;
  /** Who, for the audit log: the API key, or the upload whose token was used. */
  actor: NonNullable<AuditNote['actor']>;
}

/**
 * Tells the audit log (modules/audit) who made a tus request and which upload it touched: @tus/server
 * wraps the Node request, and the audit hook reads its notes from the Node request.
 */
export function noteTusCaller(req: Request, caller: Caller, upload?: UploadsTable): void {
  const raw = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;
  if (!raw) return;
  noteAudit(raw, {
    actor: caller.actor,
    tenantId: caller.tenantId,
    ...(upload ? { targetId: upload.id, detail: { videoId: upload.video_id } } : {}),
  });
}

/**
 * Who may do what on the tus endpoint: the caller behind a request (an upload token or a write API key,
 * remembered per request), the upload rows it may touch, and the largest upload it may make.
 */
export function tusAccess(uploads: UploadService, tenants: TenantService, config: Config) {
  const callers = new WeakMap<Request, Caller>();

  const authenticate = async (req: Request): Promise<Caller> => {
    const known = callers.get(req);
    if (known) return known;
    const header = req.headers.get('authorization') ?? '';
    const m = /^bearer +(\S+)$/i.exec(header); // the scheme is case-insensitive (RFC 7235)
    if (!m) throw fail(401, 'Send Authorization: Bearer <upload token or API key>');
    const credential = m[1]!;
    let caller: Caller;
    if (credential.startsWith(UPLOAD_TOKEN_PREFIX)) {
      const upload = await uploads.byToken(credential);
      if (!upload) throw fail(401, 'The upload token is unknown or expired');
      caller = { tenantId: upload.tenant_id, upload, actor: { kind: 'upload_token', id: upload.id } };
    } else {
      const principal = await tenants.authenticate(credential);
      if (!principal?.tenantId) throw fail(401, 'The API key is unknown or revoked');
      if (!principal.scopes.includes('write')) throw fail(403, 'This API key is read-only');
      caller = { tenantId: principal.tenantId, actor: { kind: 'api_key', id: principal.keyId } };
    }
    callers.set(req, caller);
    noteTusCaller(req, caller, caller.upload);
    return caller;
  };

  /** The upload row behind a tus id, if this caller may touch it; 404 otherwise, never saying which. */
  const authorize = async (req: Request, tusId: string): Promise<UploadsTable> => {
    const caller = await authenticate(req);
    const m = TUS_ID.exec(tusId);
    const row = m && m[1] === caller.tenantId ? await uploads.byTusId(tusId) : undefined;
    if (!row || (caller.upload && caller.upload.id !== row.id)) throw ERRORS.FILE_NOT_FOUND;
    if (row.status === 'expired' || row.status === 'cancelled') throw ERRORS.FILE_NO_LONGER_EXISTS;
    if (row.expires_at < new Date().toISOString() && row.status !== 'complete')
      throw ERRORS.FILE_NO_LONGER_EXISTS;
    noteTusCaller(req, caller, row);
    return row;
  };

  const limitFor = async (tenantId: string, row: UploadsTable | undefined) => {
    const remaining = await uploads.remainingQuota(tenantId);
    const own = row ? Number(row.max_size_bytes) : config.uploadMaxBytes;
    return Math.min(own, config.uploadMaxBytes, remaining);
  };

  return { callers, authenticate, authorize, limitFor };
}
