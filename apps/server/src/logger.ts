import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * What work is in progress: the request being handled (`{ reqId }`, http/request-log.ts) or the job being
 * run (`{ job, jobId, videoId, tenantId }`, jobs/jobs.ts). Every line logged in its course through a logger
 * that does not say so itself carries these fields (services log with the process's root logger).
 */
const logFields = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` with `fields` on every line it logs (replacing the fields of an enclosing request or job). */
export function withLogFields<T>(fields: Record<string, unknown>, fn: () => T): T {
  return logFields.run(fields, fn);
}

/** Marks a logger (and the children it makes) whose own bindings already name its work (Fastify's per-request loggers). */
export const OWN_CONTEXT = Symbol('vodcloud.ownLogContext');

export interface LoggerOptions {
  level: string;
  /** json: one JSON object a line; pretty: human-readable; auto (default): pretty when stdout is a terminal. */
  format?: LogFormat;
  name?: string;
  /** Where lines go (default stdout); tests pass a stream. */
  destination?: DestinationStream;
  /** Whether stdout is a terminal (default: process.stdout.isTTY). */
  isTTY?: boolean;
}

/** Whether the given format and terminal make human-readable lines. */
export function isPretty(format: LogFormat = 'auto', isTTY = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

/**
 * The process's logger. JSON lines for log shippers; on a terminal (or VOD_LOG_FORMAT=pretty) one readable
 * line per record from pino-pretty, run in this thread (no transport worker: nothing to start, no second
 * heap) and loaded only then.
 */
export async function createLogger(o: LoggerOptions): Promise<Logger> {
  const options: pino.LoggerOptions = {
    name: o.name ?? 'vodcloud',
    level: o.level,
    base: { pid: process.pid },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.secret', '*.key'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: (_obj: object, _level: number, logger: unknown) =>
      (logger as Record<symbol, unknown>)[OWN_CONTEXT] ? {} : { ...logFields.getStore() },
  };
  if (!isPretty(o.format, o.isTTY ?? process.stdout.isTTY === true))
    return o.destination ? pino(options, o.destination) : pino(options);
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    colorize: o.destination ? false : undefined, // undefined: colours when the terminal supports them
    destination: o.destination ?? 1,
    sync: true, // written before the process exits (serve exits right after "stopped")
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,reqId,adminApiKey', // reqId leads the message; the key is in it
    messageFormat: '{if reqId}[{reqId}] {end}{msg}',
    hideObject: false,
  });
  return pino(options, stream);
}
