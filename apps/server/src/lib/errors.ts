/** Stable error codes of the public contract (api.md) plus the media ones. */
export const ERROR_STATUS = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  validation_failed: 400,
  bad_request: 400,
  conflict: 409,
  gone: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  unsupported_media: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  // After the others, so that codeFor(status) (rpc/errors.ts) keeps the general code of a shared status.
  uri_too_long: 414,
  idempotency_key_invalid: 400,
  idempotency_key_in_progress: 409,
  idempotency_key_reused: 422,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`);
