// The console's remaining pages and its defences, in Chromium against a real server: the invitation page
// (axe, phone and desktop, a used link), the not-found page, the sign-in lockout as the page shows it, and
// a cross-site request forgery from a page on another origin (the browser sends the cookie: 403).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

describe.skipIf(!hasChromium())('console pages and defences', () => {
  let s: ConsoleServer;
  let attacker: http.Server;
  let attackerUrl = '';

  beforeAll(async () => {
    s = await startConsoleServer({
      VOD_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      VOD_LOGIN_LOCKOUT: '600',
    });
    // Another origin on the same site (127.0.0.1, another port): SameSite=Lax cookies go with its requests.
    attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>elsewhere</title><p>elsewhere</p>');
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise((r) => attacker?.close(r));
    await s?.close();
  });

  it('shows an invitation, accepts it once, and says so when the link is used', async () => {
    const invite = await s.t.app.inject({
      method: 'POST',
      url: '/v1/members',
      headers: s.tenant.auth,
      payload: { email: 'new.editor@acme.test', role: 'member' },
    });
    expect(invite.statusCode, invite.body).toBe(201);
    const url = new URL(invite.json().invitation.url as string);
    const link = `${s.base}${url.pathname}`;
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { page, context, errors } = await openConsole(s, { viewport });
      await page.goto(link);
      await page.getByRole('heading', { name: 'Join Acme Media' }).waitFor();
      await expect.poll(() => page.getByText('new.editor@acme.test is invited').count()).toBe(1);
      await checkPage(page, `invite-${name}`);
      expect(errors).toEqual([]);
      await context.close();
    }
    const { page, context, errors } = await openConsole(s, { expectedStatuses: [401, 404] });
    await page.goto(link);
    await page.getByLabel('New password').fill('a new editor password');
    await page.getByLabel('Confirm the password').fill('a new editor password');
    await page.getByRole('button', { name: 'Accept and sign in' }).click();
    await page.waitForURL(/\/library$/);
    const me = await page.evaluate(async () => (await fetch('/v1/sessions/current')).json());
    expect(me.user).toMatchObject({ email: 'new.editor@acme.test', role: 'member' });
    // The link is one-time: a second visit says it cannot be used.
    await page.goto(link);
    await expect.poll(() => page.getByRole('alert').count()).toBeGreaterThan(0);
    await checkPage(page, 'invite-used');
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('answers an unknown console address with a not-found page inside the shell', async () => {
    const { page, context, errors } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await checkPage(page, 'not-found');
    await page.getByRole('link', { name: 'Go to the library' }).click();
    await page.waitForURL(/\/library$/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('locks an account after repeated wrong passwords and shows the wait, the right password included', async () => {
    const { page, context, errors } = await openConsole(s, { expectedStatuses: [401, 429] });
    await page.goto(`${s.base}/sign-in`);
    await page.getByLabel('Email').fill(s.emails.viewer);
    for (let i = 0; i < 3; i++) {
      await page.getByLabel('Password').fill(`wrong password ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/wrong|Too many/);
    }
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/Too many failed attempts\. Try again in 10 min\./);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await checkPage(page, 'sign-in-locked');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('refuses a write forged by a page on another origin that carries the session cookie (403)', async () => {
    const made = await s.t.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: s.tenant.auth,
      payload: { title: 'Keep me' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const videoId = made.json().videoId as string;
    const { page, context } = await consoleAs(s, 'owner', { expectedStatuses: [401, 403] });
    const statuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/v1/videos/batch-delete')) statuses.push(r.status());
    });
    await page.goto(attackerUrl);
    // A "simple" request (no preflight) with the cookie: what a hostile page can make a browser send.
    await page.evaluate(
      async ({ target, id }) => {
        await fetch(target, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ ids: [id] }),
        });
      },
      { target: `${s.base}/v1/videos/batch-delete`, id: videoId },
    );
    await expect.poll(() => statuses).toEqual([403]);
    const still = await s.t.app.inject({ url: `/v1/videos/${videoId}`, headers: s.tenant.auth });
    expect(still.statusCode).toBe(200);
    // The same session from the console's own page, with its CSRF token, may do it.
    await page.goto(`${s.base}/library`);
    const own = await page.evaluate(async (id) => {
      const session = await (await fetch('/v1/sessions/current')).json();
      const r = await fetch('/v1/videos/batch-delete', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ ids: [id] }),
      });
      return r.status;
    }, videoId);
    expect(own).toBe(200);
    await context.close();
  }, 60_000);
});
