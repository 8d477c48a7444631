import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileObjectStore } from '@vodcloud/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { addTokenToPlaylist } from './playlist';
import { PlaylistCache, tokenParts, withToken } from './playlist-cache';

describe('playlists kept in memory', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const master = [
    '#EXTM3U',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="default",URI="g/audio/index.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=800000',
    'g/240p/index.m3u8',
    '#EXT-X-KEY:METHOD=AES-128,URI="../key?x=1#frag",IV=0x1',
    'seg-00000.ts?already=1',
    'vodtoken/seg-00001.ts\r',
    '',
  ].join('\n');

  it('joins the precomputed parts into exactly what the per-line rewrite makes', () => {
    for (const token of ['eyJ.abc_-.sig', 'a b&c=d/é', '']) {
      const parts = tokenParts(master);
      expect(parts.join(encodeURIComponent(token))).toBe(addTokenToPlaylist(master, token));
    }
    expect(tokenParts('#EXTM3U\n#EXT-X-ENDLIST\n')).toEqual(['#EXTM3U\n#EXT-X-ENDLIST\n']);
  });

  it('reads once, and reads again when the generation is published (its playlists are rewritten then)', async () => {
    const storage = new FileObjectStore({ root: dir });
    const cache = new PlaylistCache(storage);
    await storage.put('t/v/g/hls/master.m3u8', Buffer.from(master), { contentType: 'application/x-mpegurl' });
    const [a, b] = await Promise.all([
      cache.get('t/v/g/hls/master.m3u8', false),
      cache.get('t/v/g/hls/master.m3u8', false),
    ]);
    expect(a).toBe(b);
    expect(a!.body.toString()).toBe(master);
    expect(a!.etag).toMatch(/^"[^"]+"$/);
    expect(withToken(a!, 'tok')).toBe(addTokenToPlaylist(master, 'tok'));
    const published = master.replace('BANDWIDTH=800000', 'BANDWIDTH=612345');
    await storage.put('t/v/g/hls/master.m3u8', Buffer.from(published));
    expect(cache.peek('t/v/g/hls/master.m3u8', false)).toBe(a);
    expect(cache.peek('t/v/g/hls/master.m3u8', true)).toBeUndefined();
    expect((await cache.get('t/v/g/hls/master.m3u8', true))!.body.toString()).toBe(published);
    expect(await cache.get('t/v/g/hls/missing.m3u8', true)).toBeUndefined();
  });

  it('drops the oldest playlists past its size bound', async () => {
    const storage = new FileObjectStore({ root: dir });
    const cache = new PlaylistCache(storage, 3000);
    for (const n of [1, 2, 3]) {
      await storage.put(`t/v/g/hls/${n}.m3u8`, Buffer.from(`#EXTM3U\n${'#'.repeat(600)}\n`));
      await cache.get(`t/v/g/hls/${n}.m3u8`, true);
    }
    expect([1, 2, 3].map((n) => cache.peek(`t/v/g/hls/${n}.m3u8`, true) !== undefined)).toEqual([
      false,
      true,
      true,
    ]);
  });
});
