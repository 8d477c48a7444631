import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { isUnavailableError } from '../../db/errors';
import { problemBody } from '../../http/problem';
import { AppError } from '../../lib/errors';

/** The tus request being answered: its request id, and whether its answer is a problem+json body. */
interface TusRequestState {
  requestId?: string;
  problem: boolean;
  /** Seconds, for a 503 (the database away: e.g. a failover under way). */
  retryAfter?: string;
}

const current = new AsyncLocalStorage<TusRequestState>();
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/**
 * Runs one tus request so that an `AppError` thrown in a hook (a template that does not exist, invalid
 * Upload-Metadata, an empty upload) is answered as application/problem+json with its status and stable
 * code, like every API error, instead of @tus/server's 500. tus protocol errors (409 offset, 412, 413…)
 * keep @tus/server's plain-text answers, which is what tus clients read.
 */
export function runTusRequest(res: ServerResponse, requestId: string | undefined, fn: () => Promise<void>) {
  const state: TusRequestState = { requestId, problem: false };
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    if (state.problem) {
      const last = rest.length - 1;
      if (last >= 0 && typeof rest[last] !== 'string')
        rest[last] = withProblemType(rest[last], state.retryAfter);
      else rest.push(withProblemType(undefined, state.retryAfter));
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, [status, ...rest]);
  } as typeof res.writeHead;
  return current.run(state, fn);
}

/** Headers (an object, or a flat or paired array of raw headers) with their Content-Type replaced. */
function withProblemType(headers: unknown, retryAfter?: string): unknown {
  const isType = (k: unknown) => String(k).toLowerCase() === 'content-type';
  const extra: Array<[string, string]> = [['Content-Type', PROBLEM_TYPE]];
  if (retryAfter) extra.push(['Retry-After', retryAfter]);
  if (Array.isArray(headers)) {
    if (headers.length && Array.isArray(headers[0]))
      return [...(headers as unknown[][]).filter(([k]) => !isType(k)), ...extra];
    const out: unknown[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (!isType(headers[i])) out.push(headers[i], headers[i + 1]);
    return [...out, ...extra.flat()];
  }
  const out =
    headers && typeof headers === 'object'
      ? Object.fromEntries(Object.entries(headers).filter(([k]) => !isType(k)))
      : {};
  return { ...out, ...Object.fromEntries(extra) };
}

/**
 * The tus answer (status and problem+json body) of an `AppError`, or 503 + Retry-After when the database is
 * unavailable; undefined for any other error.
 */
export function tusProblem(err: unknown): { status_code: number; body: string } | undefined {
  if (isUnavailableError(err)) {
    // The database is away or read-only (a failover): the bytes are stored; the client retries.
    const state = current.getStore();
    if (state) state.retryAfter = '2';
    return tusProblem(
      new AppError('unavailable', 'The database is unavailable (failover under way); retry later'),
    );
  }
  if (!(err instanceof AppError)) return undefined;
  const state = current.getStore();
  if (state) state.problem = true;
  const body = problemBody(err.code, err.message, { errors: err.extra.errors, requestId: state?.requestId });
  return { status_code: err.status, body: JSON.stringify(body) };
}
