// The storage half of a backup: a manifest of every object (`objects.jsonl`, one `{key,size,etag,sha256}` a
// line) and, at restore, the check that each still exists in the configured store with the same size (and
// content). The objects themselves are not copied: the object store's own replication/versioning keeps them.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ObjectStore } from '@vodcloud/storage';

export interface ObjectLine {
  key: string;
  size: number;
  etag: string;
  sha256?: string;
}

async function objectSha256(store: ObjectStore, key: string): Promise<string> {
  const { body } = await store.get(key);
  const h = createHash('sha256');
  for await (const chunk of body) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Runs fn over items, `n` at a time, results in the items' order. */
async function mapLimit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * Lists every object of the store, page by page, into `file`. With `checksums`, each object is read and its
 * sha256 computed as it streams (`concurrency` at once); an object deleted between the listing and the read
 * (a video deleted meanwhile) is left out.
 */
export async function writeObjectManifest(
  store: ObjectStore,
  file: string,
  opts: { checksums: boolean; concurrency?: number },
): Promise<{ count: number; bytes: number }> {
  const out = createWriteStream(file);
  let count = 0;
  let bytes = 0;
  let cursor: string | null = null;
  try {
    do {
      const page = await store.list('', { cursor, limit: 1000 });
      const lines = await mapLimit(page.items, opts.concurrency ?? 4, async (it) => {
        const line: ObjectLine = { key: it.key, size: it.size, etag: it.etag };
        if (!opts.checksums) return line;
        try {
          line.sha256 = await objectSha256(store, it.key);
          return line;
        } catch (err) {
          if ((err as { code?: string }).code === 'not_found') return undefined;
          throw err;
        }
      });
      for (const line of lines) {
        if (!line) continue;
        count++;
        bytes += line.size;
        if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
      }
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { count, bytes };
}

export interface VerifyReport {
  total: number;
  ok: number;
  missing: number;
  different: number;
  /** The first problems, one line each. */
  problems: string[];
}

/** Checks every object of the manifest `file` in `store`: present, same size, same sha256 unless `quick`. */
export async function verifyObjects(
  store: ObjectStore,
  file: string,
  opts: { quick: boolean; concurrency?: number; maxProblems?: number },
): Promise<VerifyReport> {
  const report: VerifyReport = { total: 0, ok: 0, missing: 0, different: 0, problems: [] };
  const note = (s: string) => {
    if (report.problems.length < (opts.maxProblems ?? 20)) report.problems.push(s);
  };
  const check = async (o: ObjectLine) => {
    const head = await store.head(o.key);
    if (!head) {
      report.missing++;
      return note(`missing: ${o.key}`);
    }
    if (head.size !== o.size) {
      report.different++;
      return note(`different size: ${o.key} (${head.size} bytes, ${o.size} in the backup)`);
    }
    if (o.sha256 && !opts.quick) {
      const sha = await objectSha256(store, o.key);
      if (sha !== o.sha256) {
        report.different++;
        return note(`different content: ${o.key} (sha256 ${sha}, ${o.sha256} in the backup)`);
      }
    }
    report.ok++;
  };
  let batch: ObjectLine[] = [];
  const flush = async () => {
    await mapLimit(batch, opts.concurrency ?? 8, check);
    batch = [];
  };
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    report.total++;
    batch.push(JSON.parse(text) as ObjectLine);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return report;
}
