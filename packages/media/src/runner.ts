import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { MediaError } from './errors';
import { ffmpegSlots, type SlotPriority } from './slots';

/** One `-progress` report (emitted at each `progress=continue|end` line). */
export interface FfmpegProgress {
  /** Output time reached, in seconds (from `out_time_us`); 0 until known. */
  outTimeSec: number;
  /** Encoding speed relative to real time (`speed=1.5x` → 1.5); 0 until known. */
  speed: number;
  /** Frames output so far (0 for audio-only jobs). */
  frame: number;
  /** True on the last report (`progress=end`). */
  done: boolean;
}

export interface RunOptions {
  /** Hard limit: the process group gets SIGTERM, then SIGKILL after `killGraceMs`. Required. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Run under `nice -n <nice>` (0..19). */
  nice?: number;
  /**
   * Not injected here: the caller puts `-threads N` where it belongs in the argv (per output / filter).
   * Kept in the options so callers can pass one options object around.
   */
  threads?: number;
  /**
   * Progress callback. When given, the runner adds `-progress pipe:3 -nostats` and reads progress from an
   * extra file descriptor (fd 3), so stdout stays free for outputs written to `pipe:1`.
   */
  onProgress?: (p: FfmpegProgress) => void;
  cwd?: string;
  /** Binary to run; default `$VOD_FFMPEG_PATH` or `ffmpeg` on PATH. */
  ffmpegPath?: string;
  /** Delay between SIGTERM and SIGKILL on timeout/abort (default 2000 ms). */
  killGraceMs?: number;
  /** Capture stdout (e.g. `-f image2pipe pipe:1`) up to `maxStdoutBytes` (default 64 MiB). */
  captureStdout?: boolean;
  maxStdoutBytes?: number;
  /**
   * Streams stdout instead (for outputs too large to hold, e.g. raw frames of a long video): each chunk is
   * handed over as it arrives; when the callback returns a promise, stdout is paused until it settles (the
   * pipe fills and ffmpeg waits: backpressure). A chunk already read when stdout was paused can still arrive
   * before the promise settles: callers that need one call at a time chain them (analyzeMedia does). When
   * ffmpeg exits on its own, the run resolves only after every call has settled (all bytes handed over). A
   * throw or rejection stops ffmpeg and the run rejects with that error. Not combined with `captureStdout`.
   */
  onStdout?: (chunk: Buffer) => void | Promise<void>;
  /** Every stderr line as it arrives (CR and LF both end a line), besides the kept tail. */
  onStderrLine?: (line: string) => void;
  /**
   * Whose run this is when the process bound (`limitFfmpegProcesses`) makes runs wait: `interactive` (a
   * viewer waits: just-in-time segments, thumbnails) goes before `prefetch` (segments made before a viewer
   * asks), which goes before `background` (the default).
   */
  priority?: SlotPriority;
  /** When it resolves while the run still waits for a slot, the run waits as an interactive one from then on. */
  raise?: Promise<unknown>;
  /** Called with the process id once ffmpeg is spawned (it leads its own process group: signal `-pid`). */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  /** The tail of stderr (at most `STDERR_KEEP_BYTES`). */
  stderr: string;
  durationMs: number;
  /** Present when `captureStdout` was set. */
  stdout?: Buffer;
}

export interface ProbeRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  nice?: number;
  cwd?: string;
  /** Default `$VOD_FFPROBE_PATH`, else `ffprobe` next to `$VOD_FFMPEG_PATH`, else `ffprobe` on PATH. */
  ffprobePath?: string;
  killGraceMs?: number;
  /** Bound on the JSON text (default 16 MiB). */
  maxStdoutBytes?: number;
}

export interface ProbeRunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** How much of stderr is kept in memory (the tail). */
export const STDERR_KEEP_BYTES = 64 * 1024;
/** How much of the stderr tail goes into error messages. */
export const STDERR_MESSAGE_BYTES = 4 * 1024;

export function ffmpegBinary(explicit?: string): string {
  return explicit || process.env.VOD_FFMPEG_PATH || 'ffmpeg';
}

export function ffprobeBinary(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.VOD_FFPROBE_PATH) return process.env.VOD_FFPROBE_PATH;
  const ff = process.env.VOD_FFMPEG_PATH;
  if (ff && basename(ff).startsWith('ffmpeg')) {
    return join(dirname(ff), basename(ff).replace(/^ffmpeg/, 'ffprobe'));
  }
  return 'ffprobe';
}

/** Keeps the last `cap` bytes written to it (amortised: trims when twice the cap). */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    if (this.size > this.cap * 2) this.compact();
  }
  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const keep = all.subarray(Math.max(0, all.length - this.cap));
    this.chunks = [Buffer.from(keep)];
    this.size = keep.length;
  }
  text(): string {
    this.compact();
    return this.chunks[0]?.toString('utf8') ?? '';
  }
}

function tailForMessage(stderr: string): string {
  const t = stderr.trimEnd();
  if (Buffer.byteLength(t) <= STDERR_MESSAGE_BYTES) return t;
  return '…' + Buffer.from(t).subarray(-STDERR_MESSAGE_BYTES).toString('utf8');
}

