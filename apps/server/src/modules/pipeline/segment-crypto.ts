import { createCipheriv, createDecipheriv } from 'node:crypto';

/** AES-128-CBC of one whole segment (see segmentIv); each generation's key: modules/videos/keys.ts. */
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
