import { z } from 'zod';
import { Id, IsoTime } from './common';

export const CreateCategory = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullable().optional(),
  })
  .strict();
export const UpdateCategory = CreateCategory.partial().strict();

export const Category = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string().nullable(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
  })
  .meta({ id: 'Category' });
export type Category = z.infer<typeof Category>;
