import { newId } from '../../apps/server/src/lib/ids';
import { imageKey, masterKey, mp4Key, POSTER } from '../../apps/server/src/modules/videos/index';
import type { TestApp } from './app';

export interface FakeVideo {
  id: string;
  pid: string;
  generation: string;
  /** The bytes stored as its `240p.mp4`. */
  mp4: Buffer;
}

/**
 * A video as if it had been processed and published (no ffmpeg, no worker): a row with a published
 * generation whose outputs name a `240p` MP4, and that MP4, a master playlist and a poster in storage. For
 * tests of what the stream role does around the bytes (gate, headers, names), not of the media.
 */
export async function fakePublishedVideo(
  t: Pick<TestApp, 'app' | 'ctx'>,
  tenant: { id: string; auth: { authorization: string } },
  opts: { policy?: 'public' | 'signed' } = {},
): Promise<FakeVideo> {
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/uploads',
    headers: tenant.auth,
    payload: { title: 'fake', playbackPolicy: opts.policy ?? 'public' },
  });
  if (created.statusCode !== 201)
    throw new Error(`upload create failed: ${created.statusCode} ${created.body}`);
  const id = created.json().videoId as string;
  const generation = newId();
  const mp4 = Buffer.from(`\0\0\0\x18ftypisom fake mp4 of ${id}`);
  const storage = t.ctx.ports.storage;
  await storage.put(mp4Key(tenant.id, id, generation, '240p'), mp4, { contentType: 'video/mp4' });
  await storage.put(
    masterKey(tenant.id, id, generation),
    Buffer.from('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000\n240p/index.m3u8\n'),
    { contentType: 'application/vnd.apple.mpegurl' },
  );
  await storage.put(imageKey(tenant.id, id, generation, POSTER), Buffer.from([0xff, 0xd8, 0xff, 0xd9]), {
    contentType: 'image/jpeg',
  });
  await t.ctx.videos.repo.update(tenant.id, id, {
    status: 'ready',
    playable: 1,
    generation,
    published_generation: generation,
    outputs: JSON.stringify({ mp4: { '240p': mp4Key(tenant.id, id, generation, '240p') } }),
    renditions: JSON.stringify([
      { name: '240p', width: 320, height: 240, videoBitrate: 300_000, status: 'ready', mp4: true },
    ]),
  });
  const row = await t.ctx.videos.getRow(tenant.id, id);
  return { id, pid: row.playback_id, generation, mp4 };
}
