import { z } from 'zod';
import { Id, IsoTime } from './common';

/** Statistics (GET /v1/stats/*, GET /v1/admin/usage): viewer metrics, usage, top videos, breakdowns. */

const isoInput = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

export const Granularity = z.enum(['minute', 'hour', 'day']);
export type Granularity = z.infer<typeof Granularity>;

const range = {
  from: isoInput
    .optional()
    .describe('Start (inclusive), rounded down to the granularity; default: `to` minus 24 hours'),
  to: isoInput.optional().describe('End (exclusive), rounded up to the granularity; default: now'),
  format: z.enum(['json', 'csv']).default('json').describe('`csv`: the series (or rows) as text/csv'),
};

export const StatsQuery = z
  .object({
    ...range,
    granularity: Granularity.optional().describe(
      'Default by the range: minute up to 3 hours, hour up to 7 days, else day. At most 1,500 periods.',
    ),
  })
  .strict();
export type StatsQuery = z.infer<typeof StatsQuery>;

const viewerFields = {
  views: z.number().int().describe('Views started in the period that played'),
  uniqueViewers: z
    .number()
    .int()
    .describe(
      'Distinct viewers (salted daily hash of address + user agent): per day at most, so over several days a viewer counts once per day',
    ),
  watchSeconds: z.number().describe('Seconds played (not wall time)'),
  startupMsP50: z
    .number()
    .int()
    .nullable()
    .describe('Median startup time: play intent to first frame (±2.5 %)'),
  startupMsP95: z.number().int().nullable(),
  rebufferCount: z.number().int(),
  rebufferSeconds: z.number(),
  rebufferRatio: z.number().describe('Rebuffering time / (watch time + rebuffering time)'),
  errors: z.number().int().describe('Playback errors reported, in views that played or not'),
  deliveredBytes: z.number().int().describe('Bytes served by the stream role'),
  requests: z.number().int().describe('Requests served by the stream role'),
};

export const VideoStatsPoint = z.object({ time: IsoTime, ...viewerFields }).meta({ id: 'VideoStatsPoint' });
export const VideoStats = z
  .object({
    videoId: Id,
    from: IsoTime,
    to: IsoTime,
    granularity: Granularity,
    totals: z.object(viewerFields),
    series: z.array(VideoStatsPoint),
  })
  .meta({ id: 'VideoStats' });

const usageFields = {
  storageBytes: z
    .number()
    .int()
    .nullable()
    .describe(
      'Bytes stored (sources + outputs) as measured that day; totals: the last measurement in the range',
    ),
  deliveredBytes: z.number().int(),
  requests: z.number().int(),
  peakMbps: z.number().describe('The highest 5-minute average delivery rate (a minute: its own average)'),
  transcodedSeconds: z.number().describe('Seconds of output encoded, summed over renditions'),
  uploads: z.number().int(),
  imports: z.number().int(),
};

export const UsagePoint = z.object({ time: IsoTime, ...usageFields }).meta({ id: 'UsagePoint' });
export const UsageStats = z
  .object({
    from: IsoTime,
    to: IsoTime,
    granularity: Granularity,
    totals: z.object({
      ...usageFields,
      transcodedSecondsByRendition: z.record(z.string(), z.number()),
    }),
    series: z.array(UsagePoint),
  })
  .meta({ id: 'UsageStats' });

export const TopVideosQuery = z
  .object({
    ...range,
    metric: z.enum(['views', 'watchSeconds', 'deliveredBytes']).default('views'),
    limit: z.coerce.number().int().min(1).max(100).default(10),
  })
  .strict();
export type TopVideosQuery = z.infer<typeof TopVideosQuery>;

export const TopVideo = z
  .object({
    videoId: Id,
    title: z.string().nullable(),
    views: z.number().int(),
    watchSeconds: z.number(),
    deliveredBytes: z.number().int(),
  })
  .meta({ id: 'TopVideo' });
export const TopVideos = z.object({
  from: IsoTime,
  to: IsoTime,
  metric: z.string(),
  data: z.array(TopVideo),
});

export const BreakdownDimension = z.enum(['browser', 'os', 'device', 'rendition', 'referrer']);
export const BreakdownQuery = z
  .object({
    ...range,
    by: BreakdownDimension.default('browser').describe(
      '`referrer`: the host of the page the player ran in. There is no country or city: no GeoIP database ships with vodcloud',
    ),
    videoId: Id.optional().describe("One video's views; default: every video of the tenant"),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
export type BreakdownQuery = z.infer<typeof BreakdownQuery>;

export const BreakdownRow = z
  .object({
    value: z.string().nullable().describe('null: unknown'),
    views: z.number().int(),
    watchSeconds: z.number(),
    rebufferRatio: z.number(),
    errors: z.number().int(),
  })
  .meta({ id: 'BreakdownRow' });
export const Breakdown = z.object({
  from: IsoTime,
  to: IsoTime,
  by: BreakdownDimension,
  data: z.array(BreakdownRow),
});

export const AdminUsageQuery = z.object({ ...range }).strict();
export type AdminUsageQuery = z.infer<typeof AdminUsageQuery>;
export const TenantUsage = z
  .object({ tenantId: Id, tenantName: z.string(), views: z.number().int(), ...usageFields })
  .meta({ id: 'TenantUsage' });
export const AdminUsage = z.object({ from: IsoTime, to: IsoTime, data: z.array(TenantUsage) });
