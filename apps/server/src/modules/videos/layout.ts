/**
 * Where a video's objects live in the object store — the one module that names them. Every writer
 * (upload, import, pipeline, thumbnails, snapshots) and every reader (stream, publish, delete) builds keys
 * here; nothing else spells a key.
 *
 * ```
 * {tenant}/{video}/source                                   the uploaded or imported original
 * {tenant}/{video}/snapshots/{ms}-{width}.{jpg|webp}        snapshots taken on request
 * {tenant}/{video}/{generation}/watermark                   the template's watermark, copied per generation
 * {tenant}/{video}/{generation}/hls/master.m3u8             master playlist
 * {tenant}/{video}/{generation}/hls/{rendition}/index.m3u8  media playlist (rendition "audio" too)
 * {tenant}/{video}/{generation}/hls/{rendition}/seg-NNNNN.ts
 * {tenant}/{video}/{generation}/mp4/{rendition}.mp4         progressive MP4 (audio-only: audio.m4a)
 * {tenant}/{video}/{generation}/images/{name}               poster, storyboard sheets and VTT
 * {tenant}/{video}/{generation}/thumbs/{name}               thumbnails made on demand
 * ```
 *
 * A generation is one complete set of outputs (a ULID); a retranscode writes a new one beside the
 * published one and publishes it with one database update, so a reader never sees half of one.
 */

/** Everything of one video: deleting this prefix removes the video's objects. */
export const videoPrefix = (tenantId: string, videoId: string) => `${tenantId}/${videoId}/`;

export const sourceKey = (tenantId: string, videoId: string) => `${tenantId}/${videoId}/source`;

/** The source key's parts, or undefined when `key` is not a source key. */
export function parseSourceKey(key: string): { tenantId: string; videoId: string } | undefined {
  const m = /^([^/]+)\/([^/]+)\/source$/.exec(key);
  return m ? { tenantId: m[1]!, videoId: m[2]! } : undefined;
}

export const snapshotKey = (
  tenantId: string,
  videoId: string,
  timeSec: number,
  width: number,
  ext: 'jpg' | 'webp',
) => `${tenantId}/${videoId}/snapshots/${Math.round(timeSec * 1000)}-${width}.${ext}`;

/** All outputs of one generation. */
export const generationPrefix = (tenantId: string, videoId: string, generation: string) =>
  `${tenantId}/${videoId}/${generation}`;

export const watermarkKey = (tenantId: string, videoId: string, generation: string) =>
  `${generationPrefix(tenantId, videoId, generation)}/watermark`;

/** The HLS folder of a generation (master playlist and one folder per rendition below it). */
export const hlsPrefix = (tenantId: string, videoId: string, generation: string) =>
  `${generationPrefix(tenantId, videoId, generation)}/hls`;

export const MASTER_PLAYLIST = 'master.m3u8';
export const MEDIA_PLAYLIST = 'index.m3u8';
/** The rendition name of the audio track. */
export const AUDIO_RENDITION = 'audio';

export const masterKey = (tenantId: string, videoId: string, generation: string) =>
  `${hlsPrefix(tenantId, videoId, generation)}/${MASTER_PLAYLIST}`;

export const renditionPrefix = (tenantId: string, videoId: string, generation: string, rendition: string) =>
  `${hlsPrefix(tenantId, videoId, generation)}/${rendition}`;

export const playlistKey = (tenantId: string, videoId: string, generation: string, rendition: string) =>
  `${renditionPrefix(tenantId, videoId, generation, rendition)}/${MEDIA_PLAYLIST}`;

/** A rendition name as it may appear in a URL or key (lowercase, digits, `_`, `-`). */
export const RENDITION_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The file name of segment `index` (TS): `seg-00000.ts`. */
export const segmentName = (index: number) => `seg-${String(index).padStart(5, '0')}.ts`;

const SEGMENT_FILE = /^seg-(\d{5})\.ts$/;

/** The index of a segment file name, or undefined when `file` is not one. */
export function segmentIndex(file: string): number | undefined {
  const m = SEGMENT_FILE.exec(file);
  return m ? Number(m[1]) : undefined;
}

export const isSegmentName = (file: string) => SEGMENT_FILE.test(file);

export const segmentKey = (
  tenantId: string,
  videoId: string,
  generation: string,
  rendition: string,
  index: number,
) => `${renditionPrefix(tenantId, videoId, generation, rendition)}/${segmentName(index)}`;

/** The rendition of a segment key under a generation's HLS folder, or undefined when `key` is not one. */
export function segmentKeyRendition(key: string): string | undefined {
  const m = /\/hls\/([^/]+)\/seg-\d{5}\.ts$/.exec(key);
  return m ? m[1] : undefined;
}

/** File name of a progressive download: `{rendition}.mp4`, or `audio.m4a` for an audio-only video. */
export const mp4Name = (rendition: string) =>
  rendition === AUDIO_RENDITION ? 'audio.m4a' : `${rendition}.mp4`;

export const mp4Key = (tenantId: string, videoId: string, generation: string, rendition: string) =>
  `${generationPrefix(tenantId, videoId, generation)}/mp4/${mp4Name(rendition)}`;

export const imagesPrefix = (tenantId: string, videoId: string, generation: string) =>
  `${generationPrefix(tenantId, videoId, generation)}/images`;

export const imageKey = (tenantId: string, videoId: string, generation: string, name: string) =>
  `${imagesPrefix(tenantId, videoId, generation)}/${name}`;

export const POSTER = 'poster.jpg';
export const STORYBOARD_VTT = 'storyboard.vtt';
export const storyboardSheetName = (index: number) => `storyboard-${index}.jpg`;
export const STORYBOARD_SHEET = /^storyboard-\d+\.jpg$/;
/** A poster chosen later (a cover change) gets a name of its own: objects of a generation never change. */
export const coverPosterName = (timeSec: number) => `poster-${Math.round(timeSec * 1000)}.jpg`;

export const thumbsPrefix = (tenantId: string, videoId: string, generation: string) =>
  `${generationPrefix(tenantId, videoId, generation)}/thumbs`;
