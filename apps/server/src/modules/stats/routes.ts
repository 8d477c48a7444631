import {
  AdminUsage,
  AdminUsageQuery,
  Breakdown,
  BreakdownQuery,
  BreakdownRow,
  IdParams,
  StatsQuery,
  TenantUsage,
  TopVideo,
  TopVideos,
  TopVideosQuery,
  UsagePoint,
  UsageStats,
  VideoStats,
  VideoStatsPoint,
} from '@vodcloud/contracts';
import type { FastifyReply } from 'fastify';
import { tenantOf } from '../../http/auth';
import type { ZodApp } from '../../http/types';
import { toCsv } from './csv';
import type { StatsQueries } from './queries';

export interface StatsRouteDeps {
  queries: StatsQueries;
  /** 404 unless the tenant has the video (tenant isolation). */
  assertVideo(tenantId: string, videoId: string): Promise<void>;
}

/** CSV columns are the JSON row's fields, in the contract's order: the two formats cannot drift apart. */
const columnsOf = (row: { shape: object }) => Object.keys(row.shape);

const CSV_NOTE = ' `?format=csv` answers the series (or rows) as text/csv, one line per period.';

/** Sends rows as a CSV attachment. */
function csv(reply: FastifyReply, name: string, rows: Array<Record<string, unknown>>, columns: string[]) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .header('cache-control', 'no-store')
    .send(toCsv(rows, columns));
}

/** GET /v1/stats/* (a tenant's own statistics, any role) and GET /v1/admin/usage (platform admin). */
export function statsRoutes(app: ZodApp, d: StatsRouteDeps): void {
  app.get('/v1/stats/videos/:id', {
    config: { access: 'read' },
    schema: {
      operationId: 'getVideoStats',
      tags: ['statistics'],
      summary: "A video's views, viewers, watch time, startup, rebuffering, errors and delivery",
      description:
        'Totals over the range and a series with one point per period (zeros included). Views count in the ' +
        'period they started; figures are up to one roll-up interval (a minute) behind the beacons.' +
        CSV_NOTE,
      params: IdParams,
      querystring: StatsQuery,
      doc: { csv: true, responses: {} },
      response: { 200: VideoStats },
    },
    handler: async (req, reply) => {
      const tenantId = tenantOf(req);
      await d.assertVideo(tenantId, req.params.id);
      const s = await d.queries.video(tenantId, req.params.id, req.query);
      if (req.query.format === 'csv')
        return csv(reply, `video-${req.params.id}`, s.series, columnsOf(VideoStatsPoint));
      return s;
    },
  });
  app.get('/v1/stats/usage', {
    config: { access: 'read' },
    schema: {
      operationId: 'getUsageStats',
      tags: ['statistics'],
      summary: "The tenant's usage: storage, delivery, peak rate, transcoded seconds, uploads and imports",
      description: `Totals and a series with one point per period.${CSV_NOTE}`,
      querystring: StatsQuery,
      doc: { csv: true, responses: {} },
      response: { 200: UsageStats },
    },
    handler: async (req, reply) => {
      const s = await d.queries.usage(tenantOf(req), req.query);
      if (req.query.format === 'csv') return csv(reply, 'usage', s.series, columnsOf(UsagePoint));
      return s;
    },
  });
  app.get('/v1/stats/top-videos', {
    config: { access: 'read' },
    schema: {
      operationId: 'getTopVideos',
      tags: ['statistics'],
      summary: "The tenant's videos with the most views, watch time or delivered bytes",
      description: `Whole hours (whole days for ranges of a week or more).${CSV_NOTE}`,
      querystring: TopVideosQuery,
      doc: { csv: true, responses: {} },
      response: { 200: TopVideos },
    },
    handler: async (req, reply) => {
      const s = await d.queries.topVideos(tenantOf(req), req.query);
      if (req.query.format === 'csv') return csv(reply, 'top-videos', s.data, columnsOf(TopVideo));
      return s;
    },
  });
  app.get('/v1/stats/breakdown', {
    config: { access: 'read' },
    schema: {
      operationId: 'getStatsBreakdown',
      tags: ['statistics'],
      summary: 'Views by browser, operating system, device, rendition or referring host',
      description:
        'From the views (kept `VOD_STATS_HOUR_RETENTION_DAYS`). No location by country: no GeoIP database ' +
        'ships with vodcloud.' +
        CSV_NOTE,
      querystring: BreakdownQuery,
      doc: { csv: true, responses: {} },
      response: { 200: Breakdown },
    },
    handler: async (req, reply) => {
      const tenantId = tenantOf(req);
      if (req.query.videoId) await d.assertVideo(tenantId, req.query.videoId);
      const s = await d.queries.breakdown(tenantId, req.query);
      if (req.query.format === 'csv')
        return csv(reply, `breakdown-${req.query.by}`, s.data, columnsOf(BreakdownRow));
      return s;
    },
  });
  adminUsageRoute(app, d);
}

/** GET /v1/admin/usage: every tenant's usage (platform admin). */
function adminUsageRoute(app: ZodApp, d: StatsRouteDeps): void {
  app.get('/v1/admin/usage', {
    config: { access: 'admin', audit: 'usage.read' },
    schema: {
      operationId: 'getPlatformUsage',
      tags: ['statistics'],
      summary: "Every tenant's usage over the range (platform admin)",
      description: `Whole hours (whole days for ranges of two days or more).${CSV_NOTE}`,
      querystring: AdminUsageQuery,
      doc: { csv: true, responses: {} },
      response: { 200: AdminUsage },
    },
    handler: async (req, reply) => {
      const s = await d.queries.adminUsage(req.query);
      if (req.query.format === 'csv') return csv(reply, 'platform-usage', s.data, columnsOf(TenantUsage));
      return s;
    },
  });
}
