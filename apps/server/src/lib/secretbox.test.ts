import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aadOf,
  envelopeKid,
  generateMasterKey,
  KeyRing,
  kidOf,
  open,
  parseMasterKey,
  SealError,
  SecretBox,
  seal,
} from './secretbox';

const keyA = generateMasterKey();
const keyB = generateMasterKey();

/** The failure a call throws (SealError expected). */
function failure(fn: () => unknown): SealError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SealError);
    return err as SealError;
  }
  throw new Error('expected a SealError, nothing was thrown');
}

describe('master keys', () => {
  it('accepts 32 bytes as base64, base64url or hex, all naming the same key', () => {
    const raw = randomBytes(32);
    const forms = [
      raw.toString('base64'),
      raw.toString('base64').replace(/=$/, ''),
      raw.toString('base64url'),
      raw.toString('hex'),
      raw.toString('hex').toUpperCase(),
      ` ${raw.toString('base64url')}\n`,
    ];
    for (const f of forms) {
      const k = parseMasterKey(f);
      expect(k.key.equals(raw), f).toBe(true);
      expect(k.kid).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 8));
    }
    expect(parseMasterKey(generateMasterKey()).key).toHaveLength(32);
  });

  it('refuses anything else with a message naming the setting', () => {
    for (const bad of [
      '',
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('hex'),
      'x'.repeat(43) + '!',
    ])
      expect(() => parseMasterKey(bad, 'VOD_MASTER_KEY_PREVIOUS')).toThrow(
        /^VOD_MASTER_KEY_PREVIOUS must be 32 random bytes .*generate-master-key/,
      );
  });
});

describe('the v1 envelope', () => {
  const ring = KeyRing.from(keyA);
  const kid = parseMasterKey(keyA).kid;

  it('seals as v1:<kid>:<base64> and opens with the same additional data', () => {
    const plain = Buffer.from('whsec_top-secret');
    const sealed = ring.seal(plain, 'vodcloud:webhook-secret:W1');
    expect(sealed).toMatch(new RegExp(`^v1:${kid}:[A-Za-z0-9+/]+={0,2}$`));
    expect(sealed).not.toContain('top-secret');
    expect(envelopeKid(sealed)).toBe(kid);
    expect(ring.open(sealed, 'vodcloud:webhook-secret:W1').equals(plain)).toBe(true);
    // A fresh IV every time.
    expect(ring.seal(plain, 'x')).not.toBe(ring.seal(plain, 'x'));
  });

  it('detects tampering with any byte of the iv, tag or ciphertext', () => {
    const sealed = ring.seal(Buffer.from('secret value'), 'aad');
    const raw = Buffer.from(sealed.split(':')[2]!, 'base64');
    for (let i = 0; i < raw.length; i++) {
      const t = Buffer.from(raw);
      t[i]! ^= 0x01;
      const e = failure(() => ring.open(`v1:${kid}:${t.toString('base64')}`, 'aad'));
      expect(e.reason).toBe('invalid');
    }
    expect(
      failure(() => ring.open(`v1:${kid}:${raw.subarray(0, 20).toString('base64')}`, 'aad')).reason,
    ).toBe('invalid');
    expect(failure(() => ring.open('v2:abc', 'aad')).reason).toBe('invalid');
  });

  it('refuses a value moved to another purpose or row', () => {
    const sealed = ring.seal(Buffer.from('k'), aadOf('webhook-secret', 'W1'));
    expect(failure(() => ring.open(sealed, aadOf('webhook-secret', 'W2'))).reason).toBe('invalid');
    expect(failure(() => ring.open(sealed, aadOf('signing-key', 'W1'))).reason).toBe('invalid');
    const box = new SecretBox(ring, 'cluster-secret-xxxxxxxxxxxxxxxxxxxxxxxx');
    const hls = box.seal('hls-key', 'V1/G1', randomBytes(16));
    expect(() => box.open('hls-key', 'V1/G2', hls)).toThrow(SealError);
    expect(() => box.open('hls-key', 'V2/G1', hls)).toThrow(SealError);
  });

  it('refuses a value of a key the ring does not hold, naming the key id and the settings', () => {
    const other = KeyRing.from(keyB);
    const sealed = other.seal(Buffer.from('x'), 'aad');
    const e = failure(() => ring.open(sealed, 'aad'));
    expect(e.reason).toBe('unknown-key');
    expect(e.kid).toBe(kidOf(parseMasterKey(keyB).key));
    expect(e.message).toMatch(/VOD_MASTER_KEY.*VOD_MASTER_KEY_PREVIOUS/);
    // A forged envelope naming the right kid but made with another key fails authentication.
    const forged = sealed.replace(/^v1:[0-9a-f]{8}:/, `v1:${kid}:`);
    expect(failure(() => ring.open(forged, 'aad')).reason).toBe('invalid');
  });

  it('opens values of previous keys and seals only under the current one', () => {
    const old = KeyRing.from(keyA);
    const rotated = KeyRing.from(keyB, [keyA]);
    const sealedOld = old.seal(Buffer.from('v'), 'aad');
    expect(rotated.open(sealedOld, 'aad').toString()).toBe('v');
    expect(envelopeKid(rotated.seal(Buffer.from('v'), 'aad'))).toBe(parseMasterKey(keyB).kid);
    expect(rotated.kids.sort()).toEqual([parseMasterKey(keyA).kid, parseMasterKey(keyB).kid].sort());
    expect(() => KeyRing.from(undefined, [keyA]).seal(Buffer.from('v'), 'aad')).toThrow(/no master key/);
  });
});

