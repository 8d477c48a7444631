import {
  CreatedWebhook,
  CreateWebhook,
  Id,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  Problem,
  Webhook,
  WebhookDelivery,
} from '@vodcloud/contracts';
import { z } from 'zod';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { WebhookService } from './service';

const DeliveryParams = z.object({ id: Id, deliveryId: Id }).strict();

export function webhookRoutes(app: ZodApp, webhooks: WebhookService): void {
  app.get('/v1/webhooks', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listWebhooks',
      tags: ['webhooks'],
      summary: 'List webhook endpoints (secrets are never listed)',
      querystring: ListQuery,
      response: { 200: listOf(Webhook) },
    },
    handler: async (req) => {
      const p = page(
        await webhooks.list(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor)),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.post('/v1/webhooks', {
    config: { access: 'settings', audit: 'webhook.create' },
    schema: {
      operationId: 'createWebhook',
      tags: ['webhooks'],
      summary: 'Create a webhook endpoint; the signing secret is shown only in this response',
      description:
        'Events are POSTed as {id, type, createdAt, data} with Standard Webhooks headers webhook-id, ' +
        'webhook-timestamp (unix seconds) and webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>, ' +
        'the key being the base64-decoded part of the whsec_ secret. Delivered at least once; a non-2xx answer ' +
        '(redirects included), a timeout (10 s) or a network error is retried with exponential backoff for about 24 hours.',
      body: CreateWebhook,
      response: { 201: CreatedWebhook, 409: Problem },
    },
    handler: async (req, reply) => reply.code(201).send(await webhooks.create(tenantOf(req), req.body)),
  });
  app.get('/v1/webhooks/:id', {
    config: { access: 'settings' },
    schema: {
      operationId: 'getWebhook',
      tags: ['webhooks'],
      summary: 'Get a webhook endpoint',
      params: IdParams,
      response: { 200: Webhook },
    },
    handler: async (req) => webhooks.get(tenantOf(req), req.params.id),
  });
  app.delete('/v1/webhooks/:id', {
    config: { access: 'settings', audit: 'webhook.delete' },
    schema: {
      operationId: 'deleteWebhook',
      tags: ['webhooks'],
      summary: 'Delete a webhook endpoint and its delivery log; pending deliveries are dropped',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await webhooks.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
  app.get('/v1/webhooks/:id/deliveries', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listWebhookDeliveries',
      tags: ['webhooks'],
      summary: 'Delivery attempts of a webhook endpoint, newest first',
      params: IdParams,
      querystring: ListQuery,
      response: { 200: listOf(WebhookDelivery) },
    },
    handler: async (req) => {
      const p = page(
        await webhooks.deliveries(
          tenantOf(req),
          req.params.id,
          req.query.limit,
          decodeCursor(req.query.cursor),
        ),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.post('/v1/webhooks/:id/test', {
    config: { access: 'settings', audit: 'webhook.test' },
    schema: {
      operationId: 'testWebhook',
      tags: ['webhooks'],
      summary: 'Send a webhook.test ping now (one attempt, not retried); returns its delivery',
      params: IdParams,
      response: { 200: WebhookDelivery },
    },
    handler: async (req) => webhooks.test(tenantOf(req), req.params.id),
  });
  app.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
    config: { access: 'write', audit: 'webhook.redeliver' },
    schema: {
      operationId: 'redeliverWebhookDelivery',
      tags: ['webhooks'],
      summary:
        'Send the event of a logged delivery again now (one attempt, not retried); returns the new delivery',
      params: DeliveryParams,
      response: { 200: WebhookDelivery },
    },
    handler: async (req) => webhooks.redeliver(tenantOf(req), req.params.id, req.params.deliveryId),
  });
}