interface SpawnSpec {
  tool: 'ffmpeg' | 'ffprobe';
  bin: string;
  args: string[];
  timeoutMs: number;
  signal?: AbortSignal;
  nice?: number;
  cwd?: string;
  killGraceMs?: number;
  captureStdout: boolean;
  maxStdoutBytes: number;
  progressFd: boolean;
  onProgressLine?: (line: string) => void;
  onStdout?: (chunk: Buffer) => void | Promise<void>;
  onStderrLine?: (line: string) => void;
  onSpawn?: (pid: number) => void;
}

/** Calls `onLine` with each complete line of the chunks pushed to it (`\n`, `\r\n` or `\r`). */
export function lineSplitter(onLine: (line: string) => void, maxPending = 64 * 1024): (b: Buffer) => void {
  let pending = '';
  return (b) => {
    pending += b.toString('utf8');
    const parts = pending.split(/\r\n|\n|\r/);
    pending = parts.pop() ?? '';
    for (const l of parts) onLine(l);
    if (pending.length > maxPending) pending = '';
  };
}

interface SpawnOutcome {
  stdout: Buffer;
  stderr: string;
  durationMs: number;
}

function runProcess(spec: SpawnSpec): Promise<SpawnOutcome> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (spec.signal?.aborted) {
      reject(new MediaError('aborted', `${spec.tool} not started: aborted`, { tool: spec.tool }));
      return;
    }
    let cmd = spec.bin;
    let argv = spec.args;
    if (spec.nice !== undefined && spec.nice !== 0) {
      argv = ['-n', String(Math.trunc(spec.nice)), spec.bin, ...spec.args];
      cmd = 'nice';
    }
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    if (spec.progressFd) stdio.push('pipe');
    // detached: the child leads its own process group, so a kill reaches everything it started.
    const child = spawn(cmd, argv, { cwd: spec.cwd, stdio, detached: true });
    if (child.pid !== undefined) spec.onSpawn?.(child.pid);

    const stderr = new TailBuffer(STDERR_KEEP_BYTES);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let overflow = false;
    let stopReason: 'timeout' | 'aborted' | 'output_too_large' | 'callback' | null = null;
    let callbackError: unknown;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    };
    const stop = (reason: 'timeout' | 'aborted' | 'output_too_large' | 'callback') => {
      if (stopReason || settled) return;
      stopReason = reason;
      // A paused stdout would hold 'close' back for ever: drain it (what is left is dropped).
      child.stdout?.resume();
      killGroup('SIGTERM');
      // A group stopped meanwhile (SIGSTOP: background work yielding to foreground work) handles nothing
      // until continued: without this it would wait for the SIGKILL below, which never comes if this
      // process exits first (the timer is unref'd), leaving a stopped orphan behind for good.
      killGroup('SIGCONT');
      killTimer = setTimeout(() => killGroup('SIGKILL'), spec.killGraceMs ?? 2000);
      killTimer.unref();
    };

    const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    const onAbort = () => stop('aborted');
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    const stderrLines = spec.onStderrLine ? lineSplitter(spec.onStderrLine) : null;
    child.stderr?.on('data', (b: Buffer) => {
      stderr.push(b);
      if (!stderrLines || stopReason) return;
      try {
        stderrLines(b);
      } catch (e) {
        callbackError = e;
        stop('callback');
      }
    });
    const onStdout = spec.onStdout;
    // onStdout calls still running when ffmpeg exits: the run ends once they have (every byte handed over).
    const inflight = new Set<Promise<void>>();
    child.stdout?.on('data', (b: Buffer) => {
      if (onStdout) {
        if (stopReason) return;
        let r: void | Promise<void>;
        try {
          r = onStdout(b);
        } catch (e) {
          callbackError = e;
          stop('callback');
          return;
        }
        if (r instanceof Promise) {
          child.stdout?.pause();
          const settledCall: Promise<void> = r.then(
            () => {
              if (!stopReason) child.stdout?.resume();
            },
            (e: unknown) => {
              callbackError = e;
              stop('callback');
            },
          );
          inflight.add(settledCall);
          void settledCall.finally(() => inflight.delete(settledCall));
        }
        return;
      }
      if (!spec.captureStdout) return;
      stdoutBytes += b.length;
      if (stdoutBytes > spec.maxStdoutBytes) {
        overflow = true;
        stop('output_too_large');
        return;
      }
      stdoutChunks.push(b);
    });
    if (spec.progressFd && spec.onProgressLine) {
      const progress = child.stdio[3];
      let pending = '';
      const onLine = spec.onProgressLine;
      progress?.on('data', (b: Buffer) => {
        pending += b.toString('utf8');
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          onLine(pending.slice(0, nl).trim());
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
        if (pending.length > 64 * 1024) pending = '';
      });
      progress?.on('error', () => {});
    }

    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      // Leave the SIGKILL timer running if the leader died but stragglers in its group may not have.
      if (!stopReason && killTimer) clearTimeout(killTimer);
      const durationMs = performance.now() - started;
      if (err) reject(err);
      else resolve({ stdout: Buffer.concat(stdoutChunks), stderr: stderr.text(), durationMs });
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(
        new MediaError('spawn_failed', `could not start ${cmd}: ${e.message}`, {
          tool: spec.tool,
          cause: e,
        }),
      );
    });
    child.on('close', (code, sig) => {
      // A run stopped (aborted, timed out, a callback failed) ends at once: a callback may never settle.
      if (inflight.size > 0 && !stopReason) {
        void Promise.allSettled([...inflight]).then(() => closed(code, sig));
        return;
      }
      closed(code, sig);
    });
    const closed = (code: number | null, sig: NodeJS.Signals | null) => {
      const text = stderr.text();
      const tail = tailForMessage(text);
      const details = { tool: spec.tool, exitCode: code, signal: sig, stderrTail: tail };
      if (stopReason === 'callback') {
        const e = callbackError;
        finish(e instanceof Error ? e : new Error(String(e)));
      } else if (stopReason === 'timeout') {
        finish(
          new MediaError('timeout', `${spec.tool} timed out after ${spec.timeoutMs} ms\n${tail}`, details),
        );
      } else if (stopReason === 'aborted') {
        finish(new MediaError('aborted', `${spec.tool} aborted\n${tail}`, details));
      } else if (stopReason === 'output_too_large' || overflow) {
        finish(
          new MediaError(
            'output_too_large',
            `${spec.tool} wrote more than ${spec.maxStdoutBytes} bytes to stdout`,
            details,
          ),
        );
      } else if (code !== 0) {
        finish(
          new MediaError(
            'ffmpeg_failed',
            `${spec.tool} exited with ${code ?? `signal ${sig}`}\n${tail}`,
            details,
          ),
        );
      } else {
        finish(null);
      }
    };
  });
}