describe('SecretBox', () => {
  const cluster = 'c'.repeat(43);

  it('without a master key keeps the formats of before: clear, or sealed under the cluster secret', () => {
    const box = new SecretBox(KeyRing.from(undefined), cluster);
    expect(box.sealing).toBe(false);
    expect(box.seal('webhook-secret', 'W1', 'whsec_abc')).toBe('whsec_abc');
    expect(box.seal('cluster-secret', 'secret', 'S')).toBe('S');
    const key = randomBytes(16);
    const legacy = box.seal('hls-key', 'V1/G1', key);
    expect(envelopeKid(legacy)).toBeUndefined();
    // Exactly what the pre-master-key code wrote, and reads back what it wrote.
    expect(open(legacy, cluster, 'hls-key').equals(key)).toBe(true);
    expect(box.open('hls-key', 'V1/G1', seal(key, cluster, 'hls-key')).equals(key)).toBe(true);
    expect(box.openText('signing-key', 'K1', seal(Buffer.from('PEM'), cluster, 'signing-key'))).toBe('PEM');
    expect(box.needsSealing('whsec_abc', true)).toBe(false);
  });

  it('with a master key seals new values and still opens the older formats', () => {
    const box = new SecretBox(KeyRing.from(keyA), cluster);
    const sealed = box.seal('webhook-secret', 'W1', 'whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(box.openText('webhook-secret', 'W1', sealed)).toBe('whsec_abc');
    expect(box.openText('webhook-secret', 'W1', 'whsec_clear')).toBe('whsec_clear');
    expect(box.openText('signing-key', 'K1', seal(Buffer.from('PEM'), cluster, 'signing-key'))).toBe('PEM');
    expect(box.needsSealing('whsec_clear', false)).toBe(true);
    expect(box.needsSealing(sealed, false)).toBe(false);
    const underOld = new SecretBox(KeyRing.from(keyB), cluster).seal('webhook-secret', 'W1', 'x');
    expect(box.needsSealing(underOld, false)).toBe(false);
    expect(box.needsSealing(underOld, true)).toBe(true);
    expect(box.needsSealing(sealed, true)).toBe(false);
  });
});
