import type { VideosTable } from '../../db/schema';
import type { SecretBox } from '../../lib/secretbox';

/**
 * The AES-128 keys of a video's encrypted HLS outputs. Each output generation has its own key: a
 * retranscode makes a new key for its new generation (`hls_key`, beside `generation`) while players of the
 * published generation go on fetching the published one's (`published_hls_key`). Keys are stored sealed
 * (lib/secretbox.ts): under the master key, bound to the video and generation, or without one under the
 * cluster secret.
 */
const ref = (videoId: string, generation: string) => `${videoId}/${generation}`;

export const sealKey = (key: Buffer, box: SecretBox, videoId: string, generation: string) =>
  box.seal('hls-key', ref(videoId, generation), key);

/** The sealed key of one generation, or null when it is not encrypted (or not the made or published one). */
export function sealedKeyOf(row: VideosTable, generation: string): string | null {
  if (generation === row.generation) return row.hls_key ?? null;
  if (generation === row.published_generation) return row.published_hls_key ?? null;
  return null;
}

/** The key of one generation, or undefined when that generation is not encrypted. */
export function keyOf(row: VideosTable, generation: string, box: SecretBox): Buffer | undefined {
  const sealed = sealedKeyOf(row, generation);
  return sealed ? box.open('hls-key', ref(row.id, generation), sealed) : undefined;
}
