import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TEMPLATE } from '@vodcloud/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassifyLimits, classify, type DecodeCheckResult, decodeCheck } from './classify';
import { detectEncoders } from './encoders';
import { type LadderPlan, planLadder } from './plan';
import { isProbeFailure, type MediaInfo, type ProbeFailure, tryProbe } from './probe';
import { type ClassifyOutcome, CORPUS, type CorpusFile, makeCorpus } from './test-corpus';

/**
 * A corpus of generated files (test-corpus.ts), each with the outcome probe + classify (+ decodeCheck)
 * must give. Everything is made with ffmpeg or as bytes; nothing is mocked.
 */

const LIMITS: ClassifyLimits = {
  maxDurationSec: 3 * 3600,
  maxPixels: 35_000_000,
  maxSizeBytes: 20 * 1024 ** 3,
  maxFps: 120,
};

type Outcome = ClassifyOutcome;

type Check = (info: MediaInfo, plan: LadderPlan | null) => void;

/** Extra assertions per file. */
const CHECKS: Record<string, Check> = {
  'moov_end.mp4': (i) => expect(i.audio).toHaveLength(1),
  'video_only.mp4': (_i, plan) => expect(plan?.audio).toBeNull(),
  'short_0.2s.mp4': (i) => expect(i.duration).toBeCloseTo(0.2, 2),
  'odd_1919x1079.mp4': (i, plan) => {
    expect([i.video?.width, i.video?.height]).toEqual([1919, 1079]);
    expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['1280x720', '854x480', '640x360']);
  },
  'portrait_rotated.mp4': (i, plan) => {
    expect([i.video?.codedWidth, i.video?.codedHeight]).toEqual([640, 360]);
    expect([i.video?.width, i.video?.height]).toEqual([360, 640]);
    expect([90, 270]).toContain(i.video?.rotation);
    expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['360x640']);
  },
  'aspect_4x3.mp4': (_i, plan) =>
    expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['640x480', '480x360']),
  'aspect_21x9.mp4': (_i, plan) =>
    expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['1120x480', '840x360']),
  'anamorphic_sar.mp4': (i, plan) => {
    expect(i.video?.displayAspect).toBeCloseTo((720 * 16) / 11 / 576, 3);
    expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['872x480', '654x360']);
  },
  'vfr.mp4': (i, plan) => {
    expect(i.video?.vfr).toBe(true);
    expect(plan!.fps).toEqual({ num: 24000, den: 1001 });
  },
  'interlaced.ts': (i, plan) => {
    expect(i.video?.interlaced).toBe(true);
    expect(plan!.deinterlace).toBe(true);
  },
  'h264_10bit.mp4': (i) => {
    expect(i.video?.bitDepth).toBe(10);
    expect(i.video?.profile).toBe('High 10');
  },
  'hevc.mp4': (i) => expect(i.video?.codec).toBe('hevc'),
  'vp9.webm': (i) => {
    expect(i.video?.codec).toBe('vp9');
    expect(i.container).toBe('matroska,webm');
  },
  'webm_named.mp4': (i) => {
    expect(i.container).toBe('matroska,webm');
    expect(i.sniffed).toBe('matroska');
  },
  'mpeg2.ts': (i) => {
    expect(i.container).toBe('mpegts');
    expect(i.video?.codec).toBe('mpeg2video');
  },
  'prores.mov': (i) => expect(i.video?.codec).toBe('prores'),
  'multi_audio.mkv': (i, plan) => {
    expect(i.audio).toHaveLength(2);
    expect(plan!.audio?.sourceIndex).toBe(2);
    expect(plan!.audio?.sampleRate).toBe(44100);
  },
  'surround_5.1.mp4': (i, plan) => {
    expect(i.audio[0]?.channels).toBe(6);
    expect(plan!.audio?.channels).toBe(2);
  },
  'bomb_8192x8192.mp4': (i) => expect(i.size).toBeLessThan(256 * 1024),
  'fps_100.mp4': (_i, plan) => expect(plan!.fps).toEqual({ num: 50, den: 1 }),
  'pts_jump_hours.ts': (i) => expect(i.duration).toBeGreaterThan(17_000),
};

let dir = '';
let CASES: CorpusFile[] = [];

