import { z } from 'zod';
import { Id, IsoTime, Meta, Tags } from './common';
import { Detection } from './detection';

export const VIDEO_STATUSES = [
  'waiting_upload',
  'uploading',
  'queued',
  'processing',
  'ready',
  'errored',
  'blocked',
] as const;
export const VideoStatus = z.enum(VIDEO_STATUSES);
export type VideoStatus = z.infer<typeof VideoStatus>;

export const VIDEO_ERROR_CODES = [
  'non_video',
  'malformed_media',
  'unsupported_codec',
  'too_long',
  'too_large',
  'fetch_failed',
  'internal',
] as const;
export const VideoErrorCode = z.enum(VIDEO_ERROR_CODES);

export const PlaybackPolicy = z.enum(['public', 'signed']);

/**
 * Characters a title may not hold: C0 controls (tab aside: the line breaks too), DEL, C1 controls, and the
 * bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make a title display as other text.
 */
export function isUnsafeTextChar(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return (
    (c < 0x20 && c !== 0x09) ||
    (c >= 0x7f && c <= 0x9f) ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}

/** `text` without the characters `isUnsafeTextChar` refuses. */
export const withoutUnsafeText = (text: string) => [...text].filter((ch) => !isUnsafeTextChar(ch)).join('');

/** A video's title: at most 500 characters once trimmed, no control characters or bidirectional overrides. */
export const Title = z
  .string()
  .trim()
  .max(500)
  .refine(
    (s) => withoutUnsafeText(s) === s,
    'must not contain control characters or bidirectional overrides',
  );

/** Fields a client may set when creating a video by upload or by import. */
export const VideoFields = z.object({
  title: Title.optional(),
  description: z.string().max(10_000).optional(),
  categoryId: Id.nullable().optional(),
  tags: Tags.optional(),
  templateId: Id.optional(),
  playbackPolicy: PlaybackPolicy.optional(),
  meta: Meta.optional(),
  passthrough: z.string().max(1024).optional(),
});

export const CreateVideo = VideoFields.extend({
  input: z
    .object({
      url: z.url({ protocol: /^https?$/, message: 'input.url must be an http(s) URL' }).max(4096),
    })
    .strict(),
}).strict();

export const UpdateVideo = z
  .object({
    title: Title.optional(),
    description: z.string().max(10_000).optional(),
    categoryId: Id.nullable().optional(),
    tags: Tags.optional(),
    playbackPolicy: PlaybackPolicy.optional(),
    meta: Meta.optional(),
    coverTime: z.number().min(0).optional(),
  })
  .strict();

export const VideoListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
    status: VideoStatus.optional(),
    categoryId: Id.optional(),
    q: z.string().trim().min(1).max(200).optional(),
    tag: z.string().min(1).max(64).optional().describe('only videos with this tag (exact match)'),
    createdAfter: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('only videos created at or after this time'),
    createdBefore: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('only videos created before this time'),
    order: z
      .enum(['newest', 'oldest'])
      .default('newest')
      .describe('newest first (default) or oldest first; keep it the same across the pages of one listing'),
  })
  .strict();

export const Retranscode = z.object({ templateId: Id }).strict();

export const BatchDelete = z.object({ ids: z.array(Id).min(1).max(100) }).strict();
export const BatchDeleteResult = z.object({
  deleted: z.array(z.string()),
  failed: z.array(z.object({ id: z.string(), code: z.string() })),
});

export const SourceInfo = z.object({
  container: z.string().nullable(),
  videoCodec: z.string().nullable(),
  audioCodec: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  fps: z.number().nullable(),
  bitrate: z.number().nullable(),
  rotation: z.number(),
});

export const Rendition = z.object({
  name: z.string(),
  width: z.number(),
  height: z.number(),
  videoBitrate: z.number(),
  status: z.enum(['pending', 'ready']),
});

export const Video = z
  .object({
    id: Id,
    title: z.string().nullable(),
    description: z.string().nullable(),
    categoryId: z.string().nullable(),
    tags: z.array(z.string()),
    status: VideoStatus,
    playable: z.boolean(),
    progress: z.number(),
    duration: z.number().nullable(),
    width: z.number().nullable(),
    height: z.number().nullable(),
    sizeBytes: z.number().nullable(),
    source: SourceInfo.nullable(),
    renditions: z.array(Rendition),
    playback: z.object({
      id: z.string(),
      policy: PlaybackPolicy,
      hlsUrl: z.string(),
      mp4Urls: z.record(z.string(), z.string()),
      thumbnailUrl: z.string(),
      storyboardUrl: z.string(),
      embedUrl: z
        .string()
        .describe(
          'the embed page for an <iframe>; a signed video needs ?token= (aud v), and optionally &thumbToken= (aud t) and &storyboardToken= (aud s)',
        ),
    }),
    templateId: z.string().nullable(),
    detection: Detection.nullable(),
    error: z.object({ code: VideoErrorCode, message: z.string() }).nullable(),
    meta: z.record(z.string(), z.unknown()),
    passthrough: z.string().nullable(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    readyAt: IsoTime.nullable(),
    timings: z
      .object({
        uploadCompletedAt: IsoTime.nullable(),
        playableAt: IsoTime.nullable(),
        toPlayableSec: z.number().nullable().describe('upload (or import) complete → first playable'),
        toReadySec: z.number().nullable().describe('upload (or import) complete → every rendition ready'),
      })
      .describe('how long the video took to become playable and ready'),
  })
  .meta({ id: 'Video' });
export type Video = z.infer<typeof Video>;
