import type { TemplateSpec } from '@vodcloud/contracts';
import {
  chunkSegments,
  copyableAudio,
  fpsValue,
  type MediaInfo,
  planAudio,
  planLadder,
  planSegments,
  segmentsPerChunk,
  toFps,
  webReadyVideo,
} from '@vodcloud/media';
import { newId } from '../../../lib/ids';
import type { VideoPlan } from '../plan-state';

/**
 * The plan of a new generation, from the template and the probed source (no I/O): the ladder, the
 * segment boundaries, the chunks, the MP4s, and whether the web-ready fast path applies.
 */
export function planGeneration(
  spec: TemplateSpec,
  info: MediaInfo,
  opts: { audioOnly: boolean; passthrough: boolean },
): VideoPlan {
  const { audioOnly } = opts;
  const ladder = audioOnly
    ? {
        renditions: [],
        audio: planAudio(spec, info),
        fps: toFps(25),
        segmentDuration: spec.hls.segmentDuration,
        segmentFrames: 0,
        deinterlace: false,
        sourceDisplay: { width: 0, height: 0 },
      }
    : planLadder(spec, info);
  const top = ladder.renditions[0];
  const web = top && !audioOnly && !spec.watermark && opts.passthrough ? webReadyVideo(info, top) : undefined;
  const segments = planSegments(pictureSpan(info, ladder.fps), spec.hls.segmentDuration, ladder.fps);
  const perChunk = segmentsPerChunk(segments.length, spec.hls.segmentDuration, { minChunkSec: 20 });
  const chunks = audioOnly ? [] : chunkSegments(segments, perChunk).map((c) => c.map((s) => s.index));
  const names = ladder.renditions.map((r) => r.name);
  const mp4 =
    spec.mp4 === 'none'
      ? []
      : spec.mp4 === 'highest'
        ? names.slice(0, 1)
        : spec.mp4.filter((n) => names.includes(n));
  const plan: VideoPlan = {
    generation: newId(),
    ladder: ladder as VideoPlan['ladder'],
    segments,
    chunks,
    mp4,
    encryption: spec.hls.encryption,
    audioOnly,
    durationSec: segments.at(-1)?.end ?? info.duration,
    watermark: spec.watermark ?? null,
    passthrough: null,
    audioCopy: ladder.audio ? copyableAudio(info, ladder.audio) : false,
  };
  if (web?.ok && top) plan.passthrough = { rendition: top.name, codec: web.codec, segments: [] };
  return plan;
}

/**
 * The length the segments are planned over. A source whose audio runs less than a frame beyond its picture
 * (a live recording's TS remuxed to MP4: the audio starts 23 ms before the first frame) has no frame for that
 * fraction; rounded up, the plan counted one more frame, and when that frame began a segment of its own no
 * encode or copy made it, and the video errored as truncated. Then the picture's own length is used.
 */
function pictureSpan(info: MediaInfo, fps: ReturnType<typeof toFps>): number {
  const picture = info.video?.duration;
  if (!picture || picture >= info.duration) return info.duration;
  return info.duration - picture < 1 / fpsValue(fps) ? picture : info.duration;
}

/** What the video row records of its source and its planned renditions (see VideoRepository.recordPlan). */
export function sourceFacts(info: MediaInfo, plan: VideoPlan) {
  const v = info.video;
  return {
    durationSec: Number(plan.durationSec.toFixed(3)),
    width: v?.width ?? null,
    height: v?.height ?? null,
    sourceInfo: {
      container: info.container,
      videoCodec: v?.codec ?? null,
      audioCodec: info.audio[0]?.codec ?? null,
      width: v?.width ?? null,
      height: v?.height ?? null,
      fps: v ? Number(fpsValue(plan.ladder.fps).toFixed(3)) : null,
      bitrate: info.bitrate,
      rotation: v?.rotation ?? 0,
    },
    renditions: plan.ladder.renditions.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      videoBitrate: r.videoBitrate,
      status: 'pending',
      mp4: plan.mp4.includes(r.name),
    })),
  };
}
