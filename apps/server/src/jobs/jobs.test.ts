import { describe, expect, it } from 'vitest';
import type { EnqueueOptions, Flow, JobQueue } from '../ports/queue';
import { Jobs, type VideoJobStore } from './jobs';
import { JOB_NAMES, jobIds } from './registry';

/** Just what Jobs uses of the port, recording the calls. */
function fakeQueue() {
  const defined: string[] = [];
  const enqueued: Array<{ name: string; payload: unknown; opts?: EnqueueOptions }> = [];
  const cancelled: string[] = [];
  const queue = {
    kind: 'db',
    define: (name: string) => void defined.push(name),
    enqueue: async (name: string, payload: unknown, opts?: EnqueueOptions) => {
      enqueued.push({ name, payload, opts });
      return opts?.jobId ?? 'generated';
    },
    enqueueFlow: async (flow: Flow) => {
      for (const n of [flow.parent, ...flow.children]) enqueued.push(n);
      return { parentId: flow.parent.opts?.jobId ?? '', childIds: [] };
    },
    cancel: async (id: string) => {
      cancelled.push(id);
      return true;
    },
  } as unknown as JobQueue;
  return { queue, defined, enqueued, cancelled };
}

function memoryStore(): VideoJobStore & { rows: Map<string, string[]> } {
  const rows = new Map<string, string[]>();
  return {
    rows,
    record: async (j) => void rows.set(j.videoId, [...(rows.get(j.videoId) ?? []), j.jobId]),
    list: async (_t, videoId) => rows.get(videoId) ?? [],
    forget: async (_t, videoId) => void rows.delete(videoId),
  };
}

describe('the job registry', () => {
  it('defines each job once, and knows when one has no handler', () => {
    const { queue, defined } = fakeQueue();
    const jobs = new Jobs(queue);
    jobs.define('uploads.sweep', { handler: () => null });
    expect(defined).toEqual(['uploads.sweep']);
    // A second wrapper over the same queue sees the first one's definitions.
    expect(() => new Jobs(queue).define('uploads.sweep', { handler: () => null })).toThrow(
      expect.objectContaining({ code: 'duplicate_job_name' }),
    );
    expect(() => jobs.assertAllDefined()).toThrow(/video\.process/);
    for (const name of JOB_NAMES.filter((n) => n !== 'uploads.sweep'))
      jobs.define(name, { handler: () => null });
    expect(() => jobs.assertAllDefined()).not.toThrow();
  });

  it('gives derivable jobs their registry id, records the others of a video, and cancels them all', async () => {
    const { queue, enqueued, cancelled } = fakeQueue();
    const store = memoryStore();
    const jobs = new Jobs(queue, store);
    const v = { tenantId: 't1', videoId: 'v1' };
    expect(await jobs.enqueue('video.process', v)).toBe(jobIds.process('v1'));
    expect(await jobs.enqueue('video.import', { ...v, url: 'https://example.test/a.mp4' })).toBe('import.v1');
    await jobs.enqueue(
      'video.process',
      { ...v, templateId: 'tp' },
      { jobId: jobIds.retranscode('v1', 'r1') },
    );
    await jobs.enqueue('video.cover', { ...v, time: 3 }, { jobId: jobIds.cover('v1', 'c1') });
    await jobs.enqueue('video.purge', v, { jobId: jobIds.purge('v1', 'p1') }); // not the video's to cancel
    expect(store.rows.get('v1')).toEqual(['process.v1.r1', 'cover.v1.c1']);
    await expect(jobs.enqueue('video.cover', { ...v, time: 1 })).rejects.toThrow(/needs an id/);
    expect(enqueued.map((e) => e.opts?.jobId)).toEqual([
      'process.v1',
      'import.v1',
      'process.v1.r1',
      'cover.v1.c1',
      'purge.v1.p1',
    ]);
    const plan = JSON.stringify({ chunks: [[0], [1]] });
    await jobs.cancelVideoJobs({ id: 'v1', tenant_id: 't1', generation: 'g1', plan });
    expect(cancelled.sort()).toEqual(
      [
        'process.v1',
        'finalize.v1',
        'import.v1',
        'detect.v1',
        'publish.g1',
        'audio.g1',
        'images.g1',
        'chunk.g1.0',
        'chunk.g1.1',
        'process.v1.r1',
        'cover.v1.c1',
      ].sort(),
    );
    expect(store.rows.has('v1')).toBe(false);
  });

  it('checks payloads by job name at compile time', async () => {
    const { queue } = fakeQueue();
    const jobs = new Jobs(queue);
    // @ts-expect-error a chunk job needs its chunk number
    const wrong = () => jobs.enqueue('video.chunk', { tenantId: 't', videoId: 'v', generation: 'g' });
    // @ts-expect-error no such job
    const unknown = () => jobs.enqueue('video.nope', {});
    expect(typeof wrong).toBe('function');
    expect(typeof unknown).toBe('function');
  });
});
