import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addTokenToPlaylist, withQuery } from '../stream/playlist';
import { checkClaims, parseJwt, signJwt, verifySignature } from './jwt';
import { hostMatches, referrerAllowed } from './referrer';

describe('playback tokens, referrer matching and playlist rewriting', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('signs and verifies RS256; refuses other algorithms and tampering', () => {
    const t = signJwt({ sub: 'p', aud: 'v', exp: 2e9 }, 'K', privateKey);
    const parsed = parseJwt(t)!;
    expect(parsed.kid).toBe('K');
    expect(verifySignature(parsed, publicKey)).toBe(true);
    const [h, p, s] = t.split('.');
    const other = Buffer.from(JSON.stringify({ sub: 'q', aud: 'v', exp: 2e9 })).toString('base64url');
    expect(verifySignature(parseJwt(`${h}.${other}.${s}`)!, publicKey)).toBe(false);
    const none = Buffer.from(JSON.stringify({ alg: 'none', kid: 'K' })).toString('base64url');
    expect(parseJwt(`${none}.${p}.`)).toBeUndefined();
    const hs = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'K' })).toString('base64url');
    expect(parseJwt(`${hs}.${p}.${s}`)).toBeUndefined();
    const nokid = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    expect(parseJwt(`${nokid}.${p}.${s}`)).toBeUndefined();
    expect(parseJwt('a.b')).toBeUndefined();
    expect(parseJwt('a.b.c.d')).toBeUndefined();
    expect(parseJwt(`${h}.${p}.${s}=`)).toBeUndefined();
  });

  it('checks exp, nbf, sub and aud (5 s clock skew)', () => {
    const want = { sub: 'p', aud: 'v' as const };
    expect(checkClaims({ sub: 'p', aud: 'v', exp: 1000 }, want, 900)).toBeUndefined();
    expect(checkClaims({ sub: 'p', aud: 'v', exp: 1000 }, want, 1004)).toBeUndefined();
    expect(checkClaims({ sub: 'p', aud: 'v', exp: 1000 }, want, 1005)).toMatch(/expired/);
    expect(checkClaims({ sub: 'p', aud: 'v' }, want, 0)).toMatch(/exp/);
    expect(checkClaims({ sub: 'p', aud: 'v', exp: '2000' }, want, 0)).toMatch(/exp/);
    expect(checkClaims({ sub: 'p', aud: 'v', exp: 2000, nbf: 1000 }, want, 900)).toMatch(/not valid yet/);
    expect(checkClaims({ sub: 'p', aud: 'v', exp: 2000, nbf: 1000 }, want, 1000)).toBeUndefined();
    expect(checkClaims({ sub: 'q', aud: 'v', exp: 2000 }, want, 0)).toMatch(/another video/);
    expect(checkClaims({ sub: 'p', aud: 't', exp: 2000 }, want, 0)).toMatch(/audience/);
    expect(checkClaims({ sub: 'p', aud: ['t', 'v'], exp: 2000 }, want, 0)).toBeUndefined();
  });

  it('matches exact and wildcard referrer hosts', () => {
    expect(hostMatches('example.com', 'example.com')).toBe(true);
    expect(hostMatches('EXAMPLE.com.', 'example.com')).toBe(true);
    expect(hostMatches('www.example.com', 'example.com')).toBe(false);
    expect(hostMatches('www.example.com', '*.example.com')).toBe(true);
    expect(hostMatches('a.b.example.com', '*.example.com')).toBe(true);
    expect(hostMatches('example.com', '*.example.com')).toBe(false);
    expect(hostMatches('badexample.com', '*.example.com')).toBe(false);
    const rules = { referrers: ['example.com'], allowNoReferrer: false };
    expect(referrerAllowed(rules, 'https://example.com/x')).toBe(true);
    expect(referrerAllowed(rules, undefined)).toBe(false);
    expect(referrerAllowed({ ...rules, allowNoReferrer: true }, undefined)).toBe(true);
    expect(referrerAllowed({ referrers: [], allowNoReferrer: false }, 'https://any.test/')).toBe(true);
  });

  it('carries a token into every URI of a playlist', () => {
    const master = [
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="a",URI="audio/index.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"',
      '360p/index.m3u8',
      '',
    ].join('\n');
    expect(addTokenToPlaylist(master, 'T.k.n')).toBe(
      [
        '#EXTM3U',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="a",URI="audio/index.m3u8?token=T.k.n"',
        '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"',
        '360p/index.m3u8?token=T.k.n',
        '',
      ].join('\n'),
    );
    const child =
      '#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI="/hls/p/key",IV=0x1\r\n#EXTINF:2,\r\nseg-00000.ts\r\n';
    expect(addTokenToPlaylist(child, 'X')).toBe(
      '#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI="/hls/p/key?token=X",IV=0x1\r\n#EXTINF:2,\r\nseg-00000.ts?token=X\r\n',
    );
    expect(withQuery('a.jpg?x=1#xywh=0,0,1,1', 'token', 'a b')).toBe('a.jpg?x=1&token=a%20b#xywh=0,0,1,1');
  });
});
