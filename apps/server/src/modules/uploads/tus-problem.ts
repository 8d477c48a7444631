import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { problemBody } from '../../http/problem';
import { AppError } from '../../lib/errors';

/** The tus request being answered: its request id, and whether its answer is a problem+json body. */
interface TusRequestState {
  requestId?: string;
  problem: boolean;
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
      if (last >= 0 && typeof rest[last] !== 'string') rest[last] = withProblemType(rest[last]);
      else rest.push(withProblemType(undefined));
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, [status, ...rest]);
  } as typeof res.writeHead;
  return current.run(state, fn);
}

/** Headers (an object, or a flat or paired array of raw headers) with their Content-Type replaced. */
function withProblemType(headers: unknown): unknown {
  const isType = (k: unknown) => String(k).toLowerCase() === 'content-type';
  if (Array.isArray(headers)) {
    if (headers.length && Array.isArray(headers[0]))
      return [...(headers as unknown[][]).filter(([k]) => !isType(k)), ['Content-Type', PROBLEM_TYPE]];
    const out: unknown[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (!isType(headers[i])) out.push(headers[i], headers[i + 1]);
    return [...out, 'Content-Type', PROBLEM_TYPE];
  }
  if (headers && typeof headers === 'object') {
    const out = Object.fromEntries(Object.entries(headers).filter(([k]) => !isType(k)));
    return { ...out, 'Content-Type': PROBLEM_TYPE };
  }
  return { 'Content-Type': PROBLEM_TYPE };
}

/** The tus answer (status and problem+json body) of an `AppError`; undefined for any other error. */
export function tusProblem(err: unknown): { status_code: number; body: string } | undefined {
  if (!(err instanceof AppError)) return undefined;
  const state = current.getStore();
  if (state) state.problem = true;
  const body = problemBody(err.code, err.message, { errors: err.extra.errors, requestId: state?.requestId });
  return { status_code: err.status, body: JSON.stringify(body) };
}
