import { describe, expect, it } from 'vitest';
import {
  createQcLogParser,
  DEFAULT_QC_THRESHOLDS,
  finishQc,
  isInterlaced,
  parseBlackLine,
  parseCropLine,
  parseFreezeLine,
  parseIdetLine,
  parseQcStreamLine,
  parseSceneLine,
  parseShowinfoLine,
  parseSilenceLine,
  SILENT_PEAK_DBTP,
  subtractSpans,
  voteCrop,
} from './analyze-parse';

// Lines captured from ffmpeg 5.1 runs of analyzeMedia's graph.
const STDERR = `  Stream #0:0: Video: wrapped_avframe, yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], q=2-31, 200 kb/s, 25 fps, 25 tbn
  Stream #2:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 224x224 [SAR 4:3 DAR 4:3], q=2-31, 30105 kb/s, 25 fps, 25 tbn
[Parsed_ebur128_9 @ 0x5620089504c0] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
[Parsed_showinfo_7 @ 0x55dd13591700] n:   0 pts:   2090 pts_time:0.0232222 pos:      564 fmt:yuv420p sar:1/1 s:320x240 i:P iskey:1 type:I mean:[122 129 127] stdev:[56.7 77.9 81.4]
[Parsed_cropdetect_3 @ 0x55a] x1:0 x2:319 y1:0 y2:239 w:320 h:240 x:0 y:0 pts:2090 t:0.023222 crop=320:240:0:0
[Parsed_cropdetect_3 @ 0x55a] x1:0 x2:319 y1:30 y2:209 w:320 h:180 x:0 y:30 pts:5690 t:0.063222 crop=320:180:0:30
[Parsed_cropdetect_3 @ 0x55a] x1:0 x2:319 y1:30 y2:209 w:320 h:180 x:0 y:30 pts:9290 t:0.103222 crop=320:180:0:30
[Parsed_cropdetect_3 @ 0x55a] x1:319 x2:0 y1:239 y2:0 w:-318 h:-238 x:8 y:8 pts:12890 t:0.14 crop=-318:-238:8:8
[scdet @ 0x56200894e9c0] lavfi.scd.score: 40.862, lavfi.scd.time: 2.02322
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_start: 2.02322
[blackdetect @ 0x56200894b840] black_start:2.02322 black_end:4.02322 black_duration:2
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_duration: 2
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_end: 4.02322
[scdet @ 0x56200894e9c0] lavfi.scd.score: 41.509, lavfi.scd.time: 4.02322
[silencedetect @ 0x56200894f980] silence_start: 5.04125
[silencedetect @ 0x56200894f980] silence_end: 7.03565 | silence_duration: 1.9944
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_start: 8.02322
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_duration: 2
[freezedetect @ 0x56200894cb80] lavfi.freezedetect.freeze_end: 10.0232
[silencedetect @ 0x56200894f980] silence_start: 11.2
[blackdetect @ 0x56200894b840] black_start:11.5 black_end:11.9832 black_duration:0.48
[Parsed_idet_0 @ 0x562008557280] Single frame detection: TFF:   110 BFF:    91 Progressive:    24 Undetermined:    75
[Parsed_idet_0 @ 0x562008557280] Multi frame detection: TFF:   149 BFF:    81 Progressive:    70 Undetermined:     0
[Parsed_ebur128_9 @ 0x5620089504c0] Summary:

  Integrated loudness:
    I:         -21.9 LUFS
    Threshold: -31.9 LUFS

  Loudness range:
    LRA:         4.8 LU
    Threshold: -42.8 LUFS
    LRA low:   -26.5 LUFS
    LRA high:  -21.8 LUFS

  True peak:
    Peak:      -17.7 dBFS
`;

describe('line parsers', () => {
  it('read each detector line', () => {
    expect(parseBlackLine('[blackdetect @ 0x1] black_start:2 black_end:4 black_duration:2')).toEqual({
      start: 2,
      end: 4,
    });
    expect(parseFreezeLine('[freezedetect @ 0x1] lavfi.freezedetect.freeze_end: 10.0232')).toEqual({
      edge: 'end',
      t: 10.0232,
    });
    expect(parseFreezeLine('[freezedetect @ 0x1] lavfi.freezedetect.freeze_duration: 2')).toBeNull();
    expect(parseSilenceLine('[silencedetect @ 0x1] silence_end: 7.03565 | silence_duration: 1.9944')).toEqual(
      {
        edge: 'end',
        t: 7.03565,
      },
    );
    expect(parseSilenceLine('[silencedetect @ 0x1] silence_start: -0.0213')).toEqual({
      edge: 'start',
      t: -0.0213,
    });
    expect(parseSceneLine('[scdet @ 0x1] lavfi.scd.score: 40.862, lavfi.scd.time: 2')).toBe(2);
    expect(
      parseCropLine(
        '[cd @ 0x1] x1:0 x2:1279 y1:90 y2:629 w:1280 h:540 x:0 y:90 pts:1 t:0.04 crop=1280:540:0:90',
      ),
    ).toEqual({
      x: 0,
      y: 90,
      width: 1280,
      height: 540,
    });
    expect(
      parseCropLine(
        '[cd @ 0x1] x1:319 x2:0 y1:239 y2:0 w:-318 h:-238 x:8 y:8 pts:1 t:0.1 crop=-318:-238:8:8',
      ),
    ).toBeNull();
    expect(
      parseIdetLine(
        '[idet @ 0x1] Multi frame detection: TFF:   100 BFF:     0 Progressive:     0 Undetermined:     2',
      ),
    ).toEqual({
      tff: 100,
      bff: 0,
      progressive: 0,
      undetermined: 2,
    });
    expect(
      parseShowinfoLine('[Parsed_showinfo_7 @ 0x1] n:  12 pts: 452090 pts_time:5.02322 pos: 1 fmt:yuv420p'),
    ).toEqual({
      n: 12,
      t: 5.02322,
    });
    expect(
      parseQcStreamLine(
        '  Stream #0:0: Video: wrapped_avframe, yuv420p(tv, top coded first (swapped)), 1920x1080 [SAR 1:1 DAR 16:9], q=2-31, 200 kb/s, 29.97 fps, 30k tbn',
      ),
    ).toEqual({ width: 1920, height: 1080, fps: 29.97 });
    expect(
      parseQcStreamLine('  Stream #2:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 224x224, 25 fps'),
    ).toBeNull();
  });
});

