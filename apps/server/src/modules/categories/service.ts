import type { CreateCategory, UpdateCategory } from '@vodcloud/contracts';
import type { z } from 'zod';
import { isUniqueViolation } from '../../db/errors';
import type { CategoriesTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { CategoryRepository } from './repository';

export function categoryView(row: CategoriesTable) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const duplicate = (name: string) =>
  new AppError('conflict', `A category named ${JSON.stringify(name)} already exists`);

export class CategoryService {
  constructor(private readonly repo: CategoryRepository) {}

  async create(tenantId: string, input: z.infer<typeof CreateCategory>) {
    const at = nowIso();
    const row: CategoriesTable = {
      id: newId(),
      tenant_id: tenantId,
      name: input.name,
      description: input.description ?? null,
      created_at: at,
      updated_at: at,
    };
    try {
      await this.repo.insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(input.name);
      throw err;
    }
    return categoryView(row);
  }

  async get(tenantId: string, id: string) {
    const row = await this.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Category not found');
    return categoryView(row);
  }

  /** Throws validation_failed when a body names a category the tenant does not have. */
  async assertExists(
    tenantId: string,
    id: string | null | undefined,
    path = 'body.categoryId',
  ): Promise<void> {
    if (!id) return;
    if (!(await this.repo.find(tenantId, id)))
      throw new AppError('validation_failed', 'categoryId names no category of yours', {
        errors: [{ path, message: 'unknown category' }],
      });
  }

  async list(tenantId: string, limit: number, beforeId?: string) {
    return (await this.repo.list(tenantId, limit, beforeId)).map(categoryView);
  }

  async update(tenantId: string, id: string, patch: z.infer<typeof UpdateCategory>) {
    const current = await this.get(tenantId, id);
    try {
      await this.repo.update(tenantId, id, {
        name: patch.name ?? current.name,
        description: patch.description === undefined ? current.description : patch.description,
        updated_at: nowIso(),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(patch.name ?? current.name);
      throw err;
    }
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if ((await this.repo.delete(tenantId, id, nowIso())) === 0)
      throw new AppError('not_found', 'Category not found');
  }
}
