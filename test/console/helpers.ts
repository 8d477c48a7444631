// Helpers of the console's browser tests: axe-core in the page, and the stand-in session (until the accounts
// branch merges, the browser answers GET /v1/sessions/current itself and adds a tenant API key to the other
// API calls, which reach the real server). Remove standInSession once /v1/sessions exists.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now. */
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
  const found = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (found.length) console.log(JSON.stringify(found, null, 1).slice(0, 3000));
  return found.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Signs the page in as `role` of the tenant (see the file's head). */
export async function standInSession(
  page: Page,
  base: string,
  tenant: { id: string; auth: Record<string, string> },
  role: 'owner' | 'viewer',
): Promise<void> {
  const session = {
    user: {
      id: 'usr_test',
      email: `${role}@acme.test`,
      name: role === 'owner' ? 'Olivia Owner' : null,
      role,
      tenantId: tenant.id,
      tenantName: 'Acme Media',
      platformAdmin: false,
      createdAt: new Date().toISOString(),
      lastLoginAt: null,
    },
    csrfToken: 'csrf-test',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  await page.route(`${base}/v1/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/v1/sessions/current' && route.request().method() === 'GET')
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(session) });
    return route.continue({ headers: { ...route.request().headers(), ...tenant.auth } });
  });
}
