import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Encrypts small secrets at rest (e.g. HLS keys) with AES-256-GCM under a key derived from the cluster secret. */
export function seal(plain: Buffer, secret: string, purpose: string): string {
  const key = createHash('sha256').update(`${purpose}\0${secret}`).digest();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

export function open(sealed: string, secret: string, purpose: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  const key = createHash('sha256').update(`${purpose}\0${secret}`).digest();
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]);
}
