// A player client of the chaos run: picks a ready video, asks the api for it (its hlsUrl names a healthy
// stream node), then fetches the master playlist, one variant playlist and its segments one by one as a
// player buffering would. Every request is timed and counted; a failed request makes the player start
// over from the api (as a player app reloading its source does), and each player's runs of nothing but
// failures are the playback outages.

import { type Rng, sleep, timedFetch } from './stats';
import type { LoadContext } from './uploader';

export interface PlayerStats {
  plays: number;
  segments: number;
  failed: number;
}

/** URIs a playlist refers to (its non-tag lines and URI="…" attributes), resolved against its URL. */
export function playlistUris(text: string, base: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const uri = line.startsWith('#') ? /URI="([^"]+)"/.exec(line)?.[1] : line;
    if (uri) out.push(new URL(uri, base).toString());
  }
  return out;
}

/** Completed uploads whose video the player last saw ready. */
function candidates(ctx: LoadContext, ready: Set<string>): string[] {
  return ctx.uploads.filter((u) => u.completed && u.videoId && ready.has(u.videoId)).map((u) => u.videoId!);
}

async function get(
  ctx: LoadContext,
  kind: 'api' | 'play',
  url: string,
  headers?: Record<string, string>,
): Promise<{ status?: number; body?: Buffer }> {
  const res = await timedFetch(ctx.rec, kind, url, { headers }, 20_000);
  if (!res) return {};
  try {
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body };
  } catch {
    return { status: res.status };
  }
}

/** One playback: true when every request of it succeeded. */
async function playOnce(
  ctx: LoadContext,
  id: number,
  videoId: string,
  rng: Rng,
  s: PlayerStats,
): Promise<boolean> {
  const ok = (r: { status?: number; body?: Buffer }) => {
    const good = r.status === 200 && r.body !== undefined;
    ctx.rec.playerResult(id, good);
    if (!good) s.failed++;
    return good;
  };
  const v = await get(ctx, 'api', `${ctx.api}/v1/videos/${videoId}`, ctx.auth);
  if (!ok(v)) return false;
  const video = JSON.parse(v.body!.toString()) as { status: string; playback: { hlsUrl: string } };
  if (video.status !== 'ready') return true;
  const master = await get(ctx, 'play', video.playback.hlsUrl);
  if (!ok(master)) return false;
  const variants = playlistUris(master.body!.toString(), video.playback.hlsUrl);
  if (!variants.length) return true;
  const variantUrl = rng.pick(variants);
  const variant = await get(ctx, 'play', variantUrl);
  if (!ok(variant)) return false;
  s.plays++;
  for (const seg of playlistUris(variant.body!.toString(), variantUrl)) {
    if (ctx.stopping()) break;
    if (!ok(await get(ctx, 'play', seg))) return false;
    s.segments++;
    await sleep(rng.between(200, 800));
  }
  return true;
}

/** One player: plays ready videos one after another until the load stops. */
export async function playerLoop(
  ctx: LoadContext,
  id: number,
  rng: Rng,
  ready: Set<string>,
): Promise<PlayerStats> {
  const s: PlayerStats = { plays: 0, segments: 0, failed: 0 };
  while (!ctx.stopping()) {
    const list = candidates(ctx, ready);
    if (!list.length) {
      await sleep(2000);
      continue;
    }
    let good = false;
    try {
      good = await playOnce(ctx, id, rng.pick(list), rng, s);
    } catch (err) {
      ctx.rec.playerResult(id, false);
      s.failed++;
      ctx.log(`player ${id}: ${(err as Error).message}`);
    }
    await sleep(good ? rng.between(500, 1500) : 1000);
  }
  return s;
}

/**
 * Keeps `ready` up to date: the ids of the tenant's ready videos (GET /v1/videos?status=ready, every
 * few seconds) until the load stops.
 */
export async function readyWatcher(ctx: LoadContext, ready: Set<string>): Promise<void> {
  while (!ctx.stopping()) {
    let cursor: string | null = null;
    do {
      const q: string = `status=ready&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await get(ctx, 'api', `${ctx.api}/v1/videos?${q}`, ctx.auth);
      if (res.status !== 200 || !res.body) break;
      const page = JSON.parse(res.body.toString()) as { data: { id: string }[]; nextCursor: string | null };
      for (const v of page.data) ready.add(v.id);
      cursor = page.nextCursor;
    } while (cursor);
    await sleep(3000);
  }
}
