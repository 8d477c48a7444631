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

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };

export function categoryRoutes(app: ZodApp, categories: CategoryService): void {
  app.get('/v1/categories', {
    config: { access: 'read' },
    schema: {
      tags: ['categories'],
      summary: 'List categories',
      querystring: ListQuery,
      response: { 200: listOf(Category), ...errors },
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
      tags: ['categories'],
      summary: 'Create a category',
      body: CreateCategory,
      response: { 201: Category, ...errors },
    },
    handler: async (req, reply) => reply.code(201).send(await categories.create(tenantOf(req), req.body)),
  });
  app.get('/v1/categories/:id', {
    config: { access: 'read' },
    schema: {
      tags: ['categories'],
      summary: 'Get a category',
      params: IdParams,
      response: { 200: Category, ...errors },
    },
    handler: async (req) => categories.get(tenantOf(req), req.params.id),
  });
  app.patch('/v1/categories/:id', {
    config: { access: 'write', audit: 'category.update' },
    schema: {
      tags: ['categories'],
      summary: 'Change a category',
      params: IdParams,
      body: UpdateCategory,
      response: { 200: Category, ...errors },
    },
    handler: async (req) => categories.update(tenantOf(req), req.params.id, req.body),
  });
  app.delete('/v1/categories/:id', {
    config: { access: 'write', audit: 'category.delete' },
    schema: {
      tags: ['categories'],
      summary: 'Delete a category; its videos keep existing without one',
      params: IdParams,
      response: { 204: NoContent, ...errors },
    },
    handler: async (req, reply) => {
      await categories.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
}
