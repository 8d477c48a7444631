import {
  ApiKey,
  CreateApiKey,
  CreatedApiKey,
  CreateTenant,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  Tenant,
  TenantKeyParams,
  UpdateTenant,
} from '@vodcloud/contracts';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { TenantService } from './service';

export function tenantRoutes(app: ZodApp, tenants: TenantService): void {
  app.post('/v1/tenants', {
    config: { access: 'admin', audit: 'tenant.create' },
    schema: {
      operationId: 'createTenant',
      tags: ['tenants'],
      summary: 'Create a tenant (admin)',
      body: CreateTenant,
      response: { 201: Tenant },
    },
    handler: async (req, reply) => reply.code(201).send(await tenants.createTenant(req.body.name)),
  });

  app.get('/v1/tenants', {
    config: { access: 'admin', audit: 'tenant.list' },
    schema: {
      operationId: 'listTenants',
      tags: ['tenants'],
      summary: 'List tenants (admin)',
      querystring: ListQuery,
      response: { 200: listOf(Tenant) },
    },
    handler: async (req) => {
      const rows = await tenants.listTenants(req.query.limit, decodeCursor(req.query.cursor));
      const p = page(rows, req.query.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });

  app.get('/v1/tenants/:id', {
    config: { access: 'admin', audit: 'tenant.read' },
    schema: {
      operationId: 'getTenant',
      tags: ['tenants'],
      summary: 'Get a tenant (admin)',
      params: IdParams,
      response: { 200: Tenant },
    },
    handler: async (req) => tenants.getTenant(req.params.id),
  });

  app.patch('/v1/tenants/:id', {
    config: { access: 'admin', audit: 'tenant.update' },
    schema: {
      operationId: 'updateTenant',
      tags: ['tenants'],
      summary: 'Rename a tenant or set its storage quota (admin)',
      params: IdParams,
      body: UpdateTenant,
      response: { 200: Tenant },
    },
    handler: async (req) => tenants.updateTenant(req.params.id, req.body),
  });

  app.post('/v1/tenants/:id/api-keys', {
    config: { access: 'admin', audit: { action: 'api_key.create', tenantParam: 'id' } },
    schema: {
      operationId: 'createApiKey',
      tags: ['tenants'],
      summary: 'Create an API key for a tenant (admin); the key is shown only in this response',
      params: IdParams,
      body: CreateApiKey,
      response: { 201: CreatedApiKey },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await tenants.createKey(req.params.id, req.body.name, req.body.scopes)),
  });

  app.get('/v1/tenants/:id/api-keys', {
    config: { access: 'admin', audit: { action: 'api_key.list', target: 'tenant', tenantParam: 'id' } },
    schema: {
      operationId: 'listApiKeys',
      tags: ['tenants'],
      summary: "List a tenant's API keys (admin); secrets are never shown",
      params: IdParams,
      querystring: ListQuery,
      response: { 200: listOf(ApiKey) },
    },
    handler: async (req) => {
      const rows = await tenants.listKeys(req.params.id, req.query.limit, decodeCursor(req.query.cursor));
      const p = page(rows, req.query.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });

  app.delete('/v1/tenants/:id/api-keys/:keyId', {
    config: { access: 'admin', audit: { action: 'api_key.revoke', idParam: 'keyId', tenantParam: 'id' } },
    schema: {
      operationId: 'revokeApiKey',
      tags: ['tenants'],
      summary: 'Revoke an API key at once (admin)',
      params: TenantKeyParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await tenants.revokeKey(req.params.id, req.params.keyId);
      return reply.code(204).send(null);
    },
  });
}
