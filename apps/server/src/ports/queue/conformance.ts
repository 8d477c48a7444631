/**
 * The one conformance suite every JobQueue adapter passes, against a real store.
 * Kept whole on purpose (over the 400-line rule): every adapter is held to one text, read in one place.
 * A harness opens queue instances on one store (several instances stand for several processes),
 * empties it between tests, and tells a child process how to open a queue on the same store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type JobQueue, JobQueueError } from './types';

export interface QueueOptions {
  leaseMs?: number;
  transient?: (err: unknown) => boolean;
}

export interface JobQueueHarness {
  create(opts?: QueueOptions): JobQueue;
  /** Removes every job from the store. */
  reset(): Promise<void>;
  /** Arguments for test-child.ts that open a queue on this store: [queueUrl, dbUrl | prefix]. */
  childArgs: string[];
  teardown(): Promise<void>;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-child.ts');
const LEASE_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(25);
    last = await fn();
  }
  return last;
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function runJobQueueSuite(name: string, factory: () => Promise<JobQueueHarness>): void {
  describe(`JobQueue conformance: ${name}`, () => {
    let h: JobQueueHarness;
    let open: JobQueue[] = [];
    const children: ChildProcess[] = [];
    const queue = (opts?: QueueOptions) => {
      const q = h.create(opts);
      open.push(q);
      return q;
    };
    const state = (q: JobQueue, id: string) => q.getJob(id).then((j) => j?.state);
    const until = (q: JobQueue, id: string, s: string, timeoutMs?: number) =>
      waitFor(
        () => q.getJob(id),
        (j) => j?.state === s,
        `job ${id} to be ${s}`,
        timeoutMs,
      );

    beforeAll(async () => {
      h = await factory();
    });
    afterEach(async () => {
      for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
      await Promise.all(open.map((q) => q.close()));
      open = [];
      await h.reset();
    });
    afterAll(async () => {
      await h?.teardown();
    });

    it('runs a job once and keeps its result', async () => {
      const q = queue();
      const calls: unknown[] = [];
      q.define('echo', {
        queue: 'fast',
        schema: z.object({ text: z.string() }),
        handler: async (p, ctx) => {
          calls.push({ p, attempt: ctx.attempt });
          return { echo: p.text.toUpperCase() };
        },
      });
      const id = await q.enqueue('echo', { text: 'hi' });
      expect(await state(q, id)).toBe('waiting');
      await q.start();
      const job = await until(q, id, 'completed');
      expect(job).toMatchObject({
        id,
        name: 'echo',
        queue: 'fast',
        attempts: 1,
        result: { echo: 'HI' },
        payload: { text: 'hi' },
      });
      expect(Date.parse(job!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(job!.createdAt));
      expect(calls).toEqual([{ p: { text: 'hi' }, attempt: 1 }]);
      const other = await q.enqueue('echo', { text: 'again' });
      expect(other).not.toBe(id);
      await until(q, other, 'completed');
      expect(calls).toHaveLength(2);
      expect(await q.getJob('no-such-job')).toBeUndefined();
      expect((await q.health()).ok).toBe(true);
    });

    it('validates the payload at enqueue and refuses unknown names', async () => {
      const q = queue();
      q.define('typed', { queue: 'fast', schema: z.object({ n: z.number().int() }), handler: () => null });
      const bad = await q.enqueue('typed', { n: 'five' }).catch((e) => e);
      expect(bad).toBeInstanceOf(JobQueueError);
      expect(bad.code).toBe('invalid_payload');
      expect(bad.issues[0].path).toBe('n');
      await expect(q.enqueue('typed', { n: 1.5 })).rejects.toMatchObject({ code: 'invalid_payload' });
      await expect(q.enqueue('untyped', {})).rejects.toMatchObject({ code: 'unknown_job_name' });
      await expect(q.enqueue('typed', { n: 1 }, { jobId: 'has:colon' })).rejects.toMatchObject({
        code: 'invalid_options',
      });
      const m = await q.metrics();
      expect(m.typed?.waiting ?? 0).toBe(0);
    });

    it('throws when a name is defined twice', () => {
      const q = queue();
      const def = { queue: 'io' as const, schema: z.object({}), handler: () => null };
      q.define('twice', def);
      expect(() => q.define('twice', def)).toThrow(expect.objectContaining({ code: 'duplicate_job_name' }));
    });

    it('dedupes by jobId: an existing id returns the same job, before and after it ran', async () => {
      const q = queue();
      let calls = 0;
      q.define('once', {
        queue: 'io',
        schema: z.object({ v: z.number() }),
        handler: () => {
          calls++;
          return calls;
        },
      });
      const a = await q.enqueue('once', { v: 1 }, { jobId: 'video-42.thumbs' });
      const b = await q.enqueue('once', { v: 2 }, { jobId: 'video-42.thumbs' });
      expect(a).toBe('video-42.thumbs');
      expect(b).toBe(a);
      expect((await q.metrics()).once?.waiting).toBe(1);
      await q.start();
      await until(q, a, 'completed');
      expect(await q.enqueue('once', { v: 3 }, { jobId: a })).toBe(a);
      await sleep(300);
      expect(calls).toBe(1);
      expect(await q.getJob(a)).toMatchObject({ state: 'completed', result: 1, payload: { v: 1 } });
    });

    it('runs higher priority first within a queue (concurrency 1)', async () => {
      const q = queue();
      const order: string[] = [];
      q.define('prio', {
        queue: 'cpu',
        schema: z.object({ tag: z.string() }),
        handler: async (p) => {
          order.push(p.tag);
        },
      });
      const ids = [
        await q.enqueue('prio', { tag: 'low' }, { priority: -5 }),
        await q.enqueue('prio', { tag: 'mid-1' }),
        await q.enqueue('prio', { tag: 'high' }, { priority: 10 }),
        await q.enqueue('prio', { tag: 'mid-2' }, { priority: 0 }),
        await q.enqueue('prio', { tag: 'top' }, { priority: 1000 }),
      ];
      await q.start({ concurrency: { cpu: 1 } });
      for (const id of ids) await until(q, id, 'completed');
      expect(order).toEqual(['top', 'high', 'mid-1', 'mid-2', 'low']);
      expect((await q.getJob(ids[2]!))?.priority).toBe(10);
    });

    it('does not run a delayed job before its time', async () => {
      const q = queue();
      let ranAt = 0;
      q.define('later', {
        queue: 'fast',
        schema: z.object({}),
        handler: () => {
          ranAt = Date.now();
        },
      });
      await q.start();
      const t0 = Date.now();
      const id = await q.enqueue('later', {}, { delayMs: 600 });
      expect(await state(q, id)).toBe('delayed');
      await sleep(300);
      expect(ranAt).toBe(0);
      expect(await state(q, id)).toBe('delayed');
      await until(q, id, 'completed');
      expect(ranAt - t0).toBeGreaterThanOrEqual(590);
    });

    it('retries with exponential backoff, then fails keeping the last error', async () => {
      const q = queue();
      const at: number[] = [];
      q.define('flaky', {
        queue: 'io',
        schema: z.object({}),
        attempts: 3,
        backoff: { baseMs: 150, maxMs: 10_000 },
        handler: (_p, ctx) => {
          at.push(Date.now());
          throw new Error(`boom ${ctx.attempt}`);
        },
      });
      await q.start();
      const id = await q.enqueue('flaky', {});
      const job = await until(q, id, 'failed');
      expect(job).toMatchObject({ attempts: 3, maxAttempts: 3, error: 'boom 3' });
      expect(at).toHaveLength(3);
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(140);
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(290); // doubled
      await sleep(400);
      expect(at).toHaveLength(3);
      // The per-job attempts option overrides the definition.
      const once = await q.enqueue('flaky', {}, { attempts: 1 });
      expect(await until(q, once, 'failed')).toMatchObject({ attempts: 1, error: 'boom 1' });
    });

    it('defers attempts that meet a dependency away (transient errors) without using them up', async () => {
      const away = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const q = queue({ transient: (err) => (err as { code?: string }).code === 'ECONNREFUSED' });
      const seen: number[] = [];
      q.define('needs-db', {
        queue: 'io',
        schema: z.object({}),
        attempts: 2,
        backoff: { baseMs: 20, maxMs: 50 },
        handler: (_p, ctx) => {
          seen.push(ctx.attempt);
          if (seen.length <= 4) throw away; // away for longer than the job has attempts
          if (seen.length === 5) throw new Error('a real failure');
          return 'done';
        },
      });
      await q.start();
      const id = await q.enqueue('needs-db', {});
      expect(await until(q, id, 'completed')).toMatchObject({ result: 'done' });
      // Four deferred runs are all attempt 1; the real failure uses it, and the last attempt completes.
      expect(seen).toEqual([1, 1, 1, 1, 1, 2]);
    });

    it('fails an attempt that exceeds timeoutMs, aborting its signal', async () => {
      const q = queue();
      const aborted: unknown[] = [];
      q.define('slowpoke', {
        queue: 'io',
        schema: z.object({}),
        attempts: 2,
        backoff: { baseMs: 10, maxMs: 10 },
        timeoutMs: 150,
        handler: (_p, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.push(ctx.signal.reason);
              reject(ctx.signal.reason);
            });
          }),
      });
      await q.start();
      const id = await q.enqueue('slowpoke', {});
      const job = await until(q, id, 'failed');
      expect(job?.attempts).toBe(2);
      expect(job?.error).toMatch(/timed out after 150 ms/);
      expect(aborted).toHaveLength(2);
    });

    it('shows progress through getJob while the job runs', async () => {
      const q = queue();
      const gate = deferred();
      q.define('progressive', {
        queue: 'io',
        schema: z.object({}),
        handler: async (_p, ctx) => {
          await ctx.progress(0.25);
          await ctx.progress({ step: 'encode', ratio: 0.5 });
          await gate.promise;
          return 'done';
        },
      });
      await q.start();
      const id = await q.enqueue('progressive', {});
      const seen = await waitFor(
        () => q.getJob(id),
        (j) => (j?.progress as { ratio?: number })?.ratio === 0.5,
        'progress 0.5',
      );
      expect(seen).toMatchObject({ state: 'active', progress: { step: 'encode', ratio: 0.5 } });
      gate.resolve();
      expect(await until(q, id, 'completed')).toMatchObject({
        result: 'done',
        progress: { step: 'encode', ratio: 0.5 },
      });
    });

    it('cancels waiting and delayed jobs: they never run', async () => {
      const q = queue();
      let calls = 0;
      q.define('doomed', {
        queue: 'fast',
        schema: z.object({}),
        handler: () => {
          calls++;
        },
      });
      const waiting = await q.enqueue('doomed', {});
      const delayed = await q.enqueue('doomed', {}, { delayMs: 200 });
      const kept = await q.enqueue('doomed', {});
      expect(await q.cancel(waiting)).toBe(true);
      expect(await q.cancel(delayed)).toBe(true);
      expect(await state(q, waiting)).toBe('cancelled');
      await q.start();
      await until(q, kept, 'completed');
      await sleep(500);
      expect(calls).toBe(1);
      expect(await q.getJob(waiting)).toMatchObject({ state: 'cancelled', name: 'doomed' });
      expect(await state(q, delayed)).toBe('cancelled');
      expect(await q.cancel(waiting)).toBe(false); // already finished
      expect(await q.cancel(kept)).toBe(false);
      expect(await q.cancel('no-such-job')).toBe(false);
      // A cancelled id still dedupes.
      expect(await q.enqueue('doomed', {}, { jobId: 'c-1', delayMs: 60_000 })).toBe('c-1');
      expect(await q.cancel('c-1')).toBe(true);
      expect(await q.enqueue('doomed', {}, { jobId: 'c-1' })).toBe('c-1');
      expect(await state(q, 'c-1')).toBe('cancelled');
    });

    it('cancels an active job from another instance: its signal aborts, it ends cancelled, no retry', async () => {
      const worker = queue();
      const other = queue();
      const started = deferred();
      let calls = 0;
      let sawAbort = false;
      const def = {
        queue: 'io' as const,
        schema: z.object({}),
        attempts: 3,
        backoff: { baseMs: 10, maxMs: 10 },
        handler: (_p: unknown, ctx: { signal: AbortSignal }) =>
          new Promise((_, reject) => {
            calls++;
            started.resolve();
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              reject(new Error('stopped by signal'));
            });
          }),
      };
      worker.define('endless', def);
      other.define('endless', def);
      await worker.start();
      const id = await other.enqueue('endless', {});
      await started.promise;
      expect(await state(other, id)).toBe('active');
      expect(await other.cancel(id)).toBe(true);
      const job = await until(other, id, 'cancelled', 5000);
      expect(sawAbort).toBe(true);
      expect(job?.attempts).toBe(1);
      await sleep(300);
      expect(calls).toBe(1);
      expect(await state(worker, id)).toBe('cancelled');
      expect((await worker.metrics()).endless).toMatchObject({
        cancelled: 1,
        failed: 0,
        retried: 0,
        active: 0,
      });
    });

    it('runs a flow parent after all its children, with their results', async () => {
      const q = queue();
      const finished: Record<string, number> = {};
      let parentSaw: { at: number; results: Record<string, unknown> } | undefined;
      q.define('part', {
        queue: 'fast',
        schema: z.object({ n: z.number(), ms: z.number() }),
        handler: async (p, ctx) => {
          await sleep(p.ms);
          finished[ctx.jobId] = Date.now();
          return { n: p.n * 10 };
        },
      });
      q.define('assemble', {
        queue: 'io',
        schema: z.object({ video: z.string() }),
        handler: async (_p, ctx) => {
          parentSaw = { at: Date.now(), results: await ctx.childResults() };
          return 'assembled';
        },
      });
      const { parentId, childIds } = await q.enqueueFlow({
        parent: { name: 'assemble', payload: { video: 'v1' } },
        children: [
          { name: 'part', payload: { n: 1, ms: 200 } },
          { name: 'part', payload: { n: 2, ms: 10 }, opts: { jobId: 'v1-part-2' } },
        ],
      });
      expect(childIds).toHaveLength(2);
      expect(childIds[1]).toBe('v1-part-2');
      expect(await state(q, parentId)).toBe('waiting');
      await q.start();
      expect(await until(q, parentId, 'completed')).toMatchObject({ result: 'assembled' });
      expect(parentSaw!.results).toEqual({ [childIds[0]!]: { n: 10 }, [childIds[1]!]: { n: 20 } });
      expect(parentSaw!.at).toBeGreaterThanOrEqual(Math.max(...Object.values(finished)));
      expect(await q.getJob(childIds[0]!)).toMatchObject({ state: 'completed', parentId });
    });

    it('fails a flow parent when a child fails permanently; the parent never runs', async () => {
      const q = queue();
      let parentRan = false;
      q.define('bad-part', {
        queue: 'fast',
        schema: z.object({}),
        attempts: 2,
        backoff: { baseMs: 10, maxMs: 10 },
        handler: () => {
          throw new Error('corrupt input');
        },
      });
      q.define('good-part', { queue: 'fast', schema: z.object({}), handler: () => 'ok' });
      q.define('never', {
        queue: 'io',
        schema: z.object({}),
        handler: () => {
          parentRan = true;
        },
      });
      const { parentId, childIds } = await q.enqueueFlow({
        parent: { name: 'never', payload: {} },
        children: [
          { name: 'good-part', payload: {} },
          { name: 'bad-part', payload: {} },
        ],
      });
      await q.start();
      expect(await until(q, childIds[1]!, 'failed')).toMatchObject({ error: 'corrupt input', attempts: 2 });
      const parent = await until(q, parentId, 'failed');
      expect(parent?.error).toMatch(/child/);
      await sleep(300);
      expect(parentRan).toBe(false);
    });

    it('refuses to start while the store holds a job whose name has no handler', async () => {
      const producer = queue();
      producer.define('ghost.job', { queue: 'io', schema: z.object({}), handler: () => null });
      await producer.enqueue('ghost.job', {}, { delayMs: 60_000 });
      const worker = queue();
      worker.define('other.job', { queue: 'io', schema: z.object({}), handler: () => null });
      await expect(worker.start()).rejects.toMatchObject({
        code: 'unknown_job_name',
        message: expect.stringContaining('ghost.job'),
      });
      // Defining it lets the same instance start.
      worker.define('ghost.job', { queue: 'io', schema: z.object({}), handler: () => null });
      await worker.start();
    });

    it('reports metrics that match what ran', async () => {
      const q = queue();
      q.define('m.ok', {
        queue: 'fast',
        schema: z.object({}),
        handler: async () => {
          await sleep(20);
        },
      });
      q.define('m.bad', {
        queue: 'fast',
        schema: z.object({}),
        attempts: 2,
        backoff: { baseMs: 10, maxMs: 10 },
        handler: () => {
          throw new Error('nope');
        },
      });
      q.define('m.later', { queue: 'io', schema: z.object({}), handler: () => null });
      const ids = await Promise.all([1, 2, 3].map(() => q.enqueue('m.ok', {})));
      const bad = await q.enqueue('m.bad', {});
      await q.enqueue('m.later', {}, { delayMs: 60_000 });
      await q.enqueue('m.later', {}, { delayMs: 60_000 });
      await sleep(60);
      const before = await q.metrics();
      expect(before['m.ok']).toMatchObject({ waiting: 3, completed: 0 });
      // The oldest ready job's wait, in ms; delayed jobs are not waiting.
      expect(before['m.ok']!.oldestWaitingMs).toBeGreaterThanOrEqual(50);
      expect(before['m.ok']!.oldestWaitingMs).toBeLessThan(30_000);
      expect(before['m.later']!.oldestWaitingMs).toBe(0);
      await q.start();
      for (const id of ids) await until(q, id, 'completed');
      await until(q, bad, 'failed');
      const m = await q.metrics();
      expect(m['m.ok']!.oldestWaitingMs).toBe(0);
      // ran(): the same counters, without asking the store.
      expect(q.ran()['m.ok']).toMatchObject({ completed: 3, failed: 0 });
      expect(q.ran()['m.bad']).toMatchObject({ failed: 1, retried: 1 });
      expect(m['m.ok']).toMatchObject({ waiting: 0, delayed: 0, active: 0, completed: 3, failed: 0 });
      expect(m['m.ok']!.duration.count).toBe(3);
      expect(m['m.ok']!.duration.sumMs).toBeGreaterThanOrEqual(55);
      expect(m['m.ok']!.duration.p95Ms).toBeGreaterThanOrEqual(18);
      expect(m['m.ok']!.duration.buckets['+Inf']).toBe(3);
      expect(m['m.bad']).toMatchObject({ completed: 0, failed: 1, retried: 1 });
      expect(m['m.bad']!.duration.count).toBe(2);
      expect(m['m.later']).toMatchObject({ waiting: 0, delayed: 2, active: 0, completed: 0 });
    });

    it('stop() waits for running jobs within its bound', async () => {
      const q = queue();
      q.define('brief', {
        queue: 'io',
        schema: z.object({ ms: z.number() }),
        handler: async (p) => {
          await sleep(p.ms);
          return p.ms;
        },
      });
      await q.start();
      const id = await q.enqueue('brief', { ms: 300 });
      await until(q, id, 'active');
      await q.stop({ timeoutMs: 5000 });
      expect(await q.getJob(id)).toMatchObject({ state: 'completed', result: 300 });
      // Stopped: a new job stays waiting.
      const next = await q.enqueue('brief', { ms: 1 });
      await sleep(300);
      expect(await state(q, next)).toBe('waiting');
      // Past the bound stop() returns anyway, aborting the handler.
      const q2 = queue();
      let aborted = false;
      q2.define('brief', {
        queue: 'io',
        schema: z.object({ ms: z.number() }),
        handler: (_p, ctx) =>
          new Promise(() => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
            });
          }),
      });
      await q2.start();
      await until(q2, next, 'active');
      const t0 = Date.now();
      await q2.stop({ timeoutMs: 200 });
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(aborted).toBe(true);
    });

    it('several instances share the work: every job runs exactly once', async () => {
      const calls = new Map<number, number>();
      const instances = [queue(), queue(), queue()];
      for (const q of instances) {
        q.define('many', {
          queue: 'io',
          schema: z.object({ i: z.number() }),
          handler: async (p) => {
            calls.set(p.i, (calls.get(p.i) ?? 0) + 1);
            await sleep(5);
            return p.i;
          },
        });
      }
      const ids = await Promise.all(
        Array.from({ length: 60 }, (_, i) => instances[i % 3]!.enqueue('many', { i })),
      );
      await Promise.all(instances.map((q) => q.start({ concurrency: { io: 4 } })));
      for (const id of ids) await until(instances[0]!, id, 'completed');
      expect(calls.size).toBe(60);
      expect([...calls.values()].every((n) => n === 1)).toBe(true);
      const ran = await Promise.all(instances.map((q) => q.metrics().then((m) => m.many?.completed ?? 0)));
      expect(ran.reduce((a, b) => a + b, 0)).toBe(60);
    });

    it('re-runs the job of a SIGKILLed worker after its lease, and its effect happens once', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vodq-'));
      const effect = path.join(dir, 'effect.log');
      try {
        const q = queue({ leaseMs: LEASE_MS });
        let runs = 0;
        q.define('lease.slow', {
          queue: 'io',
          schema: z.object({ file: z.string(), holdMs: z.number() }),
          handler: async (p, ctx) => {
            runs++;
            await appendFile(p.file, `test attempt ${ctx.attempt}\n`);
            return 'finished here';
          },
        });
        const id = await q.enqueue('lease.slow', { file: effect, holdMs: 60_000 }, { attempts: 3 });
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...h.childArgs, String(LEASE_MS)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
        });
        await waitFor(
          async () => out,
          (s) => s.includes(`claimed ${id}`),
          'the child worker to claim the job',
          20_000,
        );
        // The child's lease is renewed: a worker here must not take the job while the child lives.
        await q.start({ concurrency: { io: 1 } });
        await sleep(LEASE_MS * 1.6);
        expect(await state(q, id)).toBe('active');
        expect(runs).toBe(0);
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        const killedAt = Date.now();
        const job = await until(q, id, 'completed', 15_000);
        expect(job).toMatchObject({ result: 'finished here', attempts: 2 });
        expect(Date.parse(job!.finishedAt!)).toBeGreaterThan(killedAt);
        await sleep(300);
        expect(runs).toBe(1);
        expect(existsSync(effect)).toBe(true);
        expect(readFileSync(effect, 'utf8')).toBe('test attempt 2\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 45_000);
    it('a worker that lost its lease (SIGSTOPped past it) cannot record the job another worker re-ran', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vodq-'));
      const effect = path.join(dir, 'effect.log');
      try {
        const q = queue({ leaseMs: LEASE_MS });
        q.define('lease.slow', {
          queue: 'io',
          schema: z.object({ file: z.string(), holdMs: z.number() }),
          handler: async (p, ctx) => {
            await appendFile(p.file, `test attempt ${ctx.attempt}\n`);
            return 'finished here';
          },
        });
        const id = await q.enqueue('lease.slow', { file: effect, holdMs: 1000 }, { attempts: 3 });
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...h.childArgs, String(LEASE_MS)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
        });
        await waitFor(
          async () => out,
          (s) => s.includes(`claimed ${id}`),
          'the child worker to claim the job',
          20_000,
        );
        child.kill('SIGSTOP');
        await q.start({ concurrency: { io: 1 } });
        const done = await until(q, id, 'completed', 15_000);
        expect(done).toMatchObject({ result: 'finished here', attempts: 2 });
        child.kill('SIGCONT');
        // The child's handler now finishes (its side effect happens: handlers must be idempotent) …
        await waitFor(
          async () => (existsSync(effect) ? readFileSync(effect, 'utf8') : ''),
          (s) => s.includes('child attempt 1'),
          'the resumed child to finish its handler',
        );
        await sleep(700);
        // … but the job's record is the re-run's, untouched.
        expect(await q.getJob(id)).toEqual(done);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 45_000);
  });
}
