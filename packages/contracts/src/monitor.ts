import { z } from 'zod';
import { IsoTime } from './common';

/** Cluster, call statistics and alerts: the admin endpoints of the monitor (modules/monitor). */

const isoInput = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

export const MonitorQuery = z
  .object({
    service: z.string().min(1).max(100).optional(),
    method: z.string().min(1).max(100).optional(),
    side: z.enum(['consumer', 'provider']).optional(),
    /** Default: `to` minus 60 minutes. */
    from: isoInput.optional(),
    /** Default: now. */
    to: isoInput.optional(),
  })
  .strict();

export const CallFigures = z
  .object({
    calls: z.number().int(),
    errors: z.number().int(),
    meanMs: z.number(),
    p95Ms: z.number().describe('Estimated from duration buckets: the upper bound of the bucket it falls in'),
    maxMs: z.number(),
  })
  .meta({ id: 'CallFigures' });

export const CallSeries = z
  .object({
    service: z.string(),
    method: z.string(),
    side: z.enum(['consumer', 'provider']),
    points: z.array(CallFigures.extend({ minute: IsoTime })),
    totals: CallFigures,
  })
  .meta({ id: 'CallSeries' });

export const MonitorStats = z
  .object({
    from: IsoTime,
    to: IsoTime,
    series: z.array(CallSeries),
    totals: CallFigures,
  })
  .meta({ id: 'MonitorStats' });

export const InstanceHealth = z
  .object({
    status: z.enum(['healthy', 'unhealthy', 'unknown']),
    checkedAt: IsoTime.nullable(),
    detail: z.string().nullable(),
  })
  .meta({ id: 'InstanceHealth' });

export const ClusterInstance = z
  .object({
    id: z.string(),
    address: z.string().describe('host:port'),
    url: z.string().nullable().describe('How other nodes reach it (registry metadata.url)'),
    roles: z.array(z.string()),
    version: z.string().nullable(),
    startedAt: IsoTime,
    uptimeSec: z.number().int(),
    load: z.number(),
    weight: z.number(),
    health: InstanceHealth,
  })
  .meta({ id: 'ClusterInstance' });

export const QueueDepth = z
  .object({
    name: z.string().describe('job name'),
    queue: z
      .enum(['cpu', 'io', 'fast', 'detect'])
      .nullable()
      .describe('resource class (null: a name this version does not know)'),
    waiting: z.number().int().describe('ready to run now'),
    delayed: z.number().int().describe('scheduled for later, or backing off before a retry'),
    active: z.number().int().describe('running'),
  })
  .meta({ id: 'QueueDepth' });

export const ClusterView = z
  .object({
    services: z.array(z.object({ name: z.string(), instances: z.array(ClusterInstance) })),
    /** Sentinels whose health view this merges (0: health is unknown everywhere). */
    sentinels: z.number().int(),
    queues: z.array(QueueDepth).describe('jobs pending in the queue store, per job name (store-wide)'),
  })
  .meta({ id: 'ClusterView' });

export const Alert = z
  .object({
    id: z.string(),
    rule: z.string(),
    subject: z.string(),
    severity: z.enum(['warning', 'critical']),
    state: z.enum(['open', 'resolved']),
    message: z.string(),
    value: z.number().nullable(),
    threshold: z.number().nullable(),
    openedAt: IsoTime,
    resolvedAt: IsoTime.nullable(),
    lastSeenAt: IsoTime,
  })
  .meta({ id: 'Alert' });

export const AlertQuery = z
  .object({
    state: z.enum(['open', 'resolved', 'all']).default('all'),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
  })
  .strict();
