// The console's Admin › Usage page in Chromium against a real listening server: two tenants, first with
// nothing (the empty state), then one with an upload and a URL import (the import waits in the queue: this
// server runs no worker), the roll-up run in-process; the platform admin sees both tenants with the API's
// figures, sorted by delivered bytes then by the column clicked, a totals row and a CSV link answering
// text/csv, in English and Chinese, with no axe violations and screenshots at desktop and phone width. A
// tenant owner has no such page.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, checkPage, consoleAs, startConsoleServer, VIEWPORTS } from '../support/console';

/** Each row of a table part (tbody, tfoot) as its cells' texts. */
async function rows(page: Page, part: 'tbody' | 'tfoot'): Promise<string[][]> {
  return page
    .getByRole('table', { name: 'Usage by tenant' })
    .locator(`${part} tr`)
    .evaluateAll((trs) => trs.map((r) => [...r.children].map((c) => c.textContent ?? '')));
}

describe.skipIf(!hasChromium())('the Admin › Usage page', () => {
  let s: ConsoleServer;

  beforeAll(async () => {
    s = await startConsoleServer();
    await s.t.tenant('Globex Studios');
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('says so when no tenant used anything in the period', async () => {
    const { page, context, errors } = await consoleAs(s, 'platformAdmin');
    await page.goto(`${s.base}/admin/usage`);
    await page.getByText('No tenant used anything in this period.').waitFor();
    expect(await page.getByRole('table').count()).toBe(0);
    await page.getByRole('link', { name: /^Download CSV/ }).waitFor();
    await checkPage(page, 'admin-usage-empty');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('lists every tenant with the API’s figures, sorts, totals, links the CSV, at both widths and in Chinese', async () => {
    // Acme Media uploads one video and imports another by URL; Globex Studios has nothing.
    const upload = await s.t.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: s.tenant.auth,
      payload: { title: 'Uploaded' },
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const imported = await s.t.app.inject({
      method: 'POST',
      url: '/v1/videos',
      headers: s.tenant.auth,
      payload: { title: 'Imported', input: { url: 'http://127.0.0.1:9/x.mp4' } },
    });
    expect(imported.statusCode, imported.body).toBe(201);
    expect(await s.t.ctx.stats.runRollup()).not.toBeNull();
    const api = await s.t.app.inject({
      url: '/v1/admin/usage',
      headers: { authorization: `Bearer ${s.t.adminKey}` },
    });
    expect(api.statusCode, api.body).toBe(200);
    const byName = Object.fromEntries(
      (api.json().data as Array<{ tenantName: string }>).map((r) => [r.tenantName, r]),
    );
    // The roll-up measured the storage too: nothing stored yet (the upload has no bytes, the import waits).
    expect(byName['Acme Media']).toMatchObject({ uploads: 1, imports: 1, storageBytes: 0 });
    expect(byName['Globex Studios']).toMatchObject({ uploads: 0, imports: 0, storageBytes: 0 });

    const { page, context, errors } = await consoleAs(s, 'platformAdmin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Usage' })
      .click();
    await page.waitForURL(/\/admin\/usage$/);
    await page.getByRole('heading', { name: 'Usage', level: 2 }).waitFor();
    const table = page.getByRole('table', { name: 'Usage by tenant' });
    await table.waitFor();
    // Columns: tenant, views, storage, delivered, requests, peak, transcoded, uploads, imports.
    // Nothing was delivered: the delivered-bytes order falls back to the names.
    expect(await rows(page, 'tbody')).toEqual([
      ['Acme Media', '0', '0 B', '0 B', '0', '0 Mbps', '0:00:00', '1', '1'],
      ['Globex Studios', '0', '0 B', '0 B', '0', '0 Mbps', '0:00:00', '0', '0'],
    ]);
    await checkPage(page, 'admin-usage-default-desktop');
    const header = (name: string) => table.getByRole('columnheader', { name, exact: true });
    expect(await header('Delivered').getAttribute('aria-sort')).toBe('descending');
    const [total] = await rows(page, 'tfoot');
    expect(total?.[0]).toBe('Total (2 tenants)');
    expect(total?.slice(-2)).toEqual(['1', '1']);
    // A tenant's name leads to its page.
    expect(await table.getByRole('link', { name: 'Globex Studios' }).getAttribute('href')).toMatch(
      /^\/admin\/tenants\/[0-9A-Z]{26}$/,
    );

    // Sort by uploads (descending), then again (ascending); by tenant (A→Z), then Z→A.
    await header('Uploads').getByRole('button').click();
    await expect.poll(() => header('Uploads').getAttribute('aria-sort')).toBe('descending');
    expect((await rows(page, 'tbody')).map((r) => r[0])).toEqual(['Acme Media', 'Globex Studios']);
    await header('Uploads').getByRole('button').click();
    await expect.poll(() => header('Uploads').getAttribute('aria-sort')).toBe('ascending');
    expect((await rows(page, 'tbody')).map((r) => r[0])).toEqual(['Globex Studios', 'Acme Media']);
    await header('Tenant').getByRole('button').click();
    await expect.poll(() => header('Tenant').getAttribute('aria-sort')).toBe('ascending');
    expect((await rows(page, 'tbody')).map((r) => r[0])).toEqual(['Acme Media', 'Globex Studios']);
    expect(await table.locator('th[aria-sort]').count()).toBe(1);

    // The CSV link: the same range as the page, a same-origin GET the session cookie authenticates.
    const link = page.getByRole('link', { name: /^Download CSV/ });
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/v1\/admin\/usage\?from=.+&to=.+&format=csv$/);
    const csv = await page.evaluate(async (u) => {
      const r = await fetch(u!);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    expect(csv).toMatchObject({ status: 200, type: 'text/csv; charset=utf-8' });
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'tenantId,tenantName,views,storageBytes,deliveredBytes,requests,peakMbps,transcodedSeconds,uploads,imports',
    );
    expect(lines.find((l) => l.includes('Acme Media'))).toMatch(/,1,1$/);
    expect(lines.find((l) => l.includes('Globex Studios'))).toMatch(/,0,0$/);

    // 30 days (by day): the same uploads and imports, the CSV link follows the range.
    await page.getByRole('radio', { name: 'Last 30 days' }).check();
    await expect.poll(() => link.getAttribute('href')).not.toBe(href);
    await expect.poll(async () => (await rows(page, 'tfoot'))[0]?.slice(-2)).toEqual(['1', '1']);

    for (const vp of ['desktop', 'phone'] as const) {
      await page.setViewportSize(VIEWPORTS[vp]);
      await checkPage(page, `admin-usage-${vp}`);
      // The table scrolls in its box; the page itself does not (no cell escapes to the page's edge).
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBe(VIEWPORTS[vp].width);
    }
    // Scrolled sideways at phone width, the tenant column stays in view.
    await page.locator('.table-wrap').evaluate((e) => e.scrollTo({ left: e.scrollWidth }));
    await checkPage(page, 'admin-usage-phone-scrolled');
    // In Simplified Chinese.
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '用量', level: 2 }).waitFor();
    const zh = page.getByRole('table', { name: '各租户用量' });
    await zh.getByRole('columnheader', { name: '导入' }).waitFor();
    await zh.getByText('合计（2 个租户）').waitFor();
    await page.getByRole('link', { name: /^下载 CSV/ }).waitFor();
    await checkPage(page, 'admin-usage-zh-phone');
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('is not offered to a tenant owner, and the API answers 403', async () => {
    const { page, context, errors } = await consoleAs(s, 'owner', { expectedStatuses: [401, 403] });
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Library' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${s.base}/admin/usage`);
    await page.getByRole('alert').getByText('Your role does not allow this page.').waitFor();
    expect(await page.getByRole('table').count()).toBe(0);
    const status = await page.evaluate(async () => (await fetch('/v1/admin/usage?format=csv')).status);
    expect(status).toBe(403);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
