/** Errors of the URL import fetcher (and the HLS import, hls.ts), and the wording of sizes and durations in their messages. */

export type FetchErrorCode =
  | 'forbidden_address'
  | 'bad_url'
  | 'too_many_redirects'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'not_media'
  | 'unsupported_playlist'
  | 'network';

export const FETCH_ERROR_CODES: readonly FetchErrorCode[] = [
  'forbidden_address',
  'bad_url',
  'too_many_redirects',
  'http_status',
  'too_large',
  'timeout',
  'not_media',
  'unsupported_playlist',
  'network',
];

/** A failure to fetch the URL. `message` is meant for the user (it says why, never includes credentials). */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  readonly code: FetchErrorCode;
  /** The URL being fetched when it failed (after redirects), when there was a valid one. */
  readonly url: string | undefined;
  /** HTTP status, for `http_status`. */
  readonly status: number | undefined;

  constructor(
    code: FetchErrorCode,
    message: string,
    options?: { url?: string; status?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.url = options?.url;
    this.status = options?.status;
  }
}

export function isFetchError(err: unknown, code?: FetchErrorCode): err is FetchError {
  return err instanceof FetchError && (code === undefined || err.code === code);
}

/** Any error of a request or a body, as the FetchError the caller sees (network unless it is one already). */
export function toFetchError(err: unknown, url: URL): FetchError {
  if (err instanceof FetchError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  let what: string;
  switch (code) {
    case 'ECONNREFUSED':
      what = `the connection to ${url.host} was refused`;
      break;
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      what = `the connection to ${url.host} was closed before the download finished`;
      break;
    case 'ETIMEDOUT':
      what = `the connection to ${url.host} timed out`;
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${url.host} is unreachable`;
      break;
    default:
      what = `the download from ${url.host} failed: ${e?.message ?? String(err)}${code ? ` (${code})` : ''}`;
  }
  return new FetchError('network', what, { url: url.href, cause: err });
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
