import { ffmpegSlots } from '@vodcloud/media';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per app instance (tests build several apps in one process). The process and runtime
 * metrics keep prom-client's names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, …), which
 * stock Node.js dashboards query; vodcloud's own are `vod_*` in base units. Labels are bounded: route
 * patterns, job names, queue classes, outcomes, rendition heights — never a video, tenant or request id.
 * The collectors that read ports at scrape time are in ./platform-metrics.ts.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'vod_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'vod_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const videoTimes = new Histogram({
    name: 'vod_video_time_to_seconds',
    help: "Seconds from a video's upload (or import) completing until it was playable, and until it was ready",
    labelNames: ['stage'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const jitEncodes = new Counter({
    name: 'vod_jit_segment_encodes_total',
    help: 'Just-in-time encodes (ffmpeg runs: the requested segment and its read-ahead) made because a player asked for a segment before the background encode',
    registers: [registry],
  });
  const jitWait = new Histogram({
    name: 'vod_jit_wait_seconds',
    help: 'Stream role: how long a player request waited for a just-in-time segment, by outcome (ok, unavailable: 503 + Retry-After, not_found)',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 15, 30],
    registers: [registry],
  });
  const transcoded = new Counter({
    name: 'vod_transcoded_seconds_total',
    help: 'Seconds of video encoded by background chunk jobs, per rendition height (e.g. 720p)',
    labelNames: ['rendition'] as const,
    registers: [registry],
  });
  const transcodeUsage = new Counter({
    name: 'vod_transcode_usage_seconds_total',
    help: 'Seconds of output of published generations, per rendition (720p, …, audio): the transcode usage (transcode_usage rows), counted once per generation when it is published',
    labelNames: ['rendition'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'vod_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: succeeded, retrying (failed, retried later), failed (given up)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const webhookFailures = new Counter({
    name: 'vod_webhook_delivery_failures_total',
    help: "Webhook delivery attempts that failed, by reason: the answer's status class (3xx: redirects are not followed, 4xx, 5xx, other), timeout, network, forbidden_address, bad_url",
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const uploadBytes = new Counter({
    name: 'vod_upload_received_bytes_total',
    help: 'Upload role: bytes of tus uploads received and stored',
    registers: [registry],
  });
  const deliveryBytes = new Counter({
    name: 'vod_delivery_bytes_total',
    help: 'Stream role: bytes of media delivered (playlists, segments, MP4s, images) by route pattern',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const fastLane = new Counter({
    name: 'vod_stream_fast_lane_requests_total',
    help: 'Stream role: playback requests answered from memory before routing (modules/stream/fast-lane.ts); also counted in vod_http_requests_total',
    registers: [registry],
  });
  new Gauge({
    name: 'vod_ffmpeg_processes',
    help: 'ffmpeg processes of this node: running, and waiting for a slot (bound: VOD_FFMPEG_MAX_PROCESSES)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = ffmpegSlots.stats();
      this.set({ state: 'running' }, s.running);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  return {
    registry,
    requests,
    duration,
    videoTimes,
    jitEncodes,
    jitWait,
    transcoded,
    transcodeUsage,
    webhookDeliveries,
    webhookFailures,
    uploadBytes,
    deliveryBytes,
    fastLane,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });
}
