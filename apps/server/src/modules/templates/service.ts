import { DEFAULT_TEMPLATE, TemplateSpec, type UpdateTemplate } from '@vodcloud/contracts';
import type { z } from 'zod';
import { isUniqueViolation } from '../../db/errors';
import type { TemplatesTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { TemplateRepository } from './repository';

export function templateView(row: TemplatesTable) {
  const spec = TemplateSpec.parse(JSON.parse(row.spec));
  return {
    id: row.id,
    name: row.name,
    isDefault: row.is_default === 1,
    renditions: spec.renditions,
    audio: spec.audio,
    hls: spec.hls,
    mp4: spec.mp4,
    watermark: spec.watermark ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const duplicateName = (name: string) =>
  new AppError('conflict', `A template named ${JSON.stringify(name)} already exists`);

export class TemplateService {
  constructor(private readonly repo: TemplateRepository) {}

  async ensureDefault(tenantId: string) {
    const existing = await this.repo.findDefault(tenantId);
    if (existing) return templateView(existing);
    return this.create(tenantId, { name: 'default', isDefault: true, ...DEFAULT_TEMPLATE });
  }

  async create(tenantId: string, input: { name: string; isDefault?: boolean } & TemplateSpec) {
    const { name, isDefault, ...rest } = input;
    const spec = TemplateSpec.parse(rest);
    const at = nowIso();
    const row: TemplatesTable = {
      id: newId(),
      tenant_id: tenantId,
      name,
      is_default: 0,
      spec: JSON.stringify(spec),
      created_at: at,
      updated_at: at,
    };
    try {
      await this.repo.insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(name);
      throw err;
    }
    if (isDefault) await this.repo.setDefault(tenantId, row.id, at);
    return this.get(tenantId, row.id);
  }

  async get(tenantId: string, id: string) {
    const row = await this.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Template not found');
    return templateView(row);
  }

  async getSpec(tenantId: string, id?: string): Promise<{ id: string; spec: TemplateSpec }> {
    const row = id ? await this.repo.find(tenantId, id) : await this.repo.findDefault(tenantId);
    if (!row) {
      if (id)
        throw new AppError('validation_failed', 'templateId names no template of yours', {
          errors: [{ path: 'body.templateId', message: 'unknown template' }],
        });
      const t = await this.ensureDefault(tenantId);
      return { id: t.id, spec: t };
    }
    return { id: row.id, spec: TemplateSpec.parse(JSON.parse(row.spec)) };
  }

  async list(tenantId: string, limit: number, beforeId?: string) {
    return (await this.repo.list(tenantId, limit, beforeId)).map(templateView);
  }

  async update(tenantId: string, id: string, patch: z.infer<typeof UpdateTemplate>) {
    const current = await this.get(tenantId, id);
    const { name, isDefault, ...specPatch } = patch;
    const merged = {
      renditions: specPatch.renditions ?? current.renditions,
      audio: specPatch.audio ?? current.audio,
      hls: { ...current.hls, ...specPatch.hls },
      mp4: specPatch.mp4 ?? current.mp4,
      watermark: specPatch.watermark === undefined ? current.watermark : specPatch.watermark,
    };
    const parsed = TemplateSpec.safeParse(merged);
    if (!parsed.success) {
      throw new AppError('validation_failed', 'The template would be invalid', {
        errors: parsed.error.issues.map((i) => ({
          path: ['body', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      });
    }
    const at = nowIso();
    try {
      await this.repo.update(tenantId, id, {
        name: name ?? current.name,
        spec: JSON.stringify(parsed.data),
        updated_at: at,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(name ?? current.name);
      throw err;
    }
    if (isDefault) await this.repo.setDefault(tenantId, id, at);
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const current = await this.get(tenantId, id);
    if (current.isDefault)
      throw new AppError(
        'conflict',
        'The default template cannot be deleted; make another the default first',
      );
    if ((await this.repo.countVideosUsing(tenantId, id)) > 0)
      throw new AppError('conflict', 'Videos still being processed use this template');
    await this.repo.delete(tenantId, id);
  }
}
