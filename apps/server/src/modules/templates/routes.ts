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

export function templateRoutes(app: ZodApp, templates: TemplateService): void {
  app.get('/v1/templates', {
    config: { access: 'read' },
    schema: {
      operationId: 'listTemplates',
      tags: ['templates'],
      summary: 'List transcoding templates',
      querystring: ListQuery,
      response: { 200: listOf(Template) },
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
    config: { access: 'settings', audit: 'template.create' },
    schema: {
      operationId: 'createTemplate',
      tags: ['templates'],
      summary: 'Create a template',
      body: CreateTemplate,
      response: { 201: Template, 409: Problem },
    },
    handler: async (req, reply) => reply.code(201).send(await templates.create(tenantOf(req), req.body)),
  });
  app.get('/v1/templates/:id', {
    config: { access: 'read' },
    schema: {
      operationId: 'getTemplate',
      tags: ['templates'],
      summary: 'Get a template',
      params: IdParams,
      response: { 200: Template },
    },
    handler: async (req) => templates.get(tenantOf(req), req.params.id),
  });
  app.patch('/v1/templates/:id', {
    config: { access: 'settings', audit: 'template.update' },
    schema: {
      operationId: 'updateTemplate',
      tags: ['templates'],
      summary: 'Change a template',
      params: IdParams,
      body: UpdateTemplate,
      response: { 200: Template, 409: Problem },
    },
    handler: async (req) => templates.update(tenantOf(req), req.params.id, req.body),
  });
  app.delete('/v1/templates/:id', {
    config: { access: 'settings', audit: 'template.delete' },
    schema: {
      operationId: 'deleteTemplate',
      tags: ['templates'],
      summary: 'Delete a template (not the default)',
      params: IdParams,
      response: { 204: NoContent, 409: Problem },
    },
    handler: async (req, reply) => {
      await templates.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
}
