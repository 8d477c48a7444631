import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isConnectionError, isReadOnlyError } from '../db/errors';
import { AppError, ERROR_STATUS, type ErrorCode, type FieldError } from '../lib/errors';

const TITLES: Record<ErrorCode, string> = {
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not Found',
  method_not_allowed: 'Method Not Allowed',
  validation_failed: 'Validation Failed',
  bad_request: 'Bad Request',
  conflict: 'Conflict',
  gone: 'Gone',
  precondition_failed: 'Precondition Failed',
  payload_too_large: 'Payload Too Large',
  range_not_satisfiable: 'Range Not Satisfiable',
  unsupported_media: 'Unsupported Media Type',
  rate_limited: 'Too Many Requests',
  internal: 'Internal Server Error',
  unavailable: 'Service Unavailable',
  uri_too_long: 'URI Too Long',
  idempotency_key_invalid: 'Invalid Idempotency-Key',
  idempotency_key_in_progress: 'Idempotent Request In Progress',
  idempotency_key_reused: 'Idempotency-Key Reused',
};

/** The application/problem+json body of an error (for answers written outside Fastify, e.g. the tus endpoint). */
export function problemBody(
  code: ErrorCode,
  detail: string,
  extra: { errors?: FieldError[]; requestId?: string } = {},
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: `https://vodcloud.dev/problems/${code}`,
    title: TITLES[code],
    status: ERROR_STATUS[code],
    detail,
    code,
  };
  if (extra.requestId) body.requestId = extra.requestId;
  if (extra.errors) body.errors = extra.errors;
  return body;
}

export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
): FastifyReply {
  const status = ERROR_STATUS[code];
  if (extra.headers) for (const [k, v] of Object.entries(extra.headers)) reply.header(k, v);
  const body: Record<string, unknown> = {
    type: `https://vodcloud.dev/problems/${code}`,
    title: TITLES[code],
    status,
    detail,
    code,
    requestId: String(reply.request.id),
  };
  if (extra.errors) body.errors = extra.errors;
  // Sent as a preserialised string so a response schema on the route never applies to errors.
  return reply
    .code(status)
    .type('application/problem+json; charset=utf-8')
    .serializer((p: unknown) => JSON.stringify(p))
    .send(body);
}

function zodPath(
  issue: { instancePath?: string; params?: { issue?: { path?: PropertyKey[] } } },
  where: string,
): string {
  const p = issue.params?.issue?.path;
  if (Array.isArray(p) && p.length) return [where, ...p.map(String)].join('.');
  const ip = issue.instancePath?.replace(/^\//, '').replaceAll('/', '.');
  return ip ? `${where}.${ip}` : where;
}

/** Maps every error to application/problem+json; never leaks a stack trace. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof AppError) return sendProblem(reply, err.code, err.message, err.extra);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    // An id in the path that cannot exist is a missing resource, like another tenant's.
    if (where === 'params') return sendProblem(reply, 'not_found', 'Resource not found');
    const errors = err.validation.map((v) => ({
      path: zodPath(v as never, where === 'querystring' ? 'query' : where),
      message: v.message ?? 'invalid',
    }));
    return sendProblem(
      reply,
      'validation_failed',
      `The request ${where === 'querystring' ? 'query' : where} is invalid`,
      { errors },
    );
  }
  if (isResponseSerializationError(err)) {
    req.log.error({ err, issues: err.cause?.issues }, 'response did not match its schema');
    return sendProblem(reply, 'internal', 'The server produced an invalid response');
  }
  if (isConnectionError(err)) {
    req.log.warn({ err: err.message }, 'database unavailable');
    return sendProblem(reply, 'unavailable', 'The database is unreachable; retry later', {
      headers: { 'retry-after': '5' },
    });
  }
  if (isReadOnlyError(err)) {
    // No writable primary (it failed and no replica was promoted yet): reads go on, writes wait.
    req.log.warn({ err: err.message }, 'database read-only');
    return sendProblem(
      reply,
      'unavailable',
      'The database takes no writes now (failover under way); retry later',
      {
        headers: { 'retry-after': '2' },
      },
    );
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 'payload_too_large', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(
        reply,
        'unsupported_media',
        `Unsupported Content-Type ${req.headers['content-type'] ?? ''}`.trim(),
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 'validation_failed', 'The JSON body is empty', {
        errors: [{ path: 'body', message: 'empty' }],
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendProblem(reply, 'validation_failed', 'The body is not valid JSON', {
        errors: [{ path: 'body', message: err.message }],
      });
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return sendProblem(reply, 'validation_failed', 'The body is not valid JSON', {
      errors: [{ path: 'body', message: err.message }],
    });
  }
  if (err.statusCode === 429) return sendProblem(reply, 'rate_limited', err.message || 'Too many requests');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code: ErrorCode =
      err.statusCode === 404
        ? 'not_found'
        : err.statusCode === 413
          ? 'payload_too_large'
          : err.statusCode === 415
            ? 'unsupported_media'
            : 'bad_request';
    return sendProblem(reply, code, err.message);
  }
  req.log.error({ err }, 'unhandled error');
  return sendProblem(reply, 'internal', 'An internal error occurred');
}
