import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FileObjectStore, type ObjectStore } from '@vodcloud/storage';
import { UnrecoverableJobError } from '../../ports/queue';
import { sourceKey } from '../videos';

/**
 * Gives ffmpeg a local path to a video's source. With the file store that is the object's own file;
 * with S3 the source is downloaded once per worker into its work folder and reused by every job of the
 * video on that worker (one download at a time per video).
 */
export class SourceCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly storage: ObjectStore,
    private readonly workDir: string,
  ) {}

  async local(tenantId: string, videoId: string, signal?: AbortSignal): Promise<string> {
    const key = sourceKey(tenantId, videoId);
    if (this.storage instanceof FileObjectStore) {
      const p = await this.storage.localPath(key);
      if (!p) throw new UnrecoverableJobError(`the source of video ${videoId} is missing`);
      return p;
    }
    const running = this.inflight.get(videoId);
    if (running) return running;
    const job = this.download(key, videoId, signal).finally(() => this.inflight.delete(videoId));
    this.inflight.set(videoId, job);
    return job;
  }

  private async download(key: string, videoId: string, signal?: AbortSignal): Promise<string> {
    const head = await this.storage.head(key);
    if (!head) throw new UnrecoverableJobError(`the source of video ${videoId} is missing`);
    const dir = path.join(this.workDir, 'sources');
    const dest = path.join(dir, videoId);
    const have = await stat(dest).catch(() => undefined);
    if (have?.size === head.size) return dest;
    await mkdir(dir, { recursive: true });
    const tmp = `${dest}.${process.pid}.${Date.now()}.part`;
    try {
      const obj = await this.storage.get(key);
      await pipeline(obj.body, createWriteStream(tmp), { signal });
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return dest;
  }

  async drop(videoId: string): Promise<void> {
    await rm(path.join(this.workDir, 'sources', videoId), { force: true });
  }
}
