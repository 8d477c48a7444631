import { z } from 'zod';

export const Id = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a 26-character id');
export const IsoTime = z.string().meta({ format: 'date-time' });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'An error, as application/problem+json' });

export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const IdParams = z.object({ id: Id }).strict();

/** Free-form metadata a client attaches to a resource: string keys, JSON values, bounded size. */
export const Meta = z
  .record(z.string().max(64), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 8192, 'meta must serialise to at most 8 KiB');

export const Tags = z.array(z.string().min(1).max(64)).max(50);

export const NoContent = z.null().describe('No content');
