import { z } from 'zod';
import { Id, IsoTime, ListQuery } from './common';
import { VideoFields } from './videos';

/**
 * Live recordings (api.md "Live recordings"): hooks a recording server calls when it has written a file,
 * and recordings imported by URL. One broadcast becomes one video.
 */

const HttpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2000);

export const CreateRecordingHook = z
  .object({
    name: z.string().trim().min(1).max(200),
    reconnectWindowSec: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(30)
      .describe('Parts of one stream within this many seconds of each other become one video'),
    templateId: Id.optional(),
    categoryId: Id.nullable().optional(),
    titleTemplate: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .default('{name} {startedAt}')
      .describe('The video title: {app}, {name} and {startedAt} (ISO time) are replaced'),
    playbackPolicy: VideoFields.shape.playbackPolicy,
    fetchBaseUrl: HttpUrl.optional().describe(
      'Download the recorded files over HTTP instead of reading a shared directory: the URL of the ' +
        "recorder's directory (fetched under the same rules as URL imports)",
    ),
    recordDir: z
      .string()
      .regex(/^\//, 'must be an absolute path')
      .max(1000)
      .optional()
      .describe(
        "With fetchBaseUrl: the recorder's own directory, so a file's path below it is kept in the URL " +
          '(default: only the file name is appended)',
      ),
    deleteAfterImport: z
      .boolean()
      .default(false)
      .describe('Remove the recorder’s file from the shared directory once stored (never with fetchBaseUrl)'),
  })
  .strict();
export type CreateRecordingHook = z.infer<typeof CreateRecordingHook>;

export const RecordingHook = z
  .object({
    id: Id,
    name: z.string(),
    reconnectWindowSec: z.number().int(),
    templateId: Id.nullable(),
    categoryId: Id.nullable(),
    titleTemplate: z.string(),
    playbackPolicy: z.string().nullable(),
    fetchBaseUrl: z.string().nullable(),
    recordDir: z.string().nullable(),
    deleteAfterImport: z.boolean(),
    tokenPrefix: z.string().describe('The first characters of the token, to recognise it'),
    createdAt: IsoTime,
    lastUsedAt: IsoTime.nullable(),
  })
  .meta({ id: 'RecordingHook' });
export type RecordingHook = z.infer<typeof RecordingHook>;

export const CreatedRecordingHook = RecordingHook.extend({
  token: z.string().describe('Shown only in this response; stored hashed'),
  nginxRtmpUrl: z
    .string()
    .describe("For nginx-rtmp's on_record_done (and on_publish / on_publish_done: the same URL)"),
  srsUrl: z.string().describe("For SRS's on_dvr (and on_publish / on_unpublish: the same URL)"),
}).meta({ id: 'CreatedRecordingHook' });
export type CreatedRecordingHook = z.infer<typeof CreatedRecordingHook>;

export const RecordingStatus = z.enum(['recording', 'importing', 'imported', 'failed']);

export const Recording = z
  .object({
    id: Id,
    videoId: Id.nullable(),
    hookId: Id.nullable(),
    origin: z.enum(['nginx-rtmp', 'srs', 'api']),
    app: z.string().nullable(),
    streamName: z.string().nullable(),
    clientId: z.string().nullable(),
    status: RecordingStatus.describe(
      'recording: parts may still come (the stream is live or within its reconnect window); importing: ' +
        'the source is being stored or its parts merged; imported: the video has its final source',
    ),
    live: z.boolean(),
    parts: z.number().int(),
    mergeMode: z.enum(['single', 'copy', 'reencode']).nullable(),
    startedAt: IsoTime.nullable(),
    endedAt: IsoTime.nullable(),
    importedAt: IsoTime.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    createdAt: IsoTime,
  })
  .meta({ id: 'Recording' });
export type Recording = z.infer<typeof Recording>;

/** A time a client gives: ISO 8601 with a zone, years 1970–9999 (stored as UTC). */
const GivenTime = z.iso
  .datetime({ offset: true })
  .refine((t) => {
    const ms = Date.parse(t);
    return ms >= 0 && ms < Date.UTC(10_000, 0, 1);
  }, 'must be a time between 1970 and 9999')
  .transform((t) => new Date(t).toISOString());

export const CreateRecording = z
  .object({
    source: z.object({ url: HttpUrl }).strict(),
    streamName: z.string().trim().min(1).max(200).optional(),
    startedAt: GivenTime.optional(),
    endedAt: GivenTime.optional(),
    title: VideoFields.shape.title,
    templateId: Id.optional(),
    categoryId: Id.nullable().optional(),
    playbackPolicy: VideoFields.shape.playbackPolicy,
  })
  .strict()
  .refine((r) => !r.startedAt || !r.endedAt || r.startedAt <= r.endedAt, {
    message: 'endedAt must not be before startedAt',
    path: ['endedAt'],
  });
export type CreateRecording = z.infer<typeof CreateRecording>;

export const RecordingListQuery = ListQuery.extend({
  streamName: z.string().max(200).optional(),
  status: RecordingStatus.optional(),
}).strict();
