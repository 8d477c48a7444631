// The moderation classifier (issue 18): nsfwjs's MobileNetV2 in a worker thread (model-worker.mjs), so that
// the ~60 ms a frame of inference never blocks the event loop. One worker per Classifier, started on the first
// call and stopped after `idleMs` without work; one batch in the worker at a time, the other calls queued.
// A worker that dies, fails to load or fails on a batch rejects with a ModelError (`code: 'model_failed'`);
// the next call starts a fresh worker — nothing sticks.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/** The model's name in moderation results. */
export const MODEL_NAME = 'nsfwjs-mobilenet_v2';
/** The side of the square RGB frames the model takes (other sizes are resized in the worker). */
export const MODEL_INPUT_SIZE = 224;

export type Scores = { porn: number; sexy: number; hentai: number; drawing: number; neutral: number };

/** A size×size RGB frame, 3 bytes a pixel, rows top to bottom. */
export interface Frame {
  rgb: Buffer;
  size: number;
}

export interface ClassifierOptions {
  /** Terminate the worker (and free the model's memory) after this long without work. Default 60 s. */
  idleMs?: number;
  /** How long the worker may take to load the model. Default 60 s. */
  loadTimeoutMs?: number;
  /**
   * Nice level of the worker thread alone (0..19; default 0). Linux's nice is per thread: the model yields the
   * CPU to ffmpeg encodes and to the event loop, which keeps its own priority.
   */
  nice?: number;
  log?: Logger;
}

/** What the worker reports of itself (Classifier.debug('state')): bytes, and the downloads it tried. */
export interface WorkerState {
  rss: number;
  heapUsed: number;
  tensors: number;
  tensorBytes: number;
  fetchCalls: number;
}

export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code = 'model_failed';
}

/**
 * model-worker.mjs: beside this module in the sources, and beside the bundle in a production build
 * (scripts/build.ts copies it to dist/, whether this module ends up in dist/ or in dist/chunks/).
 */
export function workerFile(): URL {
  const candidates = ['./model-worker.mjs', '../model-worker.mjs'].map((p) => new URL(p, import.meta.url));
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!found)
    throw new ModelError(
      `model-worker.mjs not found at ${candidates.map((u) => fileURLToPath(u)).join(' or ')}`,
    );
  return found;
}

/** The bytes to transfer to the worker: the Buffer's own ArrayBuffer when the frame is all of it, else a copy. */
function transferable(rgb: Uint8Array): ArrayBuffer {
  const own = rgb.buffer;
  if (own instanceof ArrayBuffer && rgb.byteOffset === 0 && rgb.byteLength === own.byteLength) return own;
  return new Uint8Array(rgb).buffer;
}

type Message = { frames: Frame[] } | { debug: 'fetch' | 'state' | 'crash' };
type Reply = { id: number; scores?: Scores[]; debug?: unknown; error?: string };

interface Call {
  id: number;
  message: Message;
  resolve: (reply: Reply) => void;
  reject: (err: unknown) => void;
  /** Settled: answered, failed or aborted (an aborted call in the worker is left to finish, unheard). */
  done: boolean;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Running {
  worker: Worker;
  ready: Promise<void>;
  failReady: (err: Error) => void;
  loaded: boolean;
}

export class Classifier {
  readonly #idleMs: number;
  readonly #loadTimeoutMs: number;
  readonly #nice: number;
  readonly #log: Logger | undefined;
  #run: Running | undefined;
  #queue: Call[] = [];
  #inflight: Call | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #framesClassified = 0;

  constructor(opts: ClassifierOptions = {}) {
    this.#idleMs = opts.idleMs ?? 60_000;
    this.#loadTimeoutMs = opts.loadTimeoutMs ?? 60_000;
    this.#nice = opts.nice ?? 0;
    this.#log = opts.log;
  }

  /**
   * The 5 class probabilities of every frame, in order. The frames' memory is moved to the worker, not
   * copied, when a Buffer is the whole of its ArrayBuffer: such a Buffer is empty once sent.
   */
  async classify(frames: Frame[], signal?: AbortSignal): Promise<Scores[]> {
    signal?.throwIfAborted();
    if (frames.length === 0) return [];
    const reply = await this.#enqueue({ frames }, signal);
    const scores = reply.scores ?? [];
    this.#framesClassified += scores.length;
    return scores;
  }

