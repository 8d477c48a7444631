import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { Jobs } from '../../jobs';
import type { SecretBox } from '../../lib/secretbox';
import type { JobQueue } from '../../ports/queue';
import type { EventService } from '../events/service';
import { WebhookRepository } from './repository';
import type { LookupFn } from './sender';
import { type RetryPolicy, WebhookService, type WebhookServiceDeps } from './service';

export interface WebhookSetup {
  db: Database;
  /** Seals the signing secrets at rest. */
  box: SecretBox;
  queue: JobQueue;
  events: EventService;
  log: Logger;
  /** config.fetchAllowHosts (VOD_FETCH_ALLOW_HOSTS). */
  allowHosts: readonly string[];
  /** Default DEFAULT_RETRY: 31 attempts from 30 s doubling to 1 h, about 24 h in all. */
  retry?: Partial<RetryPolicy>;
  /** One attempt's bound, default 10 s. */
  timeoutMs?: number;
  lookup?: LookupFn;
  deliveries?: WebhookServiceDeps['deliveries'];
  failures?: WebhookServiceDeps['failures'];
}

/** Defines the delivery job on the queue (every process that may run the worker role needs it). */
export function defineWebhookJobs(queue: JobQueue, webhooks: WebhookService): void {
  new Jobs(queue).define('webhook.deliver', {
    attempts: webhooks.retry.attempts,
    backoff: { baseMs: webhooks.retry.baseMs, maxMs: webhooks.retry.maxMs },
    timeoutMs: webhooks.timeoutMs + 5_000,
    handler: ({ webhookId, eventId }, ctx) => webhooks.deliver(webhookId, eventId, ctx.attempt, ctx.signal),
  });
}

/** Builds the service, defines its job and subscribes the fan-out to the event log. */
export function setupWebhooks(s: WebhookSetup): WebhookService {
  const webhooks = new WebhookService({
    repo: new WebhookRepository(s.db),
    box: s.box,
    queue: s.queue,
    log: s.log,
    allowHosts: s.allowHosts,
    retry: s.retry,
    timeoutMs: s.timeoutMs,
    lookup: s.lookup,
    deliveries: s.deliveries,
    failures: s.failures,
  });
  defineWebhookJobs(s.queue, webhooks);
  s.events.on((event) => webhooks.fanOut(event));
  return webhooks;
}
