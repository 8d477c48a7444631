import {
  Category,
  CreateCategory,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  Problem,
  UpdateCategory,
} from '@vodcloud/contracts';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { CategoryService } from './service';

export function categoryRoutes(app: ZodApp, categories: CategoryService): void {
  app.get('/v1/categories', {
    config: { access: 'read' },
    schema: {
      operationId: 'listCategories',
      tags: ['categories'],
      summary: 'List categories',
      querystring: ListQuery,
      response: { 200: listOf(Category) },
    },
    handler: async (req) => {
      const p = page(
        await categories.list(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor)),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.post('/v1/categories', {
    config: { access: 'write', audit: 'category.create' },
    schema: {
      operationId: 'createCategory',
      tags: ['categories'],
      summary: 'Create a category',
      body: CreateCategory,
      response: { 201: Category, 409: Problem },
    },
    handler: async (req, reply) => reply.code(201).send(await categories.create(tenantOf(req), req.body)),
  });
  app.get('/v1/categories/:id', {
    config: { access: 'read' },
    schema: {
      operationId: 'getCategory',
      tags: ['categories'],
      summary: 'Get a category',
      params: IdParams,
      response: { 200: Category },
    },
    handler: async (req) => categories.get(tenantOf(req), req.params.id),
  });
  app.patch('/v1/categories/:id', {
    config: { access: 'write', audit: 'category.update' },
    schema: {
      operationId: 'updateCategory',
      tags: ['categories'],
      summary: 'Change a category',
      params: IdParams,
      body: UpdateCategory,
      response: { 200: Category, 409: Problem },
    },
    handler: async (req) => categories.update(tenantOf(req), req.params.id, req.body),
  });
  app.delete('/v1/categories/:id', {
    config: { access: 'write', audit: 'category.delete' },
    schema: {
      operationId: 'deleteCategory',
      tags: ['categories'],
      summary: 'Delete a category; its videos keep existing without one',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await categories.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
}
