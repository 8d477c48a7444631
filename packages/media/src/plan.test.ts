import { DEFAULT_TEMPLATE, type TemplateSpec } from '@vodcloud/contracts';
import { describe, expect, it } from 'vitest';
import { capFps, h264Level, planLadder, planSegments, segmentsPerChunk, toFps } from './plan';
import type { MediaInfo, VideoStreamInfo } from './probe';

/** Probe data as `probe` would return it for a source with these properties. */
function src(
  v: Partial<VideoStreamInfo> & { width: number; height: number },
  extra: Partial<MediaInfo> = {},
): MediaInfo {
  const video: VideoStreamInfo = {
    index: 0,
    codec: 'h264',
    profile: 'High',
    level: 40,
    pixFmt: 'yuv420p',
    bitDepth: 8,
    codedWidth: v.width,
    codedHeight: v.height,
    rotation: 0,
    sar: { num: 1, den: 1 },
    displayAspect: v.width / v.height,
    avgFps: 25,
    rFps: 25,
    fps: 25,
    vfr: false,
    fieldOrder: 'progressive',
    interlaced: false,
    frameCount: null,
    bitrate: null,
    duration: 60,
    isDefault: true,
    ...v,
  };
  return {
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    containerLongName: null,
    sniffed: 'isobmff',
    duration: 60,
    durationSource: 'format',
    declaredDuration: 60,
    streamDuration: 60,
    startTime: 0,
    size: 1e7,
    bitrate: null,
    video,
    videoStreamCount: 1,
    audio: [
      {
        index: 1,
        codec: 'aac',
        profile: 'LC',
        channels: 2,
        channelLayout: 'stereo',
        sampleRate: 48000,
        bitrate: 128000,
        duration: 60,
        isDefault: true,
        language: null,
      },
    ],
    streamCount: 2,
    isStillImage: false,
    ...extra,
  };
}

const dims = (p: ReturnType<typeof planLadder>) =>
  p.renditions.map((r) => `${r.name}:${r.width}x${r.height}`);

