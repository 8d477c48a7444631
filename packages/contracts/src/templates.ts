import { z } from 'zod';
import { Id, IsoTime } from './common';

export const RenditionSpec = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lowercase letters, digits, - and _, at most 32'),
    height: z.number().int().min(144).max(4320),
    videoBitrate: z.number().int().min(100_000).max(50_000_000),
    maxFps: z.number().min(1).max(120).optional(),
  })
  .strict();

export const WatermarkSpec = z
  .object({
    imageUrl: z.url().optional(),
    objectKey: z.string().max(1024).optional(),
    position: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center']).default('top-right'),
    margin: z.number().min(0).max(0.5).default(0.02).describe('fraction of the video width'),
    opacity: z.number().min(0).max(1).default(1),
    width: z
      .number()
      .min(0.01)
      .max(1)
      .default(0.1)
      .describe('watermark width as a fraction of the video width'),
  })
  .strict()
  .refine((w) => !!w.imageUrl !== !!w.objectKey, 'give exactly one of imageUrl or objectKey');

const renditionsField = z
  .array(RenditionSpec)
  .min(1)
  .max(10)
  .superRefine((list, ctx) => {
    const names = new Set<string>();
    const heights = new Set<number>();
    list.forEach((r, i) => {
      if (names.has(r.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate rendition name ${r.name}` });
      if (heights.has(r.height))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'height'],
          message: `duplicate rendition height ${r.height}`,
        });
      names.add(r.name);
      heights.add(r.height);
    });
  });

export const TemplateSpec = z
  .object({
    renditions: renditionsField,
    audio: z
      .object({ bitrate: z.number().int().min(32_000).max(512_000) })
      .strict()
      .default({ bitrate: 128_000 }),
    hls: z
      .object({
        segmentDuration: z.number().min(1).max(10).default(4),
        encryption: z.enum(['none', 'aes-128']).default('none'),
      })
      .strict()
      .default({ segmentDuration: 4, encryption: 'none' }),
    mp4: z.union([z.enum(['none', 'highest']), z.array(z.string()).min(1)]).default('highest'),
    watermark: WatermarkSpec.nullable().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (Array.isArray(t.mp4)) {
      const names = new Set(t.renditions.map((r) => r.name));
      t.mp4.forEach((n, i) => {
        if (!names.has(n))
          ctx.addIssue({ code: 'custom', path: ['mp4', i], message: `no rendition named ${n}` });
      });
    }
  });
export type TemplateSpec = z.infer<typeof TemplateSpec>;

export const CreateTemplate = z
  .object({ name: z.string().trim().min(1).max(200), isDefault: z.boolean().optional() })
  .and(TemplateSpec);

export const UpdateTemplate = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    isDefault: z.literal(true).optional(),
    renditions: renditionsField.optional(),
    audio: z
      .object({ bitrate: z.number().int().min(32_000).max(512_000) })
      .strict()
      .optional(),
    hls: z
      .object({ segmentDuration: z.number().min(1).max(10), encryption: z.enum(['none', 'aes-128']) })
      .partial()
      .strict()
      .optional(),
    mp4: z.union([z.enum(['none', 'highest']), z.array(z.string()).min(1)]).optional(),
    watermark: WatermarkSpec.nullable().optional(),
  })
  .strict();

export const Template = z
  .object({
    id: Id,
    name: z.string(),
    isDefault: z.boolean(),
    renditions: z.array(RenditionSpec),
    audio: z.object({ bitrate: z.number() }),
    hls: z.object({ segmentDuration: z.number(), encryption: z.enum(['none', 'aes-128']) }),
    mp4: z.union([z.enum(['none', 'highest']), z.array(z.string())]),
    watermark: z.unknown().nullable(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof Template>;

export const DEFAULT_TEMPLATE: TemplateSpec = {
  renditions: [
    { name: '1080p', height: 1080, videoBitrate: 5_000_000 },
    { name: '720p', height: 720, videoBitrate: 3_000_000 },
    { name: '480p', height: 480, videoBitrate: 1_500_000 },
    { name: '360p', height: 360, videoBitrate: 800_000 },
  ],
  audio: { bitrate: 128_000 },
  hls: { segmentDuration: 4, encryption: 'none' },
  mp4: 'highest',
  watermark: null,
};
