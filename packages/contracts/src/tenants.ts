import { z } from 'zod';
import { Id, IsoTime } from './common';

export const Scope = z.enum(['read', 'write', 'admin']);
export type Scope = z.infer<typeof Scope>;

export const Tenant = z
  .object({
    id: Id,
    name: z.string(),
    storageQuotaBytes: z.number().nullable().describe('null: the platform default; 0: unlimited'),
    createdAt: IsoTime,
  })
  .meta({ id: 'Tenant' });

export const UpdateTenant = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    storageQuotaBytes: z.number().int().min(0).nullable().optional(),
  })
  .strict();
export type Tenant = z.infer<typeof Tenant>;

export const CreateTenant = z.object({ name: z.string().trim().min(1).max(200) }).strict();

export const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(200),
    scopes: z
      .array(z.enum(['read', 'write']))
      .min(1)
      .max(2)
      .refine((s) => new Set(s).size === s.length, 'scopes must not repeat'),
  })
  .strict();

export const ApiKey = z
  .object({
    id: Id,
    name: z.string(),
    scopes: z.array(Scope),
    createdAt: IsoTime,
    revokedAt: IsoTime.nullable(),
    lastUsedAt: IsoTime.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const CreatedApiKey = ApiKey.extend({
  key: z.string().describe('The secret key. Shown only in this response; store it now.'),
}).meta({ id: 'CreatedApiKey' });

export const TenantKeyParams = z.object({ id: Id, keyId: Id }).strict();
