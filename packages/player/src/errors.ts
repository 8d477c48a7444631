// What `player.error` holds and the `error` event carries: a MediaError-like { code, message } with the
// HTTP status and the hls.js detail when there is one. Made from hls.js fatal errors, from the <video>
// element's own MediaError, and from the player's checks.
import type { ErrorData } from 'hls.js';

/** MediaError codes (1 aborted, 2 network, 3 decode, 4 source not supported, 5 encrypted). */
export type VodPlayerErrorCode = 1 | 2 | 3 | 4 | 5;

export interface VodPlayerError {
  code: VodPlayerErrorCode;
  /** A sentence for people (shown in the player's error overlay). */
  message: string;
  /** The HTTP status of the request that failed (403: the token is missing, expired or refused). */
  status?: number;
  /** hls.js's `details` (e.g. `manifestLoadError`), or `mediaError` for the <video> element's own. */
  details?: string;
}

const byStatus = (status: number) =>
  status === 401 || status === 403
    ? `This video cannot be played here (HTTP ${status}): it needs a valid playback token, or this site is not allowed to play it.`
    : status === 404
      ? 'This video does not exist or cannot be played yet (HTTP 404).'
      : `Loading the video failed (HTTP ${status}).`;

/** The error of a fatal hls.js error. */
export function fromHls(d: ErrorData): VodPlayerError {
  const status = d.response?.code || undefined; // 0: no response (offline, CORS)
  const t: string = d.type;
  const code: VodPlayerErrorCode =
    t === 'networkError' ? 2 : t === 'mediaError' ? 3 : t === 'keySystemError' ? 5 : 4;
  const message =
    status !== undefined
      ? byStatus(status)
      : code === 2
        ? `The video could not be loaded: the network failed (${d.details}).`
        : code === 3
          ? `The video could not be decoded (${d.details}).`
          : `The video could not be played (${d.details}).`;
  return { code, message, ...(status !== undefined ? { status } : {}), details: d.details };
}

/** The error of the <video> element (native HLS, or a failure hls.js did not report). */
export function fromMedia(e: MediaError | null, status?: number): VodPlayerError {
  const code = (e?.code ?? 4) as VodPlayerErrorCode;
  const message =
    status !== undefined && status >= 400
      ? byStatus(status)
      : `The video could not be played (media error ${code}${e?.message ? `: ${e.message}` : ''}).`;
  return { code, message, ...(status !== undefined ? { status } : {}), details: 'mediaError' };
}
