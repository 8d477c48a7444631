import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../../config';
import type { Database } from '../../db/connect';
import type { Jobs } from '../../jobs';
import type { Foreground } from '../../lib/foreground';
import type { EventService } from '../events/service';
import type { SourceCache } from '../pipeline';
import { detectionService, type Rpc } from '../rpc';
import type { VideoService } from '../videos/service';
import { detectionMetrics } from './metrics';
import { Classifier } from './model/classifier';
import { DetectionPolicies } from './policy';
import { detectionProvider } from './provider';
import { ModerationReview } from './review';
import { DetectionService } from './service';

export { type DetectionRouteDeps, detectionRoutes } from './routes';
export { DetectionPolicies, DetectionService, ModerationReview };

export interface Detection {
  service: DetectionService;
  policies: DetectionPolicies;
  review: ModerationReview;
  /** This node's model (workers only; loaded on first use, unloaded when idle). */
  classifier: Classifier | null;
}

/**
 * Detection (issue 18): the video.detect job (every node defines it; workers run it), scheduled when a video
 * becomes playable; the `detection` RPC service on workers (ffmpeg quality checks and the moderation model);
 * the tenant policies and the review queue.
 */
export function createDetection(d: {
  config: Config;
  db: Database;
  videos: VideoService;
  jobs: Jobs;
  events: EventService;
  rpc: Rpc;
  sources: SourceCache;
  nodeId: () => string | undefined;
  foreground?: Foreground;
  /** This process's Prometheus registry. */
  registry: Registry;
  log: Logger;
  closers: Array<() => Promise<void>>;
}): Detection {
  const log = d.log.child({ module: 'detection' });
  const policies = new DetectionPolicies(d.db);
  const metrics = detectionMetrics(d.registry);
  const service = new DetectionService({
    config: d.config.detection,
    videos: d.videos,
    jobs: d.jobs,
    events: d.events,
    policies,
    client: d.rpc.client(detectionService),
    metrics,
    log,
  });
  d.jobs.define('video.detect', { handler: (p, ctx) => service.run(p, ctx) });
  d.videos.hooks.push({ afterCreate: (row) => service.onCreate(row) });
  // Scheduled when the video becomes playable: detection never delays playback. The listener is called again
  // for an event whose dispatch failed (events/service.ts), and schedule() is idempotent per video.
  d.events.on(async (event) => {
    if (event.type === 'video.playable' && event.videoId)
      await service.schedule(event.tenantId, event.videoId);
  });
  let classifier: Classifier | null = null;
  if (d.config.roles.includes('worker')) {
    classifier = new Classifier({
      idleMs: d.config.detection.modelIdleMs,
      nice: d.config.detection.nice,
      log,
    });
    const model = classifier;
    d.closers.push(() => model.close());
    d.rpc.provide(
      detectionService,
      detectionProvider({
        node: d.nodeId,
        videos: d.videos,
        sources: d.sources,
        classifier,
        config: d.config.detection,
        metrics,
        foreground: d.foreground,
        log,
      }),
    );
  }
  return { service, policies, review: new ModerationReview(d.videos), classifier };
}
