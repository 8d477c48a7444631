import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileObjectStore } from '@vodcloud/storage';
import type { VideosTable } from '../../db/schema';
import { UnrecoverableJobError } from '../../ports/queue';
import { keyOf, segmentKey, segmentName } from '../videos';
import type { PipelineDeps } from './deps';
import type { VideoPlan } from './plan-state';
import { decryptSegment, encryptSegment } from './segment-crypto';

/** Stores one rendition's segment files from `dir`, encrypted when the video is. */
export async function storeSegments(
  d: PipelineDeps,
  row: VideosTable,
  plan: VideoPlan,
  name: string,
  indices: number[],
  dir: string,
  /** Checked right before each write: a key already stored (made just in time and maybe served) stays. */
  keepExisting = false,
): Promise<void> {
  const { storage } = d;
  const key = keyOf(row, plan.generation, d.box);
  for (const i of indices) {
    const objectKey = segmentKey(row.tenant_id, row.id, plan.generation, name, i);
    // A segment made just in time may already have been served (and cached as immutable): keep it.
    if (keepExisting && (await storage.head(objectKey))) continue;
    const file = path.join(dir, name, segmentName(i));
    if (!(await stat(file).catch(() => undefined)))
      throw new UnrecoverableJobError(
        `the media data ends before ${plan.segments[i]?.start.toFixed(2)} s although the file declares ${plan.durationSec.toFixed(2)} s (truncated or damaged)`,
      );
    // With the file store an unencrypted segment is moved into place (a rename, not a second write).
    if (!key && storage instanceof FileObjectStore) {
      await storage.adoptFile(objectKey, file, { contentType: 'video/mp2t' });
      continue;
    }
    let data: Buffer = await readFile(file);
    if (key) data = encryptSegment(data, key, i);
    await storage.put(objectKey, data, { contentType: 'video/mp2t' });
  }
}

/** Fetches one rendition's stored segments back into `dir/{name}/` (decrypted); returns their paths in order. */
export async function fetchSegments(
  d: PipelineDeps,
  row: VideosTable,
  plan: VideoPlan,
  name: string,
  dir: string,
): Promise<string[]> {
  const key = keyOf(row, plan.generation, d.box);
  const files: string[] = [];
  await mkdir(path.join(dir, name), { recursive: true });
  for (const s of plan.segments) {
    const obj = await d.storage.get(segmentKey(row.tenant_id, row.id, plan.generation, name, s.index));
    const chunks: Buffer[] = [];
    for await (const c of obj.body) chunks.push(c as Buffer);
    let data: Buffer = Buffer.concat(chunks);
    if (key) data = decryptSegment(data, key, s.index);
    const f = path.join(dir, name, segmentName(s.index));
    await writeFile(f, data);
    files.push(f);
  }
  return files;
}
