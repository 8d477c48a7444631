import type { VideosTable } from '../../db/schema';
import { open, seal } from '../../lib/secretbox';

/**
 * The AES-128 keys of a video's encrypted HLS outputs. Each output generation has its own key: a
 * retranscode makes a new key for its new generation (`hls_key`, beside `generation`) while players of the
 * published generation go on fetching the published one's (`published_hls_key`). Keys are stored sealed
 * with the cluster secret.
 */
const KEY_PURPOSE = 'hls-key';

export const sealKey = (key: Buffer, secret: string) => seal(key, secret, KEY_PURPOSE);

/** The sealed key of one generation, or null when it is not encrypted (or not the made or published one). */
export function sealedKeyOf(row: VideosTable, generation: string): string | null {
  if (generation === row.generation) return row.hls_key ?? null;
  if (generation === row.published_generation) return row.published_hls_key ?? null;
  return null;
}

/** The key of one generation, or undefined when that generation is not encrypted. */
export function keyOf(row: VideosTable, generation: string, secret: string): Buffer | undefined {
  const sealed = sealedKeyOf(row, generation);
  return sealed ? open(sealed, secret, KEY_PURPOSE) : undefined;
}
