import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { VideosTable } from '../../db/schema';
import { open, seal } from '../../lib/secretbox';

/** AES-128-CBC of one whole segment (see segmentIv); the key is stored sealed on the video row. */
const KEY_PURPOSE = 'hls-key';

/** The IV players assume without an IV attribute: the segment's media sequence number, big-endian. */
function segmentIv(index: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index, 12);
  return iv;
}

export function encryptSegment(data: Buffer, key: Buffer, index: number): Buffer {
  const c = createCipheriv('aes-128-cbc', key, segmentIv(index));
  return Buffer.concat([c.update(data), c.final()]);
}

export function decryptSegment(data: Buffer, key: Buffer, index: number): Buffer {
  const c = createDecipheriv('aes-128-cbc', key, segmentIv(index));
  return Buffer.concat([c.update(data), c.final()]);
}

/** A generation's key as stored on the row (videos.hls_key). */
export const sealKey = (key: Buffer, secret: string) => seal(key, secret, KEY_PURPOSE);

/** The video's segment key, or undefined when its generation is not encrypted. */
export const keyOf = (row: VideosTable, secret: string) =>
  row.hls_key ? open(row.hls_key, secret, KEY_PURPOSE) : undefined;
