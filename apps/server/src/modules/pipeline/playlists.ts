import { segmentName } from '../videos';

/**
 * HLS playlists written from the plan alone ("playlists before pixels"): every segment's duration is
 * known once its boundaries are planned, so the complete VOD playlists exist before any segment does.
 */

export interface SegmentRef {
  index: number;
  duration: number;
}

export interface VariantRef {
  name: string;
  width: number;
  height: number;
  /** Peak bits/s of the variant including audio (BANDWIDTH). */
  bandwidth: number;
  /** Average bits/s including audio (AVERAGE-BANDWIDTH). */
  averageBandwidth: number;
  fps: number;
  /** RFC 6381 codec string of the video, e.g. avc1.640028. */
  videoCodec: string;
  uri: string;
}

export interface KeyRef {
  uri: string;
}

const fmt = (n: number) => n.toFixed(3);

/** H.264 codec string from profile and level, e.g. high 4.0 → avc1.640028. */
export function avcCodec(profile: string, level: string): string {
  const p = profile === 'high' ? '64' : profile === 'main' ? '4d' : '42';
  const constraint = profile === 'baseline' ? 'e0' : '00';
  const lv = Math.round(Number(level) * 10)
    .toString(16)
    .padStart(2, '0');
  return `avc1.${p}${constraint}${lv}`;
}

export const AAC_LC = 'mp4a.40.2';

export function mediaPlaylist(
  segments: SegmentRef[],
  opts: { key?: KeyRef; uriOf?: (i: number) => string } = {},
): string {
  const target = Math.max(1, Math.ceil(Math.max(...segments.map((s) => s.duration))));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  // METHOD=AES-128 without an IV: each segment's IV is its media sequence number (RFC 8216 5.2).
  if (opts.key) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${opts.key.uri}"`);
  for (const s of segments)
    lines.push(`#EXTINF:${fmt(s.duration)},`, opts.uriOf ? opts.uriOf(s.index) : segmentName(s.index));
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

export function masterPlaylist(
  variants: VariantRef[],
  audio: { uri: string; channels: number } | null,
  opts: { first?: string } = {},
): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:4', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio)
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="default",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels}",URI="${audio.uri}"`,
    );
  // Players start with the first entry (hls.js too, then switches by measured bandwidth): `first` (the
  // variant ready soonest), then highest to lowest.
  const ordered = [...variants].sort(
    (a, b) => Number(b.name === opts.first) - Number(a.name === opts.first) || b.bandwidth - a.bandwidth,
  );
  for (const v of ordered) {
    const codecs = audio ? `${v.videoCodec},${AAC_LC}` : v.videoCodec;
    const attrs = [
      `BANDWIDTH=${Math.round(v.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.fps.toFixed(3)}`,
      `CODECS="${codecs}"`,
    ];
    if (audio) attrs.push('AUDIO="aud"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  lines.push('');
  return lines.join('\n');
}

/** Audio-only master (audio-only sources): one AAC rendition. */
export function audioOnlyMaster(uri: string, bitrate: number): string {
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(bitrate * 1.1)},CODECS="${AAC_LC}"`,
    uri,
    '',
  ].join('\n');
}