function parseProgress(onProgress: (p: FfmpegProgress) => void): (line: string) => void {
  const cur: FfmpegProgress = { outTimeSec: 0, speed: 0, frame: 0, done: false };
  return (line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    switch (key) {
      case 'frame': {
        const n = Number.parseInt(value, 10);
        if (Number.isFinite(n)) cur.frame = n;
        break;
      }
      case 'out_time_us': {
        const n = Number(value);
        if (Number.isFinite(n) && n >= 0) cur.outTimeSec = n / 1e6;
        break;
      }
      case 'speed': {
        const n = Number.parseFloat(value.replace(/x$/, ''));
        if (Number.isFinite(n)) cur.speed = n;
        break;
      }
      case 'progress':
        cur.done = value === 'end';
        try {
          onProgress({ ...cur });
        } catch {
          /* a throwing callback must not kill the job */
        }
        break;
    }
  };
}

/**
 * Runs ffmpeg with `args` (no shell). Always adds `-hide_banner -nostdin`; with `onProgress`, also
 * `-progress pipe:3 -nostats`. Rejects with `MediaError` (`timeout` | `aborted` | `ffmpeg_failed` |
 * `spawn_failed` | `output_too_large`); the message carries the last ~4 KB of stderr. A failing `onStdout` /
 * `onStderrLine` stops ffmpeg and the run rejects with the callback's error.
 */
export async function runFfmpeg(args: string[], opts: RunOptions): Promise<RunResult> {
  const pre = ['-hide_banner', '-nostdin'];
  if (opts.onProgress) pre.push('-progress', 'pipe:3', '-nostats');
  // The node-wide process bound: the wait for a slot is not part of timeoutMs (the signal ends it).
  const release = await ffmpegSlots.acquire(opts.priority, opts.signal, opts.raise);
  const out = await runProcess({
    tool: 'ffmpeg',
    bin: ffmpegBinary(opts.ffmpegPath),
    args: [...pre, ...args],
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    nice: opts.nice,
    cwd: opts.cwd,
    killGraceMs: opts.killGraceMs,
    captureStdout: opts.captureStdout ?? false,
    maxStdoutBytes: opts.maxStdoutBytes ?? 64 * 1024 * 1024,
    progressFd: !!opts.onProgress,
    onProgressLine: opts.onProgress ? parseProgress(opts.onProgress) : undefined,
    onStdout: opts.onStdout,
    onStderrLine: opts.onStderrLine,
    onSpawn: opts.onSpawn,
  }).finally(release);
  const res: RunResult = { stderr: out.stderr, durationMs: out.durationMs };
  if (opts.captureStdout) res.stdout = out.stdout;
  return res;
}

/** Runs ffprobe with `args` (add `-of json` yourself); resolves with stdout as text. */
export async function runFfprobe(args: string[], opts: ProbeRunOptions): Promise<ProbeRunResult> {
  const out = await runProcess({
    tool: 'ffprobe',
    bin: ffprobeBinary(opts.ffprobePath),
    args: ['-hide_banner', ...args],
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    nice: opts.nice,
    cwd: opts.cwd,
    killGraceMs: opts.killGraceMs,
    captureStdout: true,
    maxStdoutBytes: opts.maxStdoutBytes ?? 16 * 1024 * 1024,
    progressFd: false,
  });
  return { stdout: out.stdout.toString('utf8'), stderr: out.stderr, durationMs: out.durationMs };
}