interface Result {
  c: CorpusFile;
  info: MediaInfo | ProbeFailure;
  probeMs: number;
  outcome: Outcome;
  message: string;
  decode: DecodeCheckResult | null;
  plan: LadderPlan | null;
}
const results = new Map<string, Result>();
let decodable: ReadonlySet<string> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-corpus-'));
  decodable = (await detectEncoders()).decoders;
  // Two at a time (2 cores); files derived from others come after their source.
  CASES = await makeCorpus(dir, { concurrency: 2 });
  // Probe, classify and decode-check each.
  for (const c of CASES) {
    const path = c.path;
    const t0 = performance.now();
    const info = await tryProbe(path, { timeoutMs: 10_000 });
    const probeMs = performance.now() - t0;
    const verdict = classify(info, { ...LIMITS, decodableCodecs: decodable });
    let decode: DecodeCheckResult | null = null;
    let plan: LadderPlan | null = null;
    if (verdict.ok && !isProbeFailure(info)) {
      decode = await decodeCheck(path, {
        durationSec: info.duration,
        hasVideo: !!info.video,
        timeoutMs: 20_000,
      });
      if (info.video) plan = planLadder(DEFAULT_TEMPLATE, info);
    }
    results.set(c.name, {
      c,
      info,
      probeMs,
      outcome: verdict.ok ? verdict.kind : verdict.code,
      message: verdict.ok ? '' : verdict.message,
      decode,
      plan,
    });
  }
}, 120_000);

afterAll(async () => {
  const rows = [...results.values()].map((r) => {
    const d = r.decode ? (r.decode.ok ? 'decode ok' : `decode: ${r.decode.code}`) : '';
    return `${r.c.name.padEnd(24)} ${r.outcome.padEnd(16)} ${d.padEnd(26)} probe ${r.probeMs.toFixed(0).padStart(3)} ms  ${r.message}`;
  });
  if (process.env.VOD_CORPUS_REPORT) console.log(`\n${rows.join('\n')}`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('corpus: probe + classify (+ decodeCheck)', () => {
  it('has at least 25 files', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(25);
    expect(CASES).toHaveLength(CORPUS.length);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = results.get(c.name);
    expect(r, 'generated and probed').toBeDefined();
    expect(r!.outcome, r!.message).toBe(c.classify);
    if (r!.outcome === 'video' || r!.outcome === 'audio_only') {
      const want = c.decode ?? 'ok';
      expect(r!.decode?.ok ? 'ok' : r!.decode?.code, r!.decode?.ok ? '' : r!.decode?.message).toBe(want);
    } else {
      expect(r!.message.length).toBeGreaterThan(10);
    }
    const check = CHECKS[c.name];
    if (check && !isProbeFailure(r!.info)) check(r!.info, r!.plan);
    // Every accepted video plans to even dimensions.
    for (const rend of r!.plan?.renditions ?? []) {
      expect(rend.width % 2).toBe(0);
      expect(rend.height % 2).toBe(0);
    }
  });

  it('gives useful messages', () => {
    expect(results.get('bomb_8192x8192.mp4')!.message).toBe(
      'the video is 8192×8192 (67 Mpx), above the limit of 35 Mpx',
    );
    expect(results.get('truncated_moov.mp4')!.message).toMatch(/MP4\/MOV .*moov/);
    expect(results.get('pts_jump_hours.ts')!.message).toMatch(
      /lasts 5h00m\d\ds, above the limit of 3h00m00s/,
    );
    expect(results.get('image.png')!.message).toMatch(/still image \(png, 320×180\)/);
    expect(results.get('zero.mp4')!.message).toBe('the file is empty');
  });

  it('refuses a file above the size limit before anything else', async () => {
    const info = results.get('moov_end.mp4')!.info;
    const v = classify(info, { ...LIMITS, maxSizeBytes: 1000 });
    expect(v).toMatchObject({ ok: false, code: 'too_large' });
    expect((await stat(join(dir, 'moov_end.mp4'))).size).toBeGreaterThan(1000);
  });

  it('calls a codec ffmpeg cannot decode unsupported_codec', () => {
    const info = results.get('hevc.mp4')!.info;
    expect(classify(info, { ...LIMITS, decodableCodecs: new Set(['h264', 'aac']) })).toMatchObject({
      ok: false,
      code: 'unsupported_codec',
    });
  });

  it('probes with the container first: a truncated MP4 with moov first still gives stream data', async () => {
    const info = results.get('truncated_mdat.mp4')!.info as MediaInfo;
    expect(info.video?.codec).toBe('h264');
  });
});
