// The console in Debian's Chromium against a real listening server with real accounts (test/support/
// console.ts): the sign-in page, the language, and the library as an owner and as a viewer.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import {
  axeViolations,
  type ConsoleServer,
  openConsole,
  SHOTS,
  signIn,
  startConsoleServer,
  VIEWPORTS,
} from '../support/console';

describe.skipIf(!hasChromium())('the console in a browser', () => {
  let s: ConsoleServer;
  let base: string;
  let t: ConsoleServer['t'];
  let tenant: ConsoleServer['tenant'];

  beforeAll(async () => {
    s = await startConsoleServer();
    ({ base, t, tenant } = s);
  }, 60_000);
  afterAll(() => s?.close());

  const open = (viewport: { width: number; height: number }, locale = 'en-US') =>
    openConsole(s, { viewport, locale });
  const signInAs = (page: Page, role: 'owner' | 'viewer') => signIn(s, page, role);

  it('sends a visitor to the labelled sign-in page, which shows an error for wrong credentials, with no axe violation', async () => {
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { context, page, errors } = await open(viewport);
      await page.goto(`${base}/library?status=ready`);
      await page.waitForURL(/\/sign-in\?next=/);
      await page.getByLabel('Email').fill('nobody@acme.test');
      await page.getByLabel('Password').fill('wrong password');
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: `${SHOTS}/sign-in-${name}.png` });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent())
        .toMatch(/The email or password is wrong/);
      await page.screenshot({ path: `${SHOTS}/sign-in-error-${name}.png` });
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 90_000);

  it('follows the browser language and keeps the choice made in the switcher', async () => {
    const { context, page, errors } = await open(VIEWPORTS.desktop, 'zh-CN');
    await page.goto(`${base}/sign-in`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('登录');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await page.screenshot({ path: `${SHOTS}/sign-in-zh-CN.png` });
    await page.getByLabel('语言').selectOption('en');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('lists, filters, pages, blocks and deletes videos for an owner; a viewer gets no write controls', async () => {
    for (let i = 1; i <= 27; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: tenant.auth,
        payload: { title: `Clip ${String(i).padStart(2, '0')}`, tags: i % 2 ? ['odd'] : ['even'] },
      });
      expect(r.statusCode, r.body).toBe(201);
    }
    const { context, page, errors } = await open(VIEWPORTS.desktop);
    await signInAs(page, 'owner');
    await page.goto(`${base}/`);
    await page.waitForURL(/\/library$/);
    const titles = () => page.locator('table.videos tbody .title-cell a').allTextContents();
    await expect.poll(titles).toHaveLength(25);
    expect((await titles())[0]).toBe('Clip 27');
    expect(await page.getByRole('link', { name: 'Upload' }).count()).toBe(2); // the nav's and the page's
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/library-desktop.png` });

    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(titles).toEqual(['Clip 02', 'Clip 01']);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => titles().then((x) => x[0])).toBe('Clip 27');

    await page.getByLabel('Tag').fill('even');
    await page.getByLabel('Sort').selectOption('oldest');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/tag=even/);
    await expect.poll(titles).toHaveLength(13);
    expect((await titles())[0]).toBe('Clip 02');
    expect(new URL(page.url()).search).toBe('?tag=even&order=oldest');

    await page.getByLabel('Select Clip 02').check();
    await page.getByLabel('Select Clip 04').check();
    await page.getByRole('button', { name: 'Block' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('2 videos blocked.');
    await expect.poll(() => page.locator('.status-blocked').count()).toBe(2);

    await page.getByLabel('Select Clip 06').check();
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete 1 video?' });
    await dialog.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/library-delete-dialog.png` });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(titles).toHaveLength(12);
    expect(await titles()).not.toContain('Clip 06');
    const listed = await t.app.inject({ url: '/v1/videos?tag=even&limit=100', headers: tenant.auth });
    expect(listed.json().data).toHaveLength(12);

    await page.setViewportSize(VIEWPORTS.phone);
    await page.goto(`${base}/library`);
    await expect.poll(titles).toHaveLength(25);
    await page.screenshot({ path: `${SHOTS}/library-phone.png`, fullPage: false });
    // Sign out from the account menu, with the keyboard: the session ends on the server too.
    await page.getByRole('button', { name: /Olivia Owner/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Sign out' }).waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/sign-in$/);
    const cookies = await context.cookies(base);
    expect(cookies.find((c) => c.name === 'vod_session')).toBeUndefined();
    expect(errors).toEqual([]);
    await context.close();

    const viewer = await open(VIEWPORTS.desktop, 'zh-CN');
    await signInAs(viewer.page, 'viewer');
    await viewer.page.goto(`${base}/library`);
    await expect.poll(() => viewer.page.locator('table.videos tbody tr').count()).toBe(25);
    expect(await viewer.page.locator('table.videos input[type=checkbox]').count()).toBe(0);
    expect(await viewer.page.locator('h1').textContent()).toBe('视频库');
    expect(await axeViolations(viewer.page)).toEqual([]);
    await viewer.page.screenshot({ path: `${SHOTS}/library-viewer-zh-CN.png` });
    expect(await viewer.page.getByRole('link', { name: '上传' }).count()).toBe(0);
    expect(await viewer.page.getByRole('link', { name: '平台管理' }).count()).toBe(0);
    expect(viewer.errors).toEqual([]);
    await viewer.context.close();
  }, 120_000);
});
