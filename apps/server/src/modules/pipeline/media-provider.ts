import { detectEncoders, extractFrame, isMediaError, tryProbe } from '@vodcloud/media';
import type { ObjectStore } from '@vodcloud/storage';
import { AppError } from '../../lib/errors';
import type { Impl, mediaService } from '../rpc';
import { snapshotKey } from '../videos';
import type { VideoService } from '../videos/service';
import type { Pipeline } from './jobs';
import type { SourceCache } from './sources';

/** The `media` RPC service, provided by workers: work that needs ffmpeg and the video's source. */
export function mediaProvider(d: {
  node: () => string | undefined;
  pipeline: Pipeline;
  videos: VideoService;
  storage: ObjectStore;
  sources: SourceCache;
}): Impl<typeof mediaService> {
  const started = Date.now();
  return {
    async capabilities() {
      const caps = await detectEncoders();
      return {
        node: d.node() ?? 'unregistered',
        encoders: [...caps.encoders]
          .filter((e) => /^(libx264|libx265|aac|libvpx|h264_|hevc_)/.test(e))
          .sort(),
        activeSegments: d.pipeline.activeSegments(),
        uptimeSec: Math.round((Date.now() - started) / 1000),
      };
    },

    async probe({ tenantId, videoId }, ctx) {
      await d.videos.getRow(tenantId, videoId); // 404 for another tenant's or a missing video
      const path = await d.sources.local(tenantId, videoId, ctx.signal);
      const info = await tryProbe(path, {
        timeoutMs: Math.max(1000, ctx.deadline - Date.now()),
        signal: ctx.signal,
      });
      if ('failed' in info)
        throw new AppError('unsupported_media', `the source could not be probed: ${info.message}`);
      return {
        container: info.container,
        durationSec: info.duration,
        bitrate: info.bitrate,
        video: info.video
          ? {
              codec: info.video.codec,
              width: info.video.width,
              height: info.video.height,
              fps: info.video.fps,
            }
          : null,
        audio: info.audio.map((a) => ({ codec: a.codec, channels: a.channels, sampleRate: a.sampleRate })),
      };
    },

    async snapshot({ tenantId, videoId, time, width, format }, ctx) {
      await d.videos.getRow(tenantId, videoId);
      let frame: Awaited<ReturnType<typeof extractFrame>>;
      try {
        const path = await d.sources.local(tenantId, videoId, ctx.signal);
        frame = await extractFrame(path, {
          timeSec: time,
          width,
          format,
          timeoutMs: Math.max(1000, ctx.deadline - Date.now()),
          signal: ctx.signal,
        });
      } catch (err) {
        if (isMediaError(err))
          throw new AppError('unavailable', `The frame could not be extracted: ${err.code}`);
        throw err;
      }
      const ext = format === 'webp' ? 'webp' : 'jpg';
      const key = snapshotKey(tenantId, videoId, frame.timeSec, frame.width, ext);
      await d.storage.put(key, frame.data, { contentType: `image/${format}` });
      return { key, width: frame.width, height: frame.height, time: frame.timeSec };
    },

    async segment(input, ctx) {
      return d.pipeline.ensureSegment(input, ctx.signal);
    },
  };
}
