// The web console in Debian's Chromium against a real listening server with real accounts: a tenant with
// one user per role and a platform admin, signing in through the page, axe-core and screenshots. Shared
// by the suites under test/console/.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startTestApp, startTestServer, type TestApp } from './app';
import { launchBrowser } from './browser';

export const SHOTS = process.env.VOD_SCREENSHOTS ?? '/tmp/console-screenshots';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const VIEWPORTS = {
  desktop: { width: 1366, height: 768 },
  phone: { width: 390, height: 844 },
} as const;
export const PASSWORD = 'correct horse battery staple';

export type ConsoleRole = 'owner' | 'admin' | 'member' | 'viewer' | 'platformAdmin';

export interface ConsoleServer {
  t: TestApp;
  /** http://127.0.0.1:<port>, the console's own origin. */
  base: string;
  tenant: Awaited<ReturnType<TestApp['tenant']>>;
  /** The email of each role's user (password: PASSWORD). */
  emails: Record<ConsoleRole, string>;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * A listening server with the console, a tenant ("Acme Media") with a user per role, and Chromium. With
 * `worker`, the whole server (all roles: uploads are transcoded), else the API app alone.
 */
export async function startConsoleServer(
  env: Record<string, string> = {},
  o: { worker?: boolean } = {},
): Promise<ConsoleServer> {
  mkdirSync(SHOTS, { recursive: true });
  let t: TestApp;
  let base: string;
  if (o.worker) {
    const server = await startTestServer(env);
    t = server;
    base = server.url;
  } else {
    t = await startTestApp(env);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  }
  const tenant = await t.tenant('Acme Media');
  const suffix = Math.random().toString(36).slice(2, 8);
  const emails = {} as Record<ConsoleRole, string>;
  for (const role of ['owner', 'admin', 'member', 'viewer', 'platformAdmin'] as const) {
    const email = `${role.toLowerCase()}-${suffix}@acme.test`;
    await t.ctx.accounts.createUser({
      tenantId: role === 'platformAdmin' ? null : tenant.id,
      email,
      name: { owner: 'Olivia Owner', admin: 'Adam Admin', member: 'Mia Member', viewer: 'Victor Viewer' }[
        role as 'owner'
      ],
      role: role === 'platformAdmin' ? null : role,
      password: PASSWORD,
    });
    emails[role] = email;
  }
  const browser = await launchBrowser();
  return {
    t,
    base,
    tenant,
    emails,
    browser,
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far (failed requests the test provoked excluded). */
  errors: string[];
}

/**
 * A new browser context on the console. `expectedStatuses` are HTTP statuses whose "Failed to load
 * resource" console line is expected (Chromium logs every non-2xx fetch).
 */
export async function openConsole(
  s: ConsoleServer,
  o: { viewport?: { width: number; height: number }; locale?: string; expectedStatuses?: number[] } = {},
): Promise<ConsolePage> {
  const context = await s.browser.newContext({
    viewport: o.viewport ?? VIEWPORTS.desktop,
    locale: o.locale ?? 'en-US',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const expected = o.expectedStatuses ?? [401];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const failed = /Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (failed && expected.includes(Number(failed[1]))) return;
    errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

/**
 * Signs in through the sign-in page as the role's user and waits to leave it (for the library). The
 * fields are found by type, so it works in any language (the labels are tested in browser.test.ts).
 */
export async function signIn(s: ConsoleServer, page: Page, role: ConsoleRole): Promise<void> {
  await page.goto(`${s.base}/sign-in`);
  await page.locator('input[type="email"]').fill(s.emails[role]);
  await page.locator('input[type="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: 15_000 });
}

/** A signed-in console page for a role (a fresh context: its own cookie). */
export async function consoleAs(
  s: ConsoleServer,
  role: ConsoleRole,
  o: Parameters<typeof openConsole>[1] = {},
): Promise<ConsolePage> {
  const c = await openConsole(s, o);
  await signIn(s, c.page, role);
  return c;
}

/** axe-core's serious and critical violations on the page as it is now ("<impact> <rule>: <targets>"). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply to it.
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    (
      window as unknown as {
        axe: {
          run(): Promise<{
            violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
          }>;
        };
      }
    ).axe.run(),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Asserts axe finds nothing serious or critical, and saves a screenshot as <SHOTS>/<name>.png. */
export async function checkPage(page: Page, name: string): Promise<string> {
  expect(await axeViolations(page), `axe on ${name}`).toEqual([]);
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