  /** Starts the worker and waits until the model is loaded. */
  ready(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const run = this.#start();
    run.ready.finally(() => this.#scheduleIdle()).catch(() => {});
    return run.ready;
  }

  stats(): { loaded: boolean; framesClassified: number; busy: boolean } {
    return {
      loaded: this.#run?.loaded ?? false,
      framesClassified: this.#framesClassified,
      busy: this.#inflight !== undefined,
    };
  }

  /** Terminates the worker; calls still waiting reject. A later call starts a new one. */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const err = new ModelError('the classifier was closed');
    const calls = [...(this.#inflight ? [this.#inflight] : []), ...this.#queue.splice(0)];
    this.#inflight = undefined;
    for (const call of calls) this.#settle(call, err);
    await this.#stop();
  }

  /**
   * Tests and measurements only: `fetch` tries a download in the worker (it must fail); `state` reports its
   * memory, live tensors and the downloads tried; `crash` makes it die of an uncaught exception.
   */
  debug(op: 'state'): Promise<WorkerState>;
  debug(op: 'fetch' | 'crash'): Promise<unknown>;
  async debug(op: 'fetch' | 'state' | 'crash'): Promise<unknown> {
    return (await this.#enqueue({ debug: op })).debug;
  }

  #enqueue(message: Message, signal?: AbortSignal): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const call: Call = { id: this.#nextId++, message, resolve, reject, done: false, signal };
      if (signal) {
        call.onAbort = () => {
          const i = this.#queue.indexOf(call);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#settle(call, signal.reason);
          this.#scheduleIdle();
        };
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.#queue.push(call);
      this.#pump();
    });
  }

  /** Settles a call once: with the worker's reply, or rejected with `err`. */
  #settle(call: Call, err: unknown, reply?: Reply) {
    if (call.done) return;
    call.done = true;
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (err !== undefined) call.reject(err);
    else call.resolve(reply!);
  }

  /** Sends the next queued call to the worker (starting it if needed) when none is there. */
  #pump() {
    if (this.#inflight || this.#queue.length === 0) return;
    clearTimeout(this.#idleTimer);
    let run: Running;
    try {
      run = this.#start();
    } catch (err) {
      for (const call of this.#queue.splice(0)) this.#settle(call, err);
      return;
    }
    run.worker.ref();
    const call = this.#queue.shift()!;
    this.#inflight = call;
    run.ready.then(
      () => this.#post(run, call),
      () => {}, // #fail has rejected the call
    );
  }

  #post(run: Running, call: Call) {
    if (this.#run !== run || this.#inflight !== call) return;
    if (call.done) {
      // Aborted while the model was loading.
      this.#inflight = undefined;
      this.#pump();
      this.#scheduleIdle();
      return;
    }
    const { message } = call;
    try {
      if ('frames' in message) {
        const frames = message.frames.map((f) => ({ rgb: transferable(f.rgb), size: f.size }));
        run.worker.postMessage(
          { id: call.id, frames },
          frames.map((f) => f.rgb),
        );
      } else run.worker.postMessage({ id: call.id, ...message });
    } catch (err) {
      this.#inflight = undefined;
      this.#settle(
        call,
        new ModelError(`cannot send the frames to the model worker: ${err}`, { cause: err }),
      );
      this.#pump();
      this.#scheduleIdle();
    }
  }

  #onReply(run: Running, reply: Reply) {
    const call = this.#inflight;
    if (this.#run !== run || !call || call.id !== reply.id) return;
    this.#inflight = undefined;
    if (reply.error !== undefined) this.#settle(call, new ModelError(`the model failed: ${reply.error}`));
    else this.#settle(call, undefined, reply);
    this.#pump();
    this.#scheduleIdle();
  }

  #start(): Running {
    if (this.#run) return this.#run;
    // No execArgv: the worker is plain JavaScript and needs none of the parent's loaders (tsx).
    const worker = new Worker(workerFile(), { execArgv: [], workerData: { nice: this.#nice } });
    let markReady!: () => void;
    let failReady!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => {}); // rejections reach the callers through their calls
    const run: Running = { worker, ready, failReady, loaded: false };
    this.#run = run;
    const timer = setTimeout(
      () => this.#fail(run, new ModelError(`the model did not load within ${this.#loadTimeoutMs} ms`)),
      this.#loadTimeoutMs,
    );
    timer.unref();
    worker.on('message', (msg: Reply & { ready?: boolean; loadMs?: number; backend?: string }) => {
      if (!msg.ready) return this.#onReply(run, msg);
      clearTimeout(timer);
      run.loaded = true;
      this.#log?.info(
        { model: MODEL_NAME, loadMs: msg.loadMs, backend: msg.backend },
        'moderation model loaded',
      );
      markReady();
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      this.#fail(run, new ModelError(`the model worker failed: ${err.message}`, { cause: err }));
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      this.#fail(run, new ModelError(`the model worker exited with code ${code}`));
    });
    return run;
  }

  /** The worker died (or would not load): every pending call rejects; the next one starts a fresh worker. */
  #fail(run: Running, err: ModelError) {
    if (this.#run !== run) return; // stopped on purpose, or already failed
    this.#run = undefined;
    this.#log?.warn({ model: MODEL_NAME, err }, 'moderation model worker failed');
    run.failReady(err);
    void run.worker.terminate();
    const calls = [...(this.#inflight ? [this.#inflight] : []), ...this.#queue.splice(0)];
    this.#inflight = undefined;
    for (const call of calls) this.#settle(call, err);
  }

  /** Once nothing is pending: the worker no longer holds the process open, and stops after idleMs. */
  #scheduleIdle() {
    const run = this.#run;
    if (!run || this.#inflight || this.#queue.length > 0) return;
    run.worker.unref();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#log?.debug({ model: MODEL_NAME, idleMs: this.#idleMs }, 'moderation model unloaded when idle');
      void this.#stop();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  async #stop() {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    run.failReady(new ModelError('the classifier was closed'));
    await run.worker.terminate();
  }
}
