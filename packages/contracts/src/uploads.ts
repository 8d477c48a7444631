import { z } from 'zod';
import { Id, IsoTime } from './common';
import { VideoFields } from './videos';

export const UPLOAD_STATUSES = ['waiting', 'uploading', 'complete', 'expired', 'cancelled'] as const;
export const UploadStatus = z.enum(UPLOAD_STATUSES);

export const CreateUpload = VideoFields.extend({
  maxSizeBytes: z.number().int().min(1).optional().describe('largest file this upload accepts, in bytes'),
  expiresIn: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .optional()
    .describe('seconds until the upload (and its token) expires; default VOD_UPLOAD_EXPIRES_IN'),
}).strict();

export const CreatedUpload = z
  .object({
    id: Id,
    status: UploadStatus,
    videoId: Id,
    url: z.string().describe('a tus 1.0 creation endpoint on an upload node chosen for this client'),
    headers: z.record(z.string(), z.string()).describe('send these on every tus request (the upload token)'),
    maxSizeBytes: z.number(),
    expiresAt: IsoTime,
  })
  .meta({ id: 'CreatedUpload' });

export const Upload = z
  .object({
    id: Id,
    status: UploadStatus,
    offset: z.number(),
    size: z.number().nullable(),
    videoId: Id,
    expiresAt: IsoTime,
    createdAt: IsoTime,
    completedAt: IsoTime.nullable(),
  })
  .meta({ id: 'Upload' });
