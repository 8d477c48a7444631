/** Codes the SDK itself gives, besides the server's problem codes (`not_found`, `validation_failed`, …). */
export type LocalErrorCode =
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'invalid_signature'
  | 'video_errored'
  | 'upload_failed'
  | 'invalid_response'
  | 'invalid_key';

/** One field that failed validation (`errors` of a `validation_failed` problem). */
export interface FieldError {
  path: string;
  message: string;
}

export interface VodCloudErrorInit {
  /** The HTTP status; undefined when no response was received (network, timeout, a local check). */
  status?: number;
  code: string;
  detail: string;
  requestId?: string;
  title?: string;
  errors?: FieldError[];
  /** Seconds the server asked to wait (`Retry-After`), on 429 and 503. */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * Every error of the SDK: an API error (from the `application/problem+json` body and `x-request-id`),
 * a network failure or timeout, a failed upload, a video that errored while waited for, or a webhook
 * whose signature does not verify.
 */
export class VodCloudError extends Error {
  override name = 'VodCloudError';
  readonly status: number | undefined;
  /** A stable code: the server's problem `code`, or one of LocalErrorCode. */
  readonly code: string;
  readonly detail: string;
  /** The server's request id: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  readonly title: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(init: VodCloudErrorInit) {
    super(
      `${init.status ? `${init.status} ` : ''}${init.code}: ${init.detail}${init.requestId ? ` (request ${init.requestId})` : ''}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.requestId = init.requestId;
    this.title = init.title;
    this.errors = init.errors;
    this.retryAfter = init.retryAfter;
  }

  /** The error of a non-2xx response, from its problem+json body when it has one. */
  static fromResponse(response: Response, body?: unknown): VodCloudError {
    const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    return new VodCloudError({
      status: response.status,
      code: str(p.code) ?? `http_${response.status}`,
      detail:
        str(p.detail) ??
        str(p.message) ??
        (typeof body === 'string' && body ? body.slice(0, 500) : response.statusText || 'request failed'),
      requestId: str(p.requestId) ?? response.headers.get('x-request-id') ?? undefined,
      title: str(p.title),
      errors: Array.isArray(p.errors) ? (p.errors as FieldError[]) : undefined,
      retryAfter: retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000),
    });
  }
}

/** `Retry-After` (delta seconds or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
