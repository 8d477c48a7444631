import { AppError, ERROR_STATUS, type ErrorCode } from '../../lib/errors';

/** An RPC failure, carrying the platform's error code; `retriable` errors may be failed over. */
export class RpcError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retriable: boolean,
    readonly instance?: string,
  ) {
    super(code, message);
    this.name = 'RpcError';
  }
}

export function deadlineError(service: string, method: string, instance?: string): RpcError {
  return new RpcError('unavailable', `deadline exceeded calling ${service}.${method}`, false, instance);
}

export function codeFor(status: number): ErrorCode {
  for (const [code, s] of Object.entries(ERROR_STATUS)) if (s === status) return code as ErrorCode;
  return status >= 500 ? 'internal' : 'bad_request';
}

export function toRpcError(err: unknown, service: string, method: string, instance: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof AppError) return new RpcError(err.code, err.message, false, instance);
  return new RpcError(
    'internal',
    `${service}.${method} on ${instance}: ${(err as Error).message}`,
    true,
    instance,
  );
}