describe('createQcLogParser + finishQc', () => {
  it('collects a run and rebases it on the first frame', () => {
    const times: number[] = [];
    const p = createQcLogParser((_n, t) => times.push(t));
    for (const l of STDERR.split('\n')) p.line(l);
    expect(times).toEqual([0.0232222]);
    // The empty summary ffmpeg prints when it rebuilds the graph is not the result.
    expect(p.log.loudness).toEqual({ integratedLufs: -21.9, lra: 4.8, truePeakDbtp: -17.7 });
    expect(p.log.video).toEqual({ width: 320, height: 240, fps: 25 });
    const qc = finishQc(p.log, {
      durationSec: 12.0232,
      hasVideo: true,
      hasAudio: true,
      thresholds: DEFAULT_QC_THRESHOLDS,
    });
    // The black span that runs into the last frame ends at the end; the open silence too.
    expect(qc.black).toEqual([
      { start: 2, end: 4 },
      { start: 11.477, end: 12 },
    ]);
    // The freeze that is the black span is black only.
    expect(qc.freeze).toEqual([{ start: 8, end: 10 }]);
    expect(qc.silence).toEqual([
      { start: 5.018, end: 7.012 },
      { start: 11.177, end: 12 },
    ]);
    expect(qc.sceneChanges).toBe(2);
    expect(qc.sceneTimes).toEqual([2, 4]);
    expect(qc.crop).toEqual({ x: 0, y: 30, width: 320, height: 180 });
    expect(qc.idet).toEqual({ tff: 149, bff: 81, progressive: 70, undetermined: 0 });
    expect(qc.interlaced).toBe(false);
  });

  it('keeps a silent track finite and drops what the streams do not have', () => {
    const p = createQcLogParser();
    for (const l of STDERR.split('\n').slice(0, 17)) p.line(l);
    expect(p.log.loudness).toEqual({ integratedLufs: -70, lra: 0, truePeakDbtp: SILENT_PEAK_DBTP });
    const qc = finishQc(p.log, {
      durationSec: 1,
      hasVideo: false,
      hasAudio: false,
      thresholds: DEFAULT_QC_THRESHOLDS,
    });
    expect(qc).toMatchObject({
      loudness: null,
      crop: null,
      idet: null,
      sceneChanges: 0,
      black: [],
      silence: [],
    });
  });
});

describe('span and vote helpers', () => {
  it('subtracts spans and drops short remnants', () => {
    expect(subtractSpans([{ start: 1, end: 5 }], [{ start: 2, end: 3 }])).toEqual([
      { start: 1, end: 2 },
      { start: 3, end: 5 },
    ]);
    expect(subtractSpans([{ start: 1.96, end: 4 }], [{ start: 2, end: 4 }], 1)).toEqual([]);
    expect(subtractSpans([{ start: 8, end: 10 }], [{ start: 2, end: 4 }], 1)).toEqual([
      { start: 8, end: 10 },
    ]);
  });

  it('calls interlaced only on a dominant field order', () => {
    expect(isInterlaced({ tff: 100, bff: 0, progressive: 0, undetermined: 0 })).toBe(true);
    expect(isInterlaced({ tff: 2, bff: 90, progressive: 10, undetermined: 50 })).toBe(true);
    expect(isInterlaced({ tff: 45, bff: 40, progressive: 15, undetermined: 0 })).toBe(false);
    expect(isInterlaced({ tff: 5, bff: 0, progressive: 0, undetermined: 300 })).toBe(false);
    expect(isInterlaced({ tff: 40, bff: 0, progressive: 900, undetermined: 0 })).toBe(false);
    expect(isInterlaced(null)).toBe(false);
  });

  it('votes the crop seen most and calls the full frame no crop', () => {
    const m = new Map([
      ['1280:540:0:90', 40],
      ['1280:720:0:0', 10],
    ]);
    expect(voteCrop(m, { width: 1280, height: 720 })).toEqual({ x: 0, y: 90, width: 1280, height: 540 });
    m.set('1280:720:0:0', 100);
    expect(voteCrop(m, { width: 1280, height: 720 })).toBeNull();
    expect(voteCrop(new Map(), null)).toBeNull();
  });
});
