import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { VideosTable } from '../../db/schema';
import type { Metrics } from '../../http/metrics';
import type { Jobs } from '../../jobs';
import type { Foreground } from '../../lib/foreground';
import type { SecretBox } from '../../lib/secretbox';
import type { EventService } from '../events/service';
import type { TemplateService } from '../templates/service';
import type { VideoService } from '../videos/service';
import type { SourceCache } from './sources';

/** What every pipeline step is given (built once in context.ts). */
export interface PipelineDeps {
  config: Config;
  jobs: Jobs;
  storage: ObjectStore;
  videos: VideoService;
  templates: TemplateService;
  events: EventService;
  sources: SourceCache;
  /** Seals and opens HLS keys (lib/secretbox.ts). */
  box: SecretBox;
  metrics?: Metrics;
  /** This node's foreground work: the process step and just-in-time encodes pause yielding background work. */
  foreground?: Foreground;
  log: Logger;
}

/** What the platform refuses to process (see classify in packages/media). */
export const LIMITS = {
  maxDurationSec: 6 * 3600,
  maxPixels: 8192 * 4320,
  maxSizeBytes: 200 * 1024 ** 3,
  maxFps: 240,
};

/** The video's row, or undefined when it was deleted meanwhile or (with `generation`) superseded by a retranscode. */
export async function current(
  d: PipelineDeps,
  tenantId: string,
  videoId: string,
  generation?: string,
): Promise<VideosTable | undefined> {
  const row = await d.videos.repo.find(tenantId, videoId);
  if (!row) return undefined; // deleted meanwhile
  if (generation && row.generation !== generation) return undefined; // superseded by a retranscode
  return row;
}

/** A fresh folder under the node's work folder for one step of one generation. */
export async function workDir(d: PipelineDeps, videoId: string, generation: string, part: string) {
  const workRoot = path.join(d.config.dataDir, 'work');
  await mkdir(workRoot, { recursive: true });
  return mkdtemp(path.join(workRoot, `${videoId}-${generation}-${part}-`));
}

/** Fair share: a tenant with many videos in flight gets lower priority than one with few. */
export const fairPriority = async (d: PipelineDeps, tenantId: string) =>
  -(await d.videos.repo.countInStatus(tenantId, 'processing'));
