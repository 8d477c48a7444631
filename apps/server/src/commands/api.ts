// What the commands that talk to a vodcloud API share: where the API is and the key (the same --api/--key
// and VODCLOUD_API/VODCLOUD_API_KEY as `vodcloud upload`), one fetch wrapper that turns a problem+json
// answer into an ApiError, the exit codes, and one way to print a result or an error (--json: one JSON
// document on stdout; human text on stdout, progress and messages on stderr).
import { type Command, CommanderError } from 'commander';

/** Exit codes of every command (docs/operations.md, "CLI"). */
export const EXIT = {
  ok: 0,
  /** Anything else: the API answered an error, could not be reached, a doctor check failed. */
  error: 1,
  /** Bad arguments or options, a missing --api/--key, `videos delete` without --yes off a terminal. */
  usage: 2,
  /** The API answered 404: no such video (in the key's tenant). */
  notFound: 3,
  /** `videos wait` ran out of time. */
  timeout: 4,
  /** `videos wait`: the video errored (or was blocked) instead of reaching the state. */
  videoFailed: 5,
  /** The API refused the key: 401 (unknown, revoked) or 403 (scope: e.g. `status` needs an admin key). */
  auth: 6,
} as const;

/** An error answer of the API (application/problem+json), with what an operator needs to report it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly requestId: string | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
  get exitCode(): number {
    if (this.status === 404) return EXIT.notFound;
    if (this.status === 401 || this.status === 403) return EXIT.auth;
    return EXIT.error;
  }
}

/** A failure the command itself decides (timeout, video errored, refused): message, code and exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
    /** Further fields of the --json error document (e.g. the video as last seen). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ApiOptions {
  api?: string;
  key?: string;
  json?: boolean;
}

/** Adds --api, --key and --json to a command. */
export function withApiOptions(cmd: Command, keyHelp = 'an API key (default: $VODCLOUD_API_KEY)'): Command {
  return cmd
    .option('--api <url>', 'the API base URL (default: $VODCLOUD_API)')
    .option('--key <key>', keyHelp)
    .option('--json', 'print one JSON document on stdout (messages and progress go to stderr)');
}

export class ApiClient {
  constructor(
    readonly base: string,
    private readonly key: string,
  ) {}

  async request<T>(method: string, path: string, query: Record<string, string | number | undefined> = {}) {
    const url = new URL(path, `${this.base.replace(/\/+$/, '')}/`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.key}`, accept: 'application/json' },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the API at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        'unreachable',
        EXIT.error,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let body: { code?: string; detail?: string; requestId?: string } = {};
      try {
        body = JSON.parse(text);
      } catch {
        // not problem+json (a proxy's page): the status says enough
      }
      throw new ApiError(
        res.status,
        body.code ?? `http_${res.status}`,
        body.detail ?? (text.slice(0, 200) || res.statusText),
        body.requestId ?? res.headers.get('x-request-id') ?? undefined,
        method,
        url.pathname,
      );
    }
    return (text ? JSON.parse(text) : null) as T;
  }

  get<T>(path: string, query?: Record<string, string | number | undefined>) {
    return this.request<T>('GET', path, query);
  }
}

/** The API client from --api/--key or the environment; a usage error (exit 2) when either is missing. */
export function clientFrom(opts: ApiOptions): ApiClient {
  const api = opts.api ?? process.env.VODCLOUD_API;
  const key = opts.key ?? process.env.VODCLOUD_API_KEY;
  if (!api) throw usage('give the API base URL with --api URL or VODCLOUD_API');
  if (!key) throw usage('give an API key with --key KEY or VODCLOUD_API_KEY');
  return new ApiClient(api, key);
}

export const usage = (message: string) => new CliError(message, 'usage', EXIT.usage);

export const say = (line: string) => process.stderr.write(`${line}\n`);

/** Prints the result: the JSON document with --json, else the human text (on stdout either way). */
export function emit(json: boolean | undefined, doc: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : human());
}

/** The --json error document and the stderr line of an error; returns the exit code. */
export function report(err: unknown, json: boolean | undefined): number {
  if (err instanceof ApiError) {
    say(
      `error: ${err.detail} (${err.code}, HTTP ${err.status} on ${err.method} ${err.path}` +
        `${err.requestId ? `, request id ${err.requestId}` : ''})`,
    );
    if (json) {
      const { status, code, detail, requestId } = err;
      emit(true, { error: { code, status, detail, requestId: requestId ?? null } }, () => '');
    }
    return err.exitCode;
  }
  if (err instanceof CliError) {
    say(`error: ${err.message}`);
    if (json) emit(true, { error: { code: err.code, detail: err.message }, ...err.extra }, () => '');
    return err.exitCode;
  }
  if (err instanceof CommanderError) throw err;
  say(`error: ${(err as Error).message}`);
  if (json) emit(true, { error: { code: 'error', detail: (err as Error).message } }, () => '');
  return EXIT.error;
}

/** Wraps an action: whatever it throws is reported (with --json as a document too) and sets the exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a): a is ApiOptions => typeof a === 'object' && a !== null && !Array.isArray(a));
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      process.exitCode = report(err, opts?.json);
    }
  };
}
