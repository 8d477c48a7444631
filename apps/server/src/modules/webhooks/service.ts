import type { CreateWebhook, WebhookEventType } from '@vodcloud/contracts';
import type { Logger } from 'pino';
import type { WebhookDeliveriesTable, WebhooksTable } from '../../db/schema';
import { Jobs } from '../../jobs';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { SecretBox } from '../../lib/secretbox';
import { nowIso } from '../../lib/time';
import { type JobQueue, UnrecoverableJobError } from '../../ports/queue';
import type { VodEvent } from '../events/service';
import type { WebhookRepository } from './repository';
import {
  checkEndpointUrl,
  DeliveryError,
  type DeliveryErrorCode,
  type LookupFn,
  newSecret,
  type PostResult,
  postWebhook,
  signedHeaders,
} from './sender';

export interface RetryPolicy {
  /** Delay before the 2nd attempt; doubles on each further one. */
  baseMs: number;
  /** Cap on one delay. */
  maxMs: number;
  /** Attempts in all, the first included. */
  attempts: number;
}

/**
 * The default schedule: 30 s, 1, 2, 4, 8, 16, 32 min, then every hour (capped): 31 attempts spread over
 * about 24 h 3 min after the first one (30+60+…+1920 s = 63.5 min, then 23 × 1 h).
 */
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 30_000, maxMs: 3_600_000, attempts: 31 };
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Endpoints per tenant: fan-out is one job per endpoint and event. */
export const MAX_WEBHOOKS_PER_TENANT = 50;

/** Delay after a failed attempt `attempt` (1-based), the queue's formula: baseMs · 2^(attempt−1), capped. */
export function retryDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
}

export interface WebhookServiceDeps {
  repo: WebhookRepository;
  /** Seals the endpoints' signing secrets at rest (lib/secretbox.ts). */
  box: SecretBox;
  queue: JobQueue;
  log: Logger;
  /** VOD_FETCH_ALLOW_HOSTS: hosts whose (private) addresses may be reached. */
  allowHosts: readonly string[];
  retry?: Partial<RetryPolicy>;
  /** Bound on one delivery attempt (default 10 s). */
  timeoutMs?: number;
  /** DNS resolution, for tests. */
  lookup?: LookupFn;
  /** Counts delivery attempts by outcome (vod_webhook_deliveries_total). */
  deliveries?: { inc(labels: { outcome: string }): void };
  /** Counts failed attempts by reason (vod_webhook_delivery_failures_total; see failureReason). */
  failures?: { inc(labels: { reason: string }): void };
}

/**
 * Why an attempt failed, a bounded label: the status class of the answer (`3xx`: redirects are not
 * followed, `4xx`, `5xx`, `other`), or the DeliveryError code when no answer came (`timeout`, `network`,
 * `forbidden_address`, `bad_url`).
 */
export function failureReason(o: { result?: PostResult; code?: DeliveryErrorCode }): string {
  if (o.code) return o.code;
  const status = o.result?.status ?? 0;
  return status >= 300 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

export function webhookView(row: WebhooksTable) {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    description: row.description,
    createdAt: row.created_at,
  };
}

export function deliveryView(row: WebhookDeliveriesTable) {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: row.attempt,
    status: row.status as 'pending' | 'succeeded' | 'failed' | 'retrying',
    responseStatus: row.response_status,
    responseBody: row.response_body,
    error: row.error,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
  };
}

/** What one attempt ended with. */
interface Outcome {
  ok: boolean;
  /** Another attempt makes no sense (forbidden or malformed URL). */
  permanent: boolean;
  result?: PostResult;
  error?: string;
  /** Why no answer came (no result). */
  code?: DeliveryErrorCode;
  durationMs: number;
}

export class WebhookService {
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  private readonly repo: WebhookRepository;
  private readonly box: SecretBox;
  private readonly jobs: Jobs;
  private readonly log: Logger;
  private readonly allowHosts: readonly string[];
  private readonly lookup: LookupFn | undefined;
  private readonly deliveryCount: WebhookServiceDeps['deliveries'];
  private readonly failureCount: WebhookServiceDeps['failures'];

