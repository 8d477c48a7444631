import {
  CreateTemplate,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  Problem,
  Template,
  UpdateTemplate,
} from '@vodcloud/contracts';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { TemplateService } from './service';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };

export function templateRoutes(app: ZodApp, templates: TemplateService): void {
  app.get('/v1/templates', {
    config: { access: 'read' },
    schema: {
      tags: ['templates'],
      summary: 'List transcoding templates',
      querystring: ListQuery,
      response: { 200: listOf(Template), ...errors },
    },
    handler: async (req) => {
      const p = page(
        await templates.list(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor)),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.post('/v1/templates', {
    config: { access: 'write', audit: 'template.create' },
    schema: {
      tags: ['templates'],
      summary: 'Create a template',
      body: CreateTemplate,
      response: { 201: Template, ...errors },
    },
    handler: async (req, reply) => reply.code(201).send(await templates.create(tenantOf(req), req.body)),
  });
  app.get('/v1/templates/:id', {
    config: { access: 'read' },
    schema: {
      tags: ['templates'],
      summary: 'Get a template',
      params: IdParams,
      response: { 200: Template, ...errors },
    },
    handler: async (req) => templates.get(tenantOf(req), req.params.id),
  });
  app.patch('/v1/templates/:id', {
    config: { access: 'write', audit: 'template.update' },
    schema: {
      tags: ['templates'],
      summary: 'Change a template',
      params: IdParams,
      body: UpdateTemplate,
      response: { 200: Template, ...errors },
    },
    handler: async (req) => templates.update(tenantOf(req), req.params.id, req.body),
  });
  app.delete('/v1/templates/:id', {
    config: { access: 'write', audit: 'template.delete' },
    schema: {
      tags: ['templates'],
      summary: 'Delete a template (not the default)',
      params: IdParams,
      response: { 204: NoContent, ...errors },
    },
    handler: async (req, reply) => {
      await templates.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
}
