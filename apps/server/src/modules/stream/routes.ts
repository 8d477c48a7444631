import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Lane } from '../../http/lane';
import { createFastLane } from './fast-lane';
import { fileRoutes } from './file-routes';
import { hlsRoutes } from './hls-routes';
import { createServing, type StreamDeps } from './serving';

export type { StreamDeps } from './serving';

/**
 * The stream role: playlists, segments, AES keys, progressive MP4, poster and storyboard of the
 * generation a video plays from (published, or the current one while still processing and playable).
 * URLs that name the generation are immutable and answer for the served generation only, so a
 * retranscode never gives an old URL new bytes; URLs without one are cached briefly.
 *
 * Every request passes the playback gate (`playback/gate.ts`): the referrer policy of the video (else of
 * its tenant), if one is set, and for a `signed` video `?token=<RS256 JWT>` for the route's audience
 * (v: HLS, MP4, key; t: thumbnail; s: storyboard).
 */
export function streamRoutes(app: FastifyInstance, d: StreamDeps): Lane {
  const serving = createServing(app, d);
  hlsRoutes(app, d, serving);
  fileRoutes(app, d, serving);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  return createFastLane({
    gate: serving.gate,
    playlists: serving.playlists,
    delivery: d.delivery,
    metrics: app.metrics,
    log: app.log as Logger,
    accel: d.accel === true && d.storage.kind === 'file',
    closing: () => closing,
  });
}