  constructor(d: WebhookServiceDeps) {
    this.deliveryCount = d.deliveries;
    this.failureCount = d.failures;
    this.repo = d.repo;
    this.box = d.box;
    this.jobs = new Jobs(d.queue);
    this.log = d.log;
    this.allowHosts = d.allowHosts;
    this.lookup = d.lookup;
    this.retry = { ...DEFAULT_RETRY, ...d.retry };
    this.timeoutMs = d.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  // ------------------------------------------------------------------ the API

  async create(tenantId: string, input: CreateWebhook) {
    let url: URL;
    try {
      url = await checkEndpointUrl(input.url, this.allowHosts, this.lookup);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      throw new AppError('validation_failed', `The webhook URL cannot be used: ${err.message}`, {
        errors: [{ path: 'body.url', message: err.message }],
      });
    }
    if ((await this.repo.count(tenantId)) >= MAX_WEBHOOKS_PER_TENANT)
      throw new AppError(
        'conflict',
        `A tenant can have at most ${MAX_WEBHOOKS_PER_TENANT} webhook endpoints; delete one first`,
      );
    const id = newId();
    const secret = newSecret();
    const row: WebhooksTable = {
      id,
      tenant_id: tenantId,
      url: url.href,
      events: JSON.stringify(input.events),
      description: input.description ?? null,
      secret: this.box.seal('webhook-secret', id, secret),
      created_at: nowIso(),
      disabled_at: null,
    };
    await this.repo.insert(row);
    return { ...webhookView(row), secret };
  }

  async get(tenantId: string, id: string) {
    return webhookView(await this.require(tenantId, id));
  }

  async list(tenantId: string, limit: number, beforeId?: string) {
    return (await this.repo.list(tenantId, limit, beforeId)).map(webhookView);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if ((await this.repo.delete(tenantId, id)) === 0) throw new AppError('not_found', 'Webhook not found');
  }

  async deliveries(tenantId: string, id: string, limit: number, beforeId?: string) {
    await this.require(tenantId, id);
    return (await this.repo.deliveries(tenantId, id, limit, beforeId)).map(deliveryView);
  }

  /** Sends a `webhook.test` ping at once (one attempt, not retried) and returns its delivery log entry. */
  async test(tenantId: string, id: string) {
    const hook = await this.require(tenantId, id);
    const event = {
      id: newId(),
      type: 'webhook.test',
      createdAt: nowIso(),
      data: { webhookId: hook.id },
    };
    const outcome = await this.attempt(hook, event);
    const row = this.deliveryRow(hook, event, 1, outcome, outcome.ok ? 'succeeded' : 'failed', null);
    await this.repo.insertDelivery(row);
    return deliveryView(row);
  }

  /**
   * Sends the event of a logged delivery again now (one attempt, not retried, e.g. after fixing the
   * endpoint) and logs it as the event's next attempt. A `webhook.test` delivery sends a fresh ping.
   */
  async redeliver(tenantId: string, id: string, deliveryId: string) {
    const hook = await this.require(tenantId, id);
    const delivery = await this.repo.findDelivery(tenantId, id, deliveryId);
    if (!delivery) throw new AppError('not_found', 'Delivery not found');
    if (delivery.event_type === 'webhook.test') return this.test(tenantId, id);
    const ev = await this.repo.event(delivery.event_id);
    if (!ev || ev.tenant_id !== tenantId)
      throw new AppError('conflict', 'The event of this delivery is no longer kept; it cannot be sent again');
    const event = {
      id: ev.id,
      type: ev.type,
      createdAt: ev.created_at,
      data: JSON.parse(ev.data) as unknown,
    };
    const outcome = await this.attempt(hook, event);
    const attempt = (await this.repo.lastAttempt(hook.id, ev.id)) + 1;
    const row = this.deliveryRow(hook, event, attempt, outcome, outcome.ok ? 'succeeded' : 'failed', null);
    this.deliveryCount?.inc({ outcome: row.status });
    await this.repo.insertDelivery(row);
    return deliveryView(row);
  }

  private async require(tenantId: string, id: string): Promise<WebhooksTable> {
    const row = await this.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Webhook not found');
    return row;
  }

  // ------------------------------------------------------------------ fan-out and delivery

  /** Event listener: one delivery job per endpoint of the event's tenant subscribed to its type. */
  async fanOut(event: VodEvent): Promise<void> {
    const hooks = (await this.repo.active(event.tenantId)).filter((h) =>
      (JSON.parse(h.events) as string[]).includes(event.type),
    );
    for (const h of hooks) {
      // The job id (jobIds.webhookDelivery) makes a redelivered event (listener run twice) one delivery.
      await this.jobs.enqueue('webhook.deliver', { webhookId: h.id, eventId: event.id });
    }
  }

  /**
   * The job: one attempt to deliver `eventId` to `webhookId`, logged as a delivery row. Throws to have
   * the queue retry (non-2xx, timeout, network), UnrecoverableJobError for a URL that can never work.
   */
  async deliver(webhookId: string, eventId: string, attempt: number, signal?: AbortSignal) {
    const hook = await this.repo.findById(webhookId);
    if (!hook) return { skipped: 'webhook deleted' };
    const ev = await this.repo.event(eventId);
    if (!ev || ev.tenant_id !== hook.tenant_id) return { skipped: 'event not found' };
    const event = {
      id: ev.id,
      type: ev.type,
      createdAt: ev.created_at,
      data: JSON.parse(ev.data) as unknown,
    };
    const outcome = await this.attempt(hook, event, signal);
    const last = attempt >= this.retry.attempts;
    const status = outcome.ok ? 'succeeded' : outcome.permanent || last ? 'failed' : 'retrying';
    this.deliveryCount?.inc({ outcome: status });
    if (!outcome.ok) this.failureCount?.inc({ reason: failureReason(outcome) });
    const next =
      status === 'retrying' ? new Date(Date.now() + retryDelay(this.retry, attempt)).toISOString() : null;
    // A deleted endpoint keeps no log: do not write one for an attempt that raced its deletion.
    if (await this.repo.findById(webhookId))
      await this.repo.insertDelivery(this.deliveryRow(hook, event, attempt, outcome, status, next));
    if (outcome.ok) return { status: outcome.result!.status };
    this.log.info(
      { webhookId, eventId, attempt, status, error: outcome.error },
      'webhook delivery attempt failed',
    );
    if (outcome.permanent) throw new UnrecoverableJobError(outcome.error ?? 'delivery failed');
    throw new Error(outcome.error ?? 'delivery failed');
  }

  private async attempt(
    hook: WebhooksTable,
    event: { id: string; type: string; createdAt: string; data: unknown },
    signal?: AbortSignal,
  ): Promise<Outcome> {
    const started = Date.now();
    // These exact bytes are signed and sent.
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      createdAt: event.createdAt,
      data: event.data,
    });
    try {
      const result = await postWebhook({
        url: hook.url,
        body,
        headers: signedHeaders(this.box.openText('webhook-secret', hook.id, hook.secret), event.id, body),
        allowHosts: this.allowHosts,
        timeoutMs: this.timeoutMs,
        lookup: this.lookup,
        signal,
      });
      const ok = result.status >= 200 && result.status < 300;
      let error: string | undefined;
      if (!ok)
        error =
          result.status >= 300 && result.status < 400
            ? `the endpoint answered ${result.status} (redirects are not followed)`
            : `the endpoint answered ${result.status}`;
      return { ok, permanent: false, result, error, durationMs: result.durationMs };
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err; // aborted (job cancelled or stopping): the queue decides
      return {
        ok: false,
        permanent: err.permanent,
        error: err.message,
        code: err.code,
        durationMs: Date.now() - started,
      };
    }
  }

  private deliveryRow(
    hook: WebhooksTable,
    event: { id: string; type: string },
    attempt: number,
    o: Outcome,
    status: WebhookDeliveriesTable['status'],
    nextAttemptAt: string | null,
  ): WebhookDeliveriesTable {
    return {
      id: newId(),
      webhook_id: hook.id,
      tenant_id: hook.tenant_id,
      event_id: event.id,
      event_type: event.type,
      attempt,
      status,
      response_status: o.result?.status ?? null,
      response_body: o.result?.body ?? null,
      error: o.error?.slice(0, 1000) ?? null,
      duration_ms: o.durationMs,
      created_at: nowIso(),
      next_attempt_at: nextAttemptAt,
    };
  }
}
