import {
  AlertQuery,
  Alert as AlertSchema,
  ClusterView,
  listOf,
  MonitorQuery,
  MonitorStats,
} from '@vodcloud/contracts';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import { JOBS } from '../../jobs';
import { AppError } from '../../lib/errors';
import type { JobQueue } from '../../ports/queue';
import type { Registry } from '../../ports/registry';
import { clusterHealth, instancesOf, SENTINEL_SERVICE } from '../cluster';
import type { MonitorService } from './service';

/** The longest span one /v1/admin/monitor request may cover. */
const MAX_SPAN_MS = 31 * 86_400_000;

/** Pending jobs per name (the store-wide gauges of the queue port), with each name's resource class. */
async function queueDepths(queue: JobQueue) {
  const metrics = await queue.metrics();
  return Object.entries(metrics)
    .map(([name, m]) => ({
      name,
      queue: name in JOBS ? JOBS[name as keyof typeof JOBS].queue : null,
      waiting: m.waiting,
      delayed: m.delayed,
      active: m.active,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function monitorRoutes(
  app: ZodApp,
  deps: { monitor: MonitorService; registry: Registry; queue: JobQueue },
): void {
  const { monitor, registry, queue } = deps;

  app.get('/v1/admin/cluster', {
    config: { access: 'admin', audit: 'cluster.read' },
    schema: {
      operationId: 'getCluster',
      tags: ['cluster'],
      summary:
        'Every registered service and instance with address, roles, load and health, and the jobs pending per job name (admin)',
      response: { 200: ClusterView },
    },
    handler: async () => {
      const names = await registry.services();
      const sentinels = await instancesOf(registry, SENTINEL_SERVICE);
      const health = clusterHealth(sentinels);
      const now = Date.now();
      const services = await Promise.all(
        names.map(async (name) => ({
          name,
          instances: (await instancesOf(registry, name)).map((i) => ({
            id: i.id,
            address: `${i.host}:${i.port}`,
            url: typeof i.metadata.url === 'string' ? i.metadata.url : null,
            roles: i.roles,
            version: i.version ?? null,
            startedAt: i.startedAt,
            uptimeSec: Math.max(0, Math.floor((now - Date.parse(i.startedAt)) / 1000)) || 0,
            load: i.load,
            weight: i.weight,
            health: health(i.id),
          })),
        })),
      );
      return { services, sentinels: sentinels.length, queues: await queueDepths(queue) };
    },
  });

  app.get('/v1/admin/monitor', {
    config: { access: 'admin', audit: 'monitor.read' },
    schema: {
      operationId: 'getMonitorStats',
      tags: ['cluster'],
      summary: 'RPC calls, errors and mean/p95/max duration per service, method and side, per minute (admin)',
      description: 'Defaults to the last 60 minutes. Figures add up every node that reported.',
      querystring: MonitorQuery,
      response: { 200: MonitorStats },
    },
    handler: async (req) => {
      const q = req.query;
      const to = q.to ? Date.parse(q.to) : Date.now();
      const from = q.from ? Date.parse(q.from) : to - 60 * 60_000;
      if (from > to)
        throw new AppError('validation_failed', 'from must not be after to', {
          errors: [{ path: 'query.from', message: 'after to' }],
        });
      if (to - from > MAX_SPAN_MS)
        throw new AppError('validation_failed', 'At most 31 days per request', {
          errors: [{ path: 'query.from', message: 'span longer than 31 days' }],
        });
      return monitor.query({
        service: q.service,
        method: q.method,
        side: q.side,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
      });
    },
  });

  app.get('/v1/admin/alerts', {
    config: { access: 'admin', audit: 'alert.list' },
    schema: {
      operationId: 'listAlerts',
      tags: ['cluster'],
      summary: 'Alerts raised by the sentinel, newest first (admin)',
      querystring: AlertQuery,
      response: { 200: listOf(AlertSchema) },
    },
    handler: async (req) => {
      const rows = await monitor.alerts.list(
        req.query.state,
        req.query.limit,
        decodeCursor(req.query.cursor),
      );
      const p = page(rows, req.query.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
}
