import { fpsValue } from '@vodcloud/media';
import type { ObjectStore } from '@vodcloud/storage';
import { AUDIO_RENDITION, hlsPrefix, MASTER_PLAYLIST, MEDIA_PLAYLIST } from '../videos';
import type { VideoPlan } from './plan-state';
import { audioOnlyMaster, avcCodec, masterPlaylist, mediaPlaylist, type VariantRef } from './playlists';

/**
 * The variant players start with (listed first in the master): the passthrough rendition when there is
 * one (ready at once), else the smallest (its first segment is made before the video turns playable and is
 * the quickest to make just in time); players then switch up by measured bandwidth.
 */
export function firstVariant(plan: VideoPlan): string | undefined {
  if (plan.audioOnly) return undefined;
  if (plan.passthrough?.segments.length) return plan.passthrough.rendition;
  return [...plan.ladder.renditions].sort((a, b) => a.width * a.height - b.width * b.height)[0]?.name;
}

/** Writes master and child playlists of a generation; with `sizes`, the master carries measured bandwidths. */
export async function writePlaylists(
  d: { storage: ObjectStore },
  tenantId: string,
  playbackId: string,
  videoId: string,
  plan: VideoPlan,
  encrypted: boolean,
  sizes?: Record<string, number>,
): Promise<void> {
  const prefix = hlsPrefix(tenantId, videoId, plan.generation);
  const segs = plan.segments.map((s) => ({ index: s.index, duration: s.end - s.start }));
  // Every URL carries the generation, so a retranscode's segments never reuse URLs served (and cached as
  // immutable) before: the key's is absolute (the stream role adds the playback token to each URL it
  // serves); the master's are relative to /hls/{playbackId}/master.m3u8, so they resolve to
  // /hls/{playbackId}/{generation}/{rendition}/index.m3u8; segment URIs stay relative to their playlist.
  const key = encrypted ? { uri: `/hls/${playbackId}/${plan.generation}/key` } : undefined;
  const put = (k: string, text: string) =>
    d.storage.put(`${prefix}/${k}`, text, { contentType: 'application/vnd.apple.mpegurl' });
  /** A media playlist's key below the generation's HLS folder. */
  const media = (rendition: string) => `${rendition}/${MEDIA_PLAYLIST}`;
  /** Its URI in the master playlist. */
  const uri = (rendition: string) => `${plan.generation}/${media(rendition)}`;
  const audio = plan.ladder.audio;
  if (audio) await put(media(AUDIO_RENDITION), mediaPlaylist(segs, { key }));
  if (plan.audioOnly) {
    await put(MASTER_PLAYLIST, audioOnlyMaster(uri(AUDIO_RENDITION), audio?.bitrate ?? 128_000));
    return;
  }
  const audioAvg = audio
    ? sizes?.audio !== undefined
      ? (sizes.audio * 8) / plan.durationSec
      : audio.bitrate
    : 0;
  const variants: VariantRef[] = [];
  const pass = plan.passthrough?.segments.length ? plan.passthrough : null;
  for (const r of plan.ladder.renditions) {
    const own = pass?.rendition === r.name ? pass.segments : segs;
    await put(media(r.name), mediaPlaylist(own, { key }));
    const measured = sizes?.[r.name] !== undefined ? (sizes[r.name]! * 8) / plan.durationSec : undefined;
    const average = (measured ?? r.videoBitrate) + audioAvg;
    variants.push({
      name: r.name,
      width: r.width,
      height: r.height,
      bandwidth: Math.max(r.maxrate + (audio?.bitrate ?? 0), average),
      averageBandwidth: average,
      fps: fpsValue(r.fps),
      videoCodec:
        pass?.rendition === r.name
          ? avcCodec(pass.codec.profile, pass.codec.level)
          : avcCodec(r.profile, r.level),
      uri: uri(r.name),
    });
  }
  await put(
    MASTER_PLAYLIST,
    masterPlaylist(variants, audio ? { uri: uri(AUDIO_RENDITION), channels: audio.channels } : null, {
      first: firstVariant(plan),
    }),
  );
}
