import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WatermarkOptions } from '@vodcloud/media';
import { fetchToStorage } from '../imports';
import { watermarkKey } from '../videos';
import type { PipelineDeps } from './deps';
import type { VideoPlan } from './plan-state';

/** Puts the template's watermark image into the generation's objects (URL: fetched under the SSRF rules). */
export async function storeWatermark(
  d: PipelineDeps,
  tenantId: string,
  wm: { imageUrl?: string; objectKey?: string },
  key: string,
  signal: AbortSignal,
) {
  if (wm.imageUrl) {
    await fetchToStorage({
      url: wm.imageUrl,
      store: d.storage,
      key,
      maxBytes: 5 * 1024 * 1024,
      timeoutMs: 30_000,
      allowHosts: d.config.fetchAllowHosts,
      signal,
    });
    return;
  }
  // An object key is the tenant's own: it is looked up under the tenant's prefix only.
  await d.storage.copy(`${tenantId}/${wm.objectKey}`, key);
}

/** The template's watermark for ffmpeg, copied from the generation's objects into `dir`. */
export async function watermarkFor(
  d: PipelineDeps,
  tenantId: string,
  videoId: string,
  plan: VideoPlan,
  dir: string,
): Promise<WatermarkOptions | undefined> {
  const wm = plan.watermark as {
    position: 'top-left';
    margin: number;
    opacity: number;
    width: number;
  } | null;
  if (!wm) return undefined;
  const file = path.join(dir, 'watermark');
  const obj = await d.storage.get(watermarkKey(tenantId, videoId, plan.generation));
  await writeFile(file, obj.body);
  return { path: file, position: wm.position, margin: wm.margin, opacity: wm.opacity, width: wm.width };
}
