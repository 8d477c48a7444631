import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { minuteOf } from './delivery-counter';
import { DeliveryLogReader, parseDeliveryLine } from './delivery-log';

/** The nginx front's delivery log (deploy/nginx/vodcloud.conf), read into the real delivery counter (SQLite). */
describe("the nginx front's delivery log", () => {
  let app: TestApp;
  const dir = mkdtempSync(path.join(tmpdir(), 'voddlog-'));
  const log = pino({ level: 'silent' });
  const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A line as nginx writes it: `v1 $msec $status $body_bytes_sent $request_completion|$vod_key`. */
  const line = (video: string, o: { at?: number; status?: number; bytes: number; complete?: boolean }) =>
    `v1 ${((o.at ?? t0) / 1000).toFixed(3)} ${o.status ?? 200} ${o.bytes} ${o.complete === false ? '' : 'OK'}|tnt/${video}/gen/hls/240p/seg-00000.ts\n`;
  const counted = async (video: string) => {
    await app.ctx.delivery.flush();
    const rows = await app.ctx.db.primary
      .selectFrom('delivery_stats')
      .selectAll()
      .where('video_id', '=', video)
      .orderBy('period')
      .execute();
    return rows.map((r) => ({ period: r.period, bytes: Number(r.bytes), requests: Number(r.requests) }));
  };
  const reader = (file: string) =>
    new DeliveryLogReader({
      file,
      positionFile: `${file}.position`,
      delivery: app.ctx.delivery,
      log,
      pollMs: 3_600_000,
      flushMs: 3_600_000,
    });

  it('parses the vod_delivery format, and nothing else', () => {
    expect(parseDeliveryLine('v1 1767323045.678 206 100 OK|t1/v1/g/hls/240p/seg-00001.ts')).toEqual({
      at: 1767323045678,
      status: 206,
      bytes: 100,
      complete: true,
      tenantId: 't1',
      videoId: 'v1',
    });
    expect(parseDeliveryLine('v1 1767323045.678 200 5 |t1/v1/g/mp4/240p.mp4')?.complete).toBe(false);
    for (const bad of [
      '127.0.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 5',
      'v1 1767323045.678 200 5 OK|t1/v1',
      'v2 1767323045.678 200 5 OK|t1/v1/g/x',
      'v1 1767323045.678 200 5 OK|',
    ])
      expect(parseDeliveryLine(bad), bad).toBeUndefined();
  });

  it('counts whole 200/206 lines as the node counts its own answers', async () => {
    const file = path.join(dir, 'counts.log');
    const r = reader(file);
    await r.poll(); // no log yet: nothing, no error
    writeFileSync(
      file,
      [
        line('vA', { bytes: 1000 }),
        line('vA', { status: 206, bytes: 100 }),
        line('vA', { bytes: 5000, complete: false }), // cut off: a request, no bytes
        line('vA', { bytes: 0 }), // a HEAD
        line('vA', { status: 304, bytes: 0 }),
        line('vA', { status: 404, bytes: 153 }),
        line('vA', { status: 416, bytes: 197 }),
        'not a delivery line\n',
        line('vA', { at: t0 + 60_000, bytes: 7 }).slice(0, 20), // half written
      ].join(''),
    );
    await r.poll();
    expect(await counted('vA')).toEqual([{ period: minuteOf(t0), bytes: 1100, requests: 4 }]);
    appendFileSync(file, line('vA', { at: t0 + 60_000, bytes: 7 }).slice(20));
    await r.poll();
    expect(await counted('vA')).toEqual([
      { period: minuteOf(t0), bytes: 1100, requests: 4 },
      { period: minuteOf(t0 + 60_000), bytes: 7, requests: 1 },
    ]);
    await r.close();
  });

  it('follows a rotation and a truncation, and goes on after a restart where it left off', async () => {
    const file = path.join(dir, 'rotated.log');
    writeFileSync(file, line('vB', { bytes: 1 }) + line('vB', { bytes: 2 }));
    const r = reader(file);
    await r.poll();
    renameSync(file, `${file}.1`); // logrotate; nginx writes on to the renamed file until USR1
    appendFileSync(`${file}.1`, line('vB', { bytes: 4 }));
    await r.poll();
    writeFileSync(file, line('vB', { bytes: 8 })); // reopened: a new file
    appendFileSync(`${file}.1`, line('vB', { bytes: 16 })); // the last line before the reopen
    await r.poll();
    expect(await counted('vB')).toEqual([{ period: minuteOf(t0), bytes: 31, requests: 5 }]);
    await r.close();

    // A restart: only what was written since.
    appendFileSync(file, line('vB', { bytes: 32 }));
    const again = reader(file);
    await again.poll();
    expect((await counted('vB'))[0]).toMatchObject({ bytes: 63, requests: 6 });
    // copytruncate: the file starts over.
    truncateSync(file, 0);
    appendFileSync(file, line('vB', { bytes: 64 }));
    await again.poll();
    expect((await counted('vB'))[0]).toMatchObject({ bytes: 127, requests: 7 });
    await again.close();
  });
});
