/**
 * Stable error codes of the process layer. `invalid_input`: an input is not usable media (thrown before
 * any ffmpeg run, e.g. by `concatMedia` for a part ffprobe cannot read); retrying will not help.
 */
export type MediaErrorCode =
  | 'timeout'
  | 'aborted'
  | 'ffmpeg_failed'
  | 'spawn_failed'
  | 'output_too_large'
  | 'invalid_input';

export interface MediaErrorDetails {
  tool?: 'ffmpeg' | 'ffprobe';
  exitCode?: number | null;
  signal?: string | null;
  /** Last few KB of stderr (also included in `message`). */
  stderrTail?: string;
  cause?: unknown;
}

/** Thrown (rejected) by the runners. `code` is stable; the message is for humans and logs. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  readonly tool: 'ffmpeg' | 'ffprobe';
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;

  constructor(code: MediaErrorCode, message: string, details: MediaErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MediaError';
    this.code = code;
    this.tool = details.tool ?? 'ffmpeg';
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.stderrTail = details.stderrTail ?? '';
  }
}

export function isMediaError(e: unknown): e is MediaError {
  return e instanceof MediaError;
}
