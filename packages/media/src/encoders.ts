import { runFfmpeg } from './runner';

export interface FfmpegCapabilities {
  /** e.g. `5.1.9-0+deb12u1`. */
  version: string;
  /** Major.minor as numbers, e.g. [5, 1]; [0, 0] when the version string is a git build. */
  versionNumber: [number, number];
  /** Encoder names (`libx264`, `aac`, `libx265`, …). */
  encoders: ReadonlySet<string>;
  /** Codec ids ffmpeg can decode (`h264`, `hevc`, `vp9`, `prores`, …): use with `classify`'s `decodableCodecs`. */
  decoders: ReadonlySet<string>;
  /** Muxer names (`hls`, `segment`, `mp4`, …). */
  muxers: ReadonlySet<string>;
}

const cache = new Map<string, Promise<FfmpegCapabilities>>();

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

/** Parses `ffmpeg -encoders`: lines ` V....D libx264   description`. */
export function parseEncoders(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of lines(text)) {
    const m = /^ ([VAS.][F.][S.][X.][B.][D.]) (\S+)/.exec(l);
    if (m && m[2] !== '=') out.add(m[2]!);
  }
  return out;
}

/** Parses `ffmpeg -codecs`: lines ` DEV.LS h264   description`; keeps ids with decoding support. */
export function parseDecodableCodecs(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of lines(text)) {
    const m = /^ ([D.])([E.])([VAST.])[I.][L.][S.] (\S+)/.exec(l);
    if (m && m[1] === 'D' && m[4] !== '=') out.add(m[4]!);
  }
  return out;
}

/** Parses `ffmpeg -muxers`: lines `  E mp4   description`. */
export function parseMuxers(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of lines(text)) {
    const m = /^ [D ]E[d ]? (\S+)/.exec(l);
    if (m && m[1] !== '=') for (const n of m[1]!.split(',')) out.add(n);
  }
  return out;
}

async function run(args: string[], ffmpegPath?: string): Promise<string> {
  const res = await runFfmpeg(args, { timeoutMs: 10_000, captureStdout: true, ffmpegPath });
  return res.stdout?.toString('utf8') ?? '';
}

/** Asks ffmpeg once per binary (cached for the process) what it can do. */
export function detectEncoders(
  opts: { ffmpegPath?: string; refresh?: boolean } = {},
): Promise<FfmpegCapabilities> {
  const key = opts.ffmpegPath ?? process.env.VOD_FFMPEG_PATH ?? 'ffmpeg';
  const hit = cache.get(key);
  if (hit && !opts.refresh) return hit;
  const p = (async () => {
    const [versionText, enc, codecs, muxers] = await Promise.all([
      run(['-version'], opts.ffmpegPath),
      run(['-encoders'], opts.ffmpegPath),
      run(['-codecs'], opts.ffmpegPath),
      run(['-muxers'], opts.ffmpegPath),
    ]);
    const version = /ffmpeg version (\S+)/.exec(versionText)?.[1] ?? 'unknown';
    const vm = /^n?(\d+)\.(\d+)/.exec(version);
    return {
      version,
      versionNumber: vm ? [Number(vm[1]), Number(vm[2])] : [0, 0],
      encoders: parseEncoders(enc),
      decoders: parseDecodableCodecs(codecs),
      muxers: parseMuxers(muxers),
    } satisfies FfmpegCapabilities;
  })();
  cache.set(key, p);
  p.catch(() => cache.delete(key));
  return p;
}
