// Statistics in the console, in Chromium against a real server: a view's beacons posted from the browser
// (POST /v1/beacons, v2 batch), the roll-up run in-process, then the video page's statistics panel and the
// Statistics page show that view (totals, charts, browsers and devices, top videos), in English and Chinese,
// with working CSV links, no axe violations and screenshots; a viewer sees the page too, a platform admin
// without a tenant does not.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, checkPage, consoleAs, startConsoleServer, VIEWPORTS } from '../support/console';

/** The figures of a totals list, name → value as shown. */
async function totals(page: Page, scope: string): Promise<Record<string, string>> {
  return page.locator(scope).evaluate((root) => {
    const out: Record<string, string> = {};
    for (const item of root.querySelectorAll('.stats-total'))
      out[item.querySelector('dt')?.textContent ?? ''] = item.querySelector('dd')?.textContent ?? '';
    return out;
  });
}

/** Each row of a table's body as its cells' texts. */
async function bodyRows(table: ReturnType<Page['locator']>): Promise<string[][]> {
  return table
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));
}

describe.skipIf(!hasChromium())('console statistics', () => {
  let s: ConsoleServer;
  let videoId = '';
  let playbackId = '';

  beforeAll(async () => {
    // Beacons wait in the buffer until the roll-up flushes them (it does, first thing).
    s = await startConsoleServer({ VOD_BEACON_FLUSH_MS: '60000' });
    for (const title of ['Launch trailer', 'Never watched']) {
      const r = await s.t.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: s.tenant.auth,
        payload: { title },
      });
      expect(r.statusCode, r.body).toBe(201);
      if (title === 'Launch trailer') {
        videoId = r.json().videoId as string;
        const v = await s.t.app.inject({ url: `/v1/videos/${videoId}`, headers: s.tenant.auth });
        playbackId = v.json().playback.id as string;
      }
    }
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('shows empty states before any view', async () => {
    const { page, context, errors } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/videos/${videoId}`);
    const panel = page.locator('section[aria-labelledby="statistics-h"]');
    await panel.getByText('No views in this period.').waitFor();
    expect(await totals(page, 'section[aria-labelledby="statistics-h"]')).toMatchObject({ Views: '0' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Statistics' }).click();
    await page.getByRole('heading', { name: 'Statistics', level: 1 }).waitFor();
    await page.locator('section[aria-labelledby="top-h"]').getByText('No views in this period.').waitFor();
    await checkPage(page, 'stats-empty');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a view posted as beacons from the browser, once rolled up', async () => {
    const { page, context, errors } = await consoleAs(s, 'owner');
    // The player's batch of one view: started, first frame after 800 ms, 10 s then 2 s watched, ended.
    const status = await page.evaluate(async (pid) => {
      const at = Date.now() - 15_000;
      const body = {
        playbackId: pid,
        viewId: 'console-stats-view-1',
        sentAt: Date.now(),
        events: [
          { event: 'view_start', at, seq: 0, position: 0 },
          { event: 'playing', at: at + 800, seq: 1, position: 0, startupMs: 800 },
          { event: 'heartbeat', at: at + 10_800, seq: 2, position: 10, watchedSec: 10 },
          { event: 'view_end', at: at + 12_800, seq: 3, position: 12, watchedSec: 2 },
        ],
      };
      const r = await fetch('/v1/beacons', {
        method: 'POST',
        credentials: 'omit',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify(body),
      });
      return r.status;
    }, playbackId);
    expect(status).toBe(202);
    const report = await s.t.ctx.stats.runRollup();
    expect(report).not.toBeNull();

    // What the API says (the page must show the same).
    const api = (await s.t.app.inject({ url: `/v1/stats/videos/${videoId}`, headers: s.tenant.auth })).json()
      .totals;
    expect(api).toMatchObject({ views: 1, uniqueViewers: 1, watchSeconds: 12, errors: 0, rebufferRatio: 0 });
    expect(Math.abs(api.startupMsP50 - 800)).toBeLessThanOrEqual(20); // the histogram's ±2.5 %

    await page.goto(`${s.base}/videos/${videoId}`);
    const scope = 'section[aria-labelledby="statistics-h"]';
    const panel = page.locator(scope);
    await panel.locator('svg[role="img"]').first().waitFor();
    expect(await totals(page, scope)).toEqual({
      Views: '1',
      'Unique viewers': '1',
      'Watch time': '0:00:12',
      'Startup, median': `${api.startupMsP50} ms`,
      'Startup, 95th percentile': `${api.startupMsP95} ms`,
      Rebuffering: '0%',
      'Playback errors': '0',
      Delivered: '0 B',
    });
    // The charts' text alternatives summarise them.
    const labels = await panel.locator('svg[role="img"]').evaluateAll((n) => n.map((e) => e.ariaLabel));
    expect(labels).toHaveLength(2);
    expect(labels[0]).toMatch(/^Views per hour from .+: 1 in all, the most 1 \(.+\)\.$/);
    expect(labels[1]).toMatch(/^Watch time per hour from .+: 0:00:12 in all, the most 0:00:12 \(.+\)\.$/);
    // The browser (Chromium's own user agent) and the device.
    const browsers = panel.getByRole('table', { name: 'Top browsers' });
    await expect.poll(() => browsers.locator('tbody tr').count()).toBe(1);
    const [browser] = await bodyRows(browsers);
    expect(browser?.[0]).toMatch(/^Chrom/);
    expect(browser?.slice(1)).toEqual(['1', '0:00:12']);
    const devices = panel.getByRole('table', { name: 'Top devices' });
    expect(await bodyRows(devices)).toEqual([['Desktop', '1', '0:00:12']]);
    // The CSV link is a same-origin GET the session cookie authenticates.
    const href = await panel.getByRole('link', { name: /^Download CSV/ }).getAttribute('href');
    expect(href).toMatch(new RegExp(`^/v1/stats/videos/${videoId}\\?.*format=csv`));
    const csv = await page.evaluate(async (u) => {
      const r = await fetch(u!);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toMatch(/^time,views,uniqueViewers,watchSeconds/);
    expect(csv.text).toMatch(/,1,1,12,/);
    await checkPage(page, 'stats-video-panel');

    // 7 days: one bar per day, the same view.
    await panel.getByRole('radio', { name: 'Last 7 days' }).check();
    await expect
      .poll(() => panel.locator('svg[role="img"]').first().getAttribute('aria-label'))
      .toMatch(/^Views per day from .+: 1 in all/);
    expect(await totals(page, scope)).toMatchObject({ 'Watch time': '0:00:12' });
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('shows usage and the top videos on the Statistics page, linking to the video', async () => {
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { page, context, errors } = await consoleAs(s, 'viewer', { viewport });
      await page.goto(`${s.base}/stats`);
      await page.getByRole('heading', { name: 'Statistics', level: 1 }).waitFor();
      const top = page.getByRole('table', { name: 'Top videos' });
      await top.waitFor();
      expect(await bodyRows(top)).toEqual([['1', 'Launch trailer', '1', '0:00:12', '0 B']]);
      expect(await top.locator('th[aria-sort="descending"]').textContent()).toBe('Views');
      const usage = await totals(page, 'section[aria-labelledby="usage-h"]');
      expect(usage).toMatchObject({ Uploads: '2', Imports: '0', 'Peak rate': '0 Mbps' });
      await page.getByRole('radio', { name: 'Watch time' }).check();
      await expect.poll(() => top.locator('th[aria-sort="descending"]').textContent()).toBe('Watch time');
      for (const link of await page.getByRole('link', { name: /^Download CSV/ }).all()) {
        const href = await link.getAttribute('href');
        const r = await page.evaluate(async (u) => {
          const res = await fetch(u!);
          return { status: res.status, type: res.headers.get('content-type') };
        }, href);
        expect(r, href ?? '').toEqual({ status: 200, type: 'text/csv; charset=utf-8' });
      }
      await checkPage(page, `stats-page-${name}`);
      if (name === 'desktop') {
        await top.getByRole('link', { name: 'Launch trailer' }).click();
        await page.waitForURL(new RegExp(`/videos/${videoId}$`));
        await page.getByRole('heading', { name: 'Launch trailer', level: 1 }).waitFor();
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 90_000);

  it('speaks Chinese', async () => {
    const { page, context, errors } = await consoleAs(s, 'admin', { locale: 'zh-CN' });
    await page.goto(`${s.base}/stats`);
    await page.getByRole('heading', { name: '统计', level: 1 }).waitFor();
    await page.getByRole('table', { name: '热门视频' }).waitFor();
    await page.goto(`${s.base}/videos/${videoId}`);
    const scope = 'section[aria-labelledby="statistics-h"]';
    await page.locator(scope).locator('svg[role="img"]').first().waitFor();
    expect(await totals(page, scope)).toMatchObject({ 观看次数: '1', 观看时长: '0:00:12' });
    await checkPage(page, 'stats-video-panel-zh');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('is not offered to a platform admin without a tenant', async () => {
    const { page, context, errors } = await consoleAs(s, 'platformAdmin');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Admin' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Statistics' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