describe('planLadder', () => {
  it.each([
    [
      '1080p landscape',
      { width: 1920, height: 1080 },
      ['1080p:1920x1080', '720p:1280x720', '480p:854x480', '360p:640x360'],
    ],
    [
      '1080×1920 portrait: height means the short side',
      { width: 1080, height: 1920 },
      ['1080p:1080x1920', '720p:720x1280', '480p:480x854', '360p:360x640'],
    ],
    [
      '720p source: never upscale',
      { width: 1280, height: 720 },
      ['720p:1280x720', '480p:854x480', '360p:640x360'],
    ],
    [
      '1919×1079: even dims, 1080p dropped',
      { width: 1919, height: 1079 },
      ['720p:1280x720', '480p:854x480', '360p:640x360'],
    ],
    ['240p source: one rung at the source height', { width: 426, height: 240 }, ['360p:426x240']],
    ['241-line source: rounded down to even', { width: 321, height: 241 }, ['360p:320x240']],
    [
      '4:3',
      { width: 1440, height: 1080 },
      ['1080p:1440x1080', '720p:960x720', '480p:640x480', '360p:480x360'],
    ],
    [
      'rotated phone video (stored 1920×1080, 90°)',
      { width: 1080, height: 1920, codedWidth: 1920, codedHeight: 1080, rotation: 90 as const },
      ['1080p:1080x1920', '720p:720x1280', '480p:480x854', '360p:360x640'],
    ],
    [
      'anamorphic DV 720×480 SAR 32:27 (16:9)',
      { width: 720, height: 480, sar: { num: 32, den: 27 }, displayAspect: (720 * 32) / 27 / 480 },
      ['480p:854x480', '360p:640x360'],
    ],
    [
      'square 1:1',
      { width: 1080, height: 1080 },
      ['1080p:1080x1080', '720p:720x720', '480p:480x480', '360p:360x360'],
    ],
  ])('%s', (_name, v, want) => {
    expect(dims(planLadder(DEFAULT_TEMPLATE, src(v)))).toEqual(want);
  });

  it('caps bitrates at what the source justifies (bitrate × pixel ratio × codec efficiency)', () => {
    const p = planLadder(DEFAULT_TEMPLATE, src({ width: 1920, height: 1080, bitrate: 2_000_000 }));
    // 2 Mbit/s × (1280×720)/(1920×1080) = 888 889; 480p: 395 370; 360p: 222 222 (template 800k).
    expect(p.renditions.map((r) => r.videoBitrate)).toEqual([2_000_000, 888_889, 395_370, 222_222]);
    expect(p.renditions[0]!.maxrate).toBe(2_400_000);
    expect(p.renditions[0]!.bufsize).toBe(4_000_000);
    // HEVC is worth more H.264 bits.
    const h = planLadder(
      DEFAULT_TEMPLATE,
      src({ width: 1920, height: 1080, bitrate: 2_000_000, codec: 'hevc' }),
    );
    expect(h.renditions[0]!.videoBitrate).toBe(2_800_000);
    // Unknown source bitrate: the template's.
    expect(planLadder(DEFAULT_TEMPLATE, src({ width: 1920, height: 1080 })).renditions[0]!.videoBitrate).toBe(
      5_000_000,
    );
  });

  it('keeps a low source fps, caps a high one by an integer divisor, honours maxFps', () => {
    expect(planLadder(DEFAULT_TEMPLATE, src({ width: 640, height: 360, avgFps: 15, rFps: 15 })).fps).toEqual({
      num: 15,
      den: 1,
    });
    const p120 = planLadder(DEFAULT_TEMPLATE, src({ width: 640, height: 360, avgFps: 120, rFps: 120 }));
    expect(p120.fps).toEqual({ num: 60, den: 1 });
    expect(p120.renditions[0]!.gop).toBe(240);
    const t: TemplateSpec = {
      ...DEFAULT_TEMPLATE,
      renditions: [
        { name: 'hi', height: 360, videoBitrate: 800_000 },
        { name: 'lo', height: 240, videoBitrate: 300_000, maxFps: 30 },
      ],
    };
    const p = planLadder(t, src({ width: 640, height: 360, avgFps: 60000 / 1001, rFps: 60000 / 1001 }));
    expect(p.renditions.map((r) => r.fps)).toEqual([
      { num: 60000, den: 1001 },
      { num: 30000, den: 1001 },
    ]);
    expect(p.renditions.map((r) => r.gop)).toEqual([240, 120]);
  });

  it('gives VFR sources a constant standard rate', () => {
    const p = planLadder(
      DEFAULT_TEMPLATE,
      src({ width: 1280, height: 720, avgFps: 29.7, rFps: 90000, vfr: true }),
    );
    expect(p.fps).toEqual({ num: 30000, den: 1001 });
    expect(p.segmentFrames).toBe(120);
  });

  it('plans audio: first default track, ≤ 2 channels, 44.1 kHz kept; none when silent', () => {
    const base = src({ width: 640, height: 360 });
    const a6 = { ...base.audio[0]!, index: 2, channels: 6, sampleRate: 44100, isDefault: true };
    const p = planLadder(DEFAULT_TEMPLATE, { ...base, audio: [{ ...base.audio[0]!, isDefault: false }, a6] });
    expect(p.audio).toEqual({ bitrate: 128_000, channels: 2, sampleRate: 44100, sourceIndex: 2 });
    expect(planLadder(DEFAULT_TEMPLATE, { ...base, audio: [] }).audio).toBeNull();
  });

  it('flags interlaced sources for deinterlacing and picks H.264 levels', () => {
    expect(
      planLadder(DEFAULT_TEMPLATE, src({ width: 1920, height: 1080, interlaced: true })).deinterlace,
    ).toBe(true);
    expect(h264Level(1920, 1080, 30, 6_000_000)).toBe('4.0');
    expect(h264Level(1920, 1080, 60, 6_000_000)).toBe('4.2');
    expect(h264Level(640, 360, 30, 1_000_000)).toBe('3.0');
    expect(h264Level(3840, 2160, 30, 20_000_000)).toBe('5.1');
  });
});

describe('fps helpers', () => {
  it('recognises NTSC rates and caps by divisors', () => {
    expect(toFps(29.97002997)).toEqual({ num: 30000, den: 1001 });
    expect(toFps(23.976)).toEqual({ num: 24000, den: 1001 });
    expect(toFps(12.5)).toEqual({ num: 25, den: 2 });
    expect(capFps({ num: 50, den: 1 }, 30)).toEqual({ num: 25, den: 1 });
    expect(capFps({ num: 30, den: 1 }, 30)).toEqual({ num: 30, den: 1 });
  });
});

describe('planSegments', () => {
  it('cuts on the frame grid, the last segment shorter', () => {
    const s = planSegments(10, 4, { num: 25, den: 1 });
    expect(s.map((x) => [x.start, x.end])).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    const n = planSegments(10, 4, { num: 30000, den: 1001 });
    expect(n.map((x) => x.endFrame - x.startFrame)).toEqual([120, 120, 60]);
    expect(n[1]!.start).toBeCloseTo(4.004, 9);
    expect(planSegments(0.2, 4, 25)).toEqual([{ index: 0, start: 0, end: 0.2, startFrame: 0, endFrame: 5 }]);
  });

  it('segmentsPerChunk: at least ~20 s per chunk, spread over workers', () => {
    expect(segmentsPerChunk(900, 4)).toBe(5);
    expect(segmentsPerChunk(900, 4, { workers: 8 })).toBe(5);
    expect(segmentsPerChunk(900, 4, { maxChunks: 10 })).toBe(90);
    expect(segmentsPerChunk(3, 4)).toBe(3);
  });
});
