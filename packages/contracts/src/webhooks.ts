import { z } from 'zod';
import { Id, IsoTime } from './common';
import { EVENT_TYPES, EventType } from './events';

/** Event types a webhook endpoint can subscribe to (api.md "Webhooks"): every type of the event log. */
export const WEBHOOK_EVENT_TYPES = EVENT_TYPES;
export const WebhookEventType = EventType;
export type WebhookEventType = EventType;

export const CreateWebhook = z
  .object({
    url: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .describe('http(s) URL that receives POSTs; private addresses are refused'),
    events: z
      .array(WebhookEventType)
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((e) => new Set(e).size === e.length, 'events must not repeat'),
    description: z.string().max(500).nullable().optional(),
  })
  .strict();
export type CreateWebhook = z.infer<typeof CreateWebhook>;

export const Webhook = z
  .object({
    id: Id,
    url: z.string(),
    events: z.array(WebhookEventType),
    description: z.string().nullable(),
    createdAt: IsoTime,
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const CreatedWebhook = Webhook.extend({
  secret: z
    .string()
    .describe(
      'Signing secret, whsec_<base64 key> (Standard Webhooks); shown only in this response. The HMAC key is the base64-decoded part.',
    ),
}).meta({ id: 'CreatedWebhook' });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

export const WebhookDeliveryStatus = z.enum(['pending', 'succeeded', 'failed', 'retrying']);

export const WebhookDelivery = z
  .object({
    id: Id,
    webhookId: Id,
    eventId: z.string(),
    eventType: z.string(),
    attempt: z.number().int(),
    status: WebhookDeliveryStatus.describe(
      'succeeded: 2xx; retrying: this attempt failed and another is scheduled (nextAttemptAt); failed: no further attempt',
    ),
    responseStatus: z.number().int().nullable(),
    responseBody: z.string().nullable().describe('The start of the response body (at most 2 KiB)'),
    error: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    createdAt: IsoTime,
    nextAttemptAt: IsoTime.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;
