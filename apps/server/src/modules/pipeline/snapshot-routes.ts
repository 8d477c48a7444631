import { IdParams, Problem } from '@vodcloud/contracts';
import type { ObjectStore } from '@vodcloud/storage';
import { z } from 'zod';
import { tenantOf } from '../../http/auth';
import { baseUrlFor } from '../../http/base-url';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import type { Client, mediaService } from '../rpc';
import type { VideoService } from '../videos/service';

export const CreateSnapshot = z
  .object({
    time: z.number().min(0).describe('seconds from the start'),
    width: z
      .number()
      .int()
      .min(16)
      .max(3840)
      .optional()
      .describe('pixels; the height follows the aspect ratio'),
    format: z.enum(['jpeg', 'webp']).default('jpeg'),
  })
  .strict();

export const Snapshot = z
  .object({ url: z.string(), width: z.number(), height: z.number(), time: z.number(), expiresAt: z.string() })
  .meta({ id: 'Snapshot' });

const EXPIRES_SEC = 24 * 3600;

export interface SnapshotDeps {
  videos: VideoService;
  storage: ObjectStore;
  media: Client<typeof mediaService>;
}

/** A still of the video at any time and width, from the source, stored and handed out as a signed URL. */
export async function takeSnapshot(
  d: SnapshotDeps,
  tenantId: string,
  id: string,
  input: z.infer<typeof CreateSnapshot>,
) {
  const row = await d.videos.getRow(tenantId, id);
  if (row.duration === null)
    throw new AppError(
      'conflict',
      'The video has not been probed yet; try again once it is processing or ready',
    );
  if (input.time > row.duration)
    throw new AppError('validation_failed', 'time is past the end of the video', {
      errors: [{ path: 'body.time', message: `at most ${row.duration}` }],
    });
  // A worker makes the still (it has ffmpeg and, by consistent hashing on the video, usually its source).
  const frame = await d.media.snapshot(
    { tenantId, videoId: id, time: input.time, width: input.width, format: input.format },
    { hashKey: id },
  );
  const key = frame.key;
  const url = await d.storage.presignGet(key, {
    expiresIn: EXPIRES_SEC,
    responseContentType: `image/${input.format}`,
  });
  return {
    url,
    width: frame.width,
    height: frame.height,
    time: frame.time,
    expiresAt: new Date(Date.now() + EXPIRES_SEC * 1000).toISOString(),
  };
}

export function snapshotRoutes(app: ZodApp, d: SnapshotDeps, publicUrl?: string): void {
  const base = baseUrlFor(publicUrl);
  app.post('/v1/videos/:id/snapshots', {
    config: { access: 'write', audit: 'video.snapshot' },
    schema: {
      operationId: 'createSnapshot',
      tags: ['videos'],
      summary: 'A still of the video at any time and width (a signed URL valid 24 h)',
      params: IdParams,
      body: CreateSnapshot,
      response: {
        201: Snapshot,
        409: Problem,
        503: Problem,
      },
    },
    handler: async (req, reply) => {
      const shot = await takeSnapshot(d, tenantOf(req), req.params.id, req.body);
      // The file store signs root-relative URLs when no public URL is configured: make them absolute.
      return reply.code(201).send({ ...shot, url: new URL(shot.url, base(req)).toString() });
    },
  });
}
