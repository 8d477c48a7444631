// The console's settings in Debian's Chromium against a real listening server: webhooks delivered to a local
// receiver (test, redeliver after a failure), API and signing keys shown once, members invited and signing
// in through their link, roles changed (the last owner kept), templates with field errors, categories, the
// referrer allow-list, a password change; a viewer reads without write controls and the API refuses its
// writes. axe and screenshots of every sub-page at desktop and phone width.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import {
  type ConsoleServer,
  checkPage,
  consoleAs,
  openConsole,
  PASSWORD,
  startConsoleServer,
  VIEWPORTS,
} from '../support/console';

/** Statuses the pages provoke on purpose (no referrer policy yet, the last owner, validation, a viewer). */
const EXPECTED = [400, 401, 403, 404, 409];

describe.skipIf(!hasChromium())('console settings', () => {
  let s: ConsoleServer;
  let receiver: Server;
  let hookUrl: string;
  /** What the receiver answers next, and what it got. */
  let answer = 204;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = answer;
        res.end(answer >= 400 ? 'receiver says no' : '');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    hookUrl = `http://127.0.0.1:${port}/hooks/vod`;
    s = await startConsoleServer({ VOD_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const api = (url: string, o: { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; payload?: object } = {}) =>
    s.t.app.inject({
      method: o.method ?? 'GET',
      url,
      headers: s.tenant.auth,
      ...(o.payload ? { payload: o.payload } : {}),
    });
  const status = (page: Page) => page.locator('.settings [role=status].notice').first();

  it('creates a webhook (secret once), sends a test, sees the log and redelivers after a failure', async () => {
    const { context, page, errors } = await consoleAs(s, 'owner', { expectedStatuses: EXPECTED });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings\/templates$/);
    await page
      .getByRole('navigation', { name: 'Settings sections' })
      .getByRole('link', { name: 'Webhooks' })
      .click();
    await page.getByLabel('Endpoint URL').fill(hookUrl);
    await page.getByLabel('Description').fill('Our CMS');
    await page.getByRole('checkbox', { name: /video\.playable/ }).check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secretBox = page.getByRole('region', { name: `Signing secret of ${hookUrl}` });
    await secretBox.waitFor();
    const secret = await secretBox.getByRole('textbox').inputValue();
    expect(secret).toMatch(/^whsec_/);
    expect(await secretBox.textContent()).toContain('You will not see this again');
    await checkPage(page, 'settings-webhook-secret-desktop');
    await secretBox.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.content()).not.toContain(secret);
    const hooks = (await api('/v1/webhooks')).json().data;
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({
      url: hookUrl,
      events: ['video.playable', 'video.ready'],
      description: 'Our CMS',
    });

    await page.getByRole('link', { name: `Deliveries of ${hookUrl}` }).click();
    await page.waitForURL(/\/settings\/webhooks\/[^/]+$/);
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Test sent: answered 204.');
    const rows = page.locator('table.deliveries tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/webhook\.test.*Succeeded.*204/);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(received[0]!.body).type).toBe('webhook.test');

    answer = 500;
    await page
      .getByRole('button', { name: /^Redeliver webhook\.test/ })
      .first()
      .click();
    await expect.poll(() => status(page).textContent()).toMatch(/^Sent again: failed/);
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toMatch(/webhook\.test.*Failed.*500/);
    answer = 204;
    await page
      .getByRole('button', { name: /^Redeliver webhook\.test/ })
      .first()
      .click();
    await expect.poll(() => status(page).textContent()).toBe('Sent again: answered 204.');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.first().textContent()).toMatch(/Succeeded.*204/);
    expect(received).toHaveLength(3);
    const log = (await api(`/v1/webhooks/${hooks[0].id}/deliveries`)).json().data;
    expect(log.map((d: { status: string; responseStatus: number }) => [d.status, d.responseStatus])).toEqual([
      ['succeeded', 204],
      ['failed', 500],
      ['succeeded', 204],
    ]);
    await checkPage(page, 'settings-webhook-deliveries-desktop');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('creates an API key and a signing key shown once; invites a member who accepts and signs in; changes roles', async () => {
    const { context, page, errors } = await consoleAs(s, 'owner', { expectedStatuses: EXPECTED });
    await page.goto(`${s.base}/settings/keys`);
    await page.getByLabel('Name').fill('CI uploader');
    await page.getByRole('checkbox', { name: 'Write' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyBox = page.getByRole('region', { name: 'API key CI uploader' });
    const key = await keyBox.getByRole('textbox').inputValue();
    expect(key.length).toBeGreaterThan(20);
    const withKey = await s.t.app.inject({ url: '/v1/videos', headers: { authorization: `Bearer ${key}` } });
    expect(withKey.statusCode).toBe(200);
    await checkPage(page, 'settings-api-key-once-desktop');
    await keyBox.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.content()).not.toContain(key);
    await expect.poll(() => page.getByRole('cell', { name: 'CI uploader', exact: true }).count()).toBe(1);
    const listed = (await api('/v1/api-keys')).json().data as Array<{ name: string; scopes: string[] }>;
    expect(listed.find((k) => k.name === 'CI uploader')?.scopes).toEqual(['read', 'write']);

    await page.getByRole('button', { name: 'Generate a key pair' }).click();
    const pem = await page
      .getByRole('region', { name: /^Private key of / })
      .getByRole('textbox')
      .inputValue();
    expect(pem).toContain('BEGIN PRIVATE KEY');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    const signing = (await api('/v1/signing-keys')).json().data as Array<{ id: string; managed: boolean }>;
    expect(pem).not.toBe('');
    await expect
      .poll(() => page.getByRole('cell', { name: signing.find((k) => !k.managed)!.id, exact: true }).count())
      .toBe(1);

    // Invite a member: the one-time link is shown to the inviter.
    await page.goto(`${s.base}/settings/members`);
    const email = `newbie-${Date.now()}@acme.test`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const linkBox = page.getByRole('region', { name: `Invitation link for ${email}` });
    const link = await linkBox.getByRole('textbox').inputValue();
    expect(link).toMatch(new RegExp(`^${s.base}/invite/`));
    expect(await page.locator('.settings').textContent()).toContain('Send it to them');
    await checkPage(page, 'settings-member-invited-desktop');
    await linkBox.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.getByRole('row', { name: new RegExp(email) });
    expect(await row.textContent()).toContain('Invited');

    const invitee = await openConsole(s, { expectedStatuses: EXPECTED });
    await invitee.page.goto(link);
    await invitee.page.getByLabel('New password').fill('a brand new password');
    await invitee.page.getByLabel('Confirm the password').fill('a brand new password');
    await invitee.page.getByRole('button', { name: 'Accept and sign in' }).click();
    await invitee.page.waitForURL(/\/library$/);
    expect(invitee.errors).toEqual([]);
    await invitee.context.close();
    const fresh = await openConsole(s, { expectedStatuses: EXPECTED });
    await fresh.page.goto(`${s.base}/sign-in`);
    await fresh.page.getByLabel('Email').fill(email);
    await fresh.page.getByLabel('Password').fill('a brand new password');
    await fresh.page.getByRole('button', { name: 'Sign in' }).click();
    await fresh.page.waitForURL(/\/library$/);
    // A member: settings shows the read-only parts, no members section.
    await fresh.page.goto(`${s.base}/settings/members`);
    await fresh.page.getByRole('note').waitFor();
    expect(await fresh.page.getByRole('note').textContent()).toContain('Your role does not allow this');
    await fresh.context.close();

    await page.reload();
    await expect.poll(() => row.textContent()).toContain('Active');
    await page.getByLabel(`Role of ${email}`).selectOption('viewer');
    await expect.poll(() => status(page).textContent()).toBe(`${email} is now Viewer.`);
    const members = (await api('/v1/members')).json().data as Array<{ email: string; role: string }>;
    expect(members.find((m) => m.email === email)?.role).toBe('viewer');

    // The last owner cannot be demoted: the API's 409 message is shown and the role stays.
    await page.getByLabel(`Role of ${s.emails.owner}`).selectOption('admin');
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/owner/i);
    await expect.poll(() => page.getByLabel(`Role of ${s.emails.owner}`).inputValue()).toBe('owner');
    expect(
      (await api('/v1/members')).json().data.find((m: { email: string }) => m.email === s.emails.owner).role,
    ).toBe('owner');

    // A password reset link, then removing the member (confirmed).
    await page.getByRole('button', { name: `Reset password of ${email}` }).click();
    expect(
      await page
        .getByRole('region', { name: `Password reset link for ${email}` })
        .getByRole('textbox')
        .inputValue(),
    ).toMatch(/\/invite\//);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('button', { name: `Remove ${email}` }).click();
    await page
      .getByRole('dialog', { name: `Remove ${email}?` })
      .getByRole('button', { name: 'Remove' })
      .click();
    await expect.poll(() => status(page).textContent()).toBe(`${email} removed.`);
    expect(
      ((await api('/v1/members')).json().data as Array<{ email: string }>).some((m) => m.email === email),
    ).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('edits templates with API field errors, categories and the referrer list; changes a password', async () => {
    const { context, page, errors } = await consoleAs(s, 'admin', { expectedStatuses: EXPECTED });
    await page.goto(`${s.base}/settings/templates`);
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Mobile');
    await page.getByLabel('Rendition 1: Name').fill('Bad Name');
    await page.getByLabel('Rendition 2: Bitrate (kbit/s)').fill('5');
    await page.getByLabel('HLS encryption').selectOption('aes-128');
    await page.getByLabel('Add a watermark').check();
    await page.getByLabel('Image URL').fill('https://example.com/logo.png');
    await page.getByRole('button', { name: 'Create template' }).click();
    const nameField = page.getByLabel('Rendition 1: Name');
    await expect.poll(() => nameField.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await nameField.getAttribute('aria-describedby'))!;
    expect(await page.locator(`#${describedBy}`).textContent()).toMatch(/lowercase/);
    expect(await page.locator('#tpl-r1-kbps-err').textContent()).toBe('Between 100 and 50,000 kbit/s.');
    expect(await page.getByLabel('Rendition 2: Bitrate (kbit/s)').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').first().textContent()).toBe('Fix the 2 fields marked below.');
    await checkPage(page, 'settings-template-errors-desktop');
    await nameField.fill('720p');
    await page.getByLabel('Rendition 2: Bitrate (kbit/s)').fill('600');
    await page.getByRole('button', { name: 'Create template' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Template Mobile saved.');
    const mobile = (await api('/v1/templates'))
      .json()
      .data.find((x: { name: string }) => x.name === 'Mobile');
    expect(mobile).toMatchObject({
      renditions: [
        { name: '720p', height: 720, videoBitrate: 3_000_000 },
        { name: '360p', height: 360, videoBitrate: 600_000 },
      ],
      hls: { encryption: 'aes-128' },
      watermark: { imageUrl: 'https://example.com/logo.png', position: 'top-right', width: 0.1 },
    });
    await page.getByRole('button', { name: 'Edit Mobile' }).click();
    await page.getByLabel('Add a watermark').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Template Mobile saved.');
    expect((await api(`/v1/templates/${mobile.id}`)).json().watermark).toBeNull();
    await page.getByRole('button', { name: 'Delete Mobile' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Template Mobile deleted.');
    expect((await api(`/v1/templates/${mobile.id}`)).statusCode).toBe(404);

    await page.goto(`${s.base}/settings/categories`);
    await page.getByLabel('Name').fill('News');
    await page.getByRole('button', { name: 'Add category' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Category News added.');
    await page.getByRole('button', { name: 'Rename News' }).click();
    await page.getByRole('row').getByLabel('Name').fill('World news');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Category World news saved.');
    expect((await api('/v1/categories')).json().data.map((c: { name: string }) => c.name)).toContain(
      'World news',
    );
    await page.getByRole('button', { name: 'Delete World news' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Category World news deleted.');

    await page.goto(`${s.base}/settings/referrers`);
    await expect.poll(() => page.locator('.current-state').textContent()).toContain('No list is set');
    await page.getByLabel('Allowed hosts').fill('example.com\nbad_host!');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.locator('#ref-hosts-err').textContent())
      .toMatch(/^bad_host!: must be a host name/);
    await page.getByLabel('Allowed hosts').fill('example.com\n*.cdn.example.com');
    await page.getByLabel(/without a Referer/).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => status(page).textContent()).toBe('Referrer allow-list saved.');
    expect((await api('/v1/referrer-policy')).json()).toMatchObject({
      referrers: ['example.com', '*.cdn.example.com'],
      allowNoReferrer: false,
    });

    await page.goto(`${s.base}/settings/account`);
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('another good password');
    await page.getByLabel('Confirm the new password').fill('another good password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => page.locator('#pw-current-err').textContent())
      .toBe('The current password is wrong.');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => status(page).textContent())
      .toBe('Password changed. Your other sessions were signed out.');
    const old = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { email: s.emails.admin, password: PASSWORD },
    });
    expect(old.statusCode).toBe(401);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a viewer read-only settings without write controls; the API answers 403 to its writes', async () => {
    const { context, page, errors } = await consoleAs(s, 'viewer', { expectedStatuses: EXPECTED });
    await page.goto(`${s.base}/settings`);
    await page.waitForURL(/\/settings\/templates$/);
    await page.getByRole('note').waitFor();
    expect(await page.getByRole('button', { name: 'New template' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    const sections = page.getByRole('navigation', { name: 'Settings sections' });
    expect(await sections.getByRole('link').allTextContents()).toEqual([
      'Templates',
      'Categories',
      'Detection',
      'Your account',
    ]);
    await page.goto(`${s.base}/settings/categories`);
    await page.getByRole('note').waitFor();
    expect(await page.getByRole('button', { name: 'Add category' }).count()).toBe(0);
    await page.goto(`${s.base}/settings/webhooks`);
    expect(await page.getByRole('note').textContent()).toContain('Your role does not allow this');
    expect(await page.getByRole('button', { name: 'Create endpoint' }).count()).toBe(0);
    await checkPage(page, 'settings-viewer-forbidden-desktop');

    // The same session's writes, with a valid CSRF token: refused for the role.
    const session = await context.request.get(`${s.base}/v1/sessions/current`);
    const csrf = (await session.json()).csrfToken as string;
    const headers = { origin: s.base, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    for (const [url, data] of [
      ['/v1/webhooks', { url: hookUrl, events: ['video.ready'] }],
      ['/v1/categories', { name: 'Nope' }],
      ['/v1/api-keys', { name: 'nope', scopes: ['read'] }],
    ] as const) {
      const r = await context.request.post(`${s.base}${url}`, { headers, data });
      expect(r.status(), url).toBe(403);
      expect((await r.json()).detail, url).not.toMatch(/CSRF/);
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('passes axe on every settings sub-page at desktop and phone width, the phone in zh-CN (screenshots)', async () => {
    const hook = (await api('/v1/webhooks')).json().data[0];
    const pages = [
      'templates',
      'categories',
      'webhooks',
      `webhooks/${hook.id}`,
      'keys',
      'referrers',
      'members',
      'account',
    ];
    for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
      const { context, page, errors } = await consoleAs(s, 'owner', { viewport, expectedStatuses: EXPECTED });
      // The phone in Simplified Chinese (the switcher's choice is kept): every string of the sub-pages is translated.
      if (vp === 'phone') await page.getByLabel('Language').selectOption('zh-CN');
      for (const sub of pages) {
        await page.goto(`${s.base}/settings/${sub}`);
        await page.locator('.settings h2').first().waitFor();
        await expect.poll(() => page.locator('.settings [role=status]:not(.notice)').count()).toBe(0);
        await checkPage(page, `settings-${sub.replace(/\/.*/, '-log')}-${vp}`);
      }
      await page.goto(`${s.base}/settings/templates`);
      await page.getByRole('button', { name: vp === 'phone' ? '新建模板' : 'New template' }).click();
      await checkPage(page, `settings-template-editor-${vp}`);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 60_000);
});
