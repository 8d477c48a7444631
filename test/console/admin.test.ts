// The console's Admin pages in Chromium against a real listening server, as the platform admin: create a
// tenant, rename it, set its storage quota, invite its owner (the link accepted in a fresh context), create
// and revoke its API key; the cluster (this server registered as a node, as `vodcloud` registers itself),
// the queues, the RPC monitor's charts (statistics sent through the monitor's RPC service, as nodes report
// them) and the alerts. A tenant owner sees no Admin link, /admin refuses it and the API answers 403.
// axe-core and a screenshot at desktop and phone width of every view.
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS_MS } from '../../apps/server/src/lib/call-stats';
import { registerNode } from '../../apps/server/src/modules/cluster';
import { monitorService } from '../../apps/server/src/modules/rpc/contracts';
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

const VIEWS = ['tenants', 'cluster', 'queues', 'monitor', 'alerts'] as const;

describe.skipIf(!hasChromium())('the Admin pages', () => {
  let s: ConsoleServer;
  let node: { node: { id: string }; stop(): Promise<void> };
  const admin = () => ({ authorization: `Bearer ${s.t.adminKey}` });
  const apiGet = async (url: string) => {
    const res = await s.t.app.inject({ method: 'GET', url, headers: admin() });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    s = await startConsoleServer();
    const port = (s.t.app.server.address() as AddressInfo).port;
    node = await registerNode(
      s.t.ctx.ports.registry,
      s.t.ctx.config,
      port,
      'admin-test',
      pino({ level: 'silent' }),
      s.t.ctx.rpc.provided(),
    );
    // A URL import waits in the queue (this test server runs no worker loop): the queue table has a row.
    const imported = await s.t.app.inject({
      method: 'POST',
      url: '/v1/videos',
      headers: s.tenant.auth,
      payload: { title: 'Queued import', input: { url: 'https://media.example/clip.mp4' } },
    });
    expect(imported.statusCode, imported.body).toBe(201);
    // The sentinel's alerts, reconciled as its rounds do: two findings, then one of them no longer found.
    const finding = (rule: string, subject: string, severity: 'warning' | 'critical', message: string) => ({
      rule,
      findings: [{ rule, subject, severity, message, value: 120, threshold: 100 }],
    });
    const alerts = s.t.ctx.monitor.alerts;
    await alerts.reconcile([
      finding('queue_backlog', 'video.import', 'warning', '120 video.import jobs waiting; threshold 100'),
      finding(
        'rpc_p95',
        'vod-worker media.probe',
        'critical',
        'vod-worker media.probe: p95 120 ms; threshold 100 ms',
      ),
    ]);
    await alerts.reconcile([
      finding('queue_backlog', 'video.import', 'warning', '120 video.import jobs waiting; threshold 100'),
      { rule: 'rpc_p95', findings: [] },
    ]);
    // Call statistics of the last minutes, sent to the monitor the way every node's reporter sends them.
    const now = Date.now();
    const buckets = (n: number, at: number) => BUCKETS_MS.map((_, i) => (i === at ? n : 0)).concat(0);
    for (const [ago, calls, errors] of [
      [4, 12, 0],
      [3, 30, 1],
      [2, 18, 0],
      [1, 25, 3],
    ] as const) {
      const to = now - ago * 60_000;
      await s.t.ctx.rpc.client(monitorService).report({
        node: node.node.id,
        roles: ['api', 'worker'],
        from: new Date(to - 10_000).toISOString(),
        to: new Date(to).toISOString(),
        entries: [
          {
            service: 'vod-worker',
            method: 'media.probe',
            side: 'consumer',
            calls,
            errors,
            sumMs: calls * 40,
            maxMs: 180,
            buckets: buckets(calls, 6),
          },
        ],
      });
    }
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await s?.close();
  });

  it('creates a tenant, renames it, sets its quota in GB, invites its owner (accepted elsewhere), makes and revokes a key', async () => {
    const { page, context, errors } = await consoleAs(s, 'platformAdmin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL(/\/admin\/tenants$/);
    await expect.poll(() => page.getByRole('link', { name: 'Acme Media' }).count()).toBe(1);

    await page.getByLabel('New tenant name').fill('Globex Studios');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.waitForURL(/\/admin\/tenants\/[0-9A-Z]{26}$/);
    const id = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Globex Studios' }).waitFor();
    expect((await apiGet(`/v1/tenants/${id}`)).name).toBe('Globex Studios');

    // Rename.
    await page.getByLabel('Name', { exact: true }).fill('Globex Pictures');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Globex Pictures' }).waitFor();
    expect((await apiGet(`/v1/tenants/${id}`)).name).toBe('Globex Pictures');

    // The quota in GB: 2.5 GB is 2,500,000,000 bytes; then unlimited (0); then the default (null).
    await page.getByLabel('A limit').check();
    await page.getByLabel('Limit (GB)').fill('2.5');
    await page.getByRole('button', { name: 'Save quota' }).click();
    await page.getByText('Now: 2.5 GB').waitFor();
    expect((await apiGet(`/v1/tenants/${id}`)).storageQuotaBytes).toBe(2_500_000_000);
    await page.getByLabel('Limit (GB)').fill('50');
    await page.getByRole('button', { name: 'Save quota' }).click();
    await page.getByText('Now: 50 GB').waitFor();
    expect((await apiGet(`/v1/tenants/${id}`)).storageQuotaBytes).toBe(50_000_000_000);

    // Invite the owner: the one-time link is shown once, with its warning.
    await page.getByLabel('Email').fill('boss@globex.test');
    await expect.poll(() => page.getByLabel('Role').inputValue()).toBe('owner');
    await page.getByRole('button', { name: 'Create invitation link' }).click();
    const linkBox = page.getByRole('textbox', { name: 'Invitation link for boss@globex.test' });
    await linkBox.waitFor();
    const link = await linkBox.inputValue();
    expect(link).toMatch(new RegExp(`^${s.base}/invite/[A-Za-z0-9_-]{43}$`));
    await page.getByText('you will not see this again').first().waitFor();

    // An API key of the tenant: shown once, listed, revoked after a confirmation.
    await page.getByLabel('Key name').fill('ci-pipeline');
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyBox = page.getByRole('textbox', { name: 'API key “ci-pipeline”' });
    await keyBox.waitFor();
    const key = await keyBox.inputValue();
    expect(key.length).toBeGreaterThan(20);
    const keys = await apiGet(`/v1/tenants/${id}/api-keys`);
    expect(keys.data.map((k: { name: string }) => k.name)).toEqual(['ci-pipeline']);
    // The key works for the tenant.
    const withKey = await s.t.app.inject({
      method: 'GET',
      url: '/v1/videos',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(withKey.statusCode).toBe(200);
    for (const vp of ['desktop', 'phone'] as const) {
      await page.setViewportSize(VIEWPORTS[vp]);
      await checkPage(page, `admin-tenant-${vp}`);
    }
    await page.setViewportSize(VIEWPORTS.desktop);
    await page.locator('.admin-keys').getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke ci-pipeline' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('cannot be undone').waitFor();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Revoked', { exact: true }).waitFor();
    expect((await apiGet(`/v1/tenants/${id}/api-keys`)).data[0].revokedAt).not.toBeNull();

    // The tenants list shows the new tenant with its quota.
    await page.getByRole('link', { name: '← All tenants' }).click();
    const row = page.getByRole('row', { name: /Globex Pictures/ });
    await row.getByText('50 GB').waitFor();
    for (const vp of ['desktop', 'phone'] as const) {
      await page.setViewportSize(VIEWPORTS[vp]);
      await checkPage(page, `admin-tenants-${vp}`);
    }
    expect(errors).toEqual([]);
    await context.close();

    // The owner accepts the link in a fresh context and lands signed in as the tenant's owner.
    const guest = await openConsole(s);
    await guest.page.goto(link);
    await guest.page.getByText('boss@globex.test is invited to Globex Pictures as Owner').waitFor();
    await guest.page.getByLabel('New password').fill(PASSWORD);
    await guest.page.getByLabel('Confirm the password').fill(PASSWORD);
    await guest.page.getByRole('button', { name: 'Accept and sign in' }).click();
    await guest.page.waitForURL((u) => !u.pathname.startsWith('/invite'));
    await guest.page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await guest.page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    const users = await s.t.ctx.accounts.listUsers(id, 10);
    expect(users.map((u) => [u.email, u.role, u.tenantId])).toEqual([['boss@globex.test', 'owner', id]]);
    expect(guest.errors).toEqual([]);
    await guest.context.close();
  });

  it('shows this server in the cluster, the queue table, the monitor charts and the alerts, at both widths', async () => {
    const { page, context, errors } = await consoleAs(s, 'platformAdmin');
    await page.goto(`${s.base}/admin/cluster`);
    // This server's instance, by its registry id and address.
    const port = (s.t.app.server.address() as AddressInfo).port;
    await page.getByText(node.node.id).first().waitFor();
    await page.getByText(`:${port}`).first().waitFor();
    await page.getByText('admin-test').first().waitFor();
    await page
      .getByText(/Updated .* refreshes every 5 s/)
      .first()
      .waitFor();
    const cluster = await apiGet('/v1/admin/cluster');
    expect(
      cluster.services.flatMap((x: { instances: Array<{ id: string }> }) => x.instances.map((i) => i.id)),
    ).toContain(node.node.id);
    // One node, registered under every service it provides, is counted once.
    await page.getByText(`${cluster.services.length} services on 1 node.`).waitFor();

    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Queues' })
      .click();
    const table = page.getByRole('table', { name: 'Queues' });
    await table.waitFor();
    expect(cluster.queues.some((q: { waiting: number }) => q.waiting > 0)).toBe(true);
    const pending = cluster.queues.reduce(
      (n: number, q: { waiting: number; delayed: number; active: number }) =>
        n + q.waiting + q.delayed + q.active,
      0,
    );
    await page.getByText(`${pending} job${pending === 1 ? '' : 's'} pending.`).waitFor();
    for (const q of cluster.queues as Array<{ name: string }>)
      await table.getByRole('cell', { name: q.name, exact: true }).waitFor();

    await page.getByRole('link', { name: 'RPC monitor' }).click();
    const chart = page.getByRole('img', { name: /Calls \/ min of vod-worker · media\.probe/ }).first();
    await chart.waitFor();
    expect(await page.locator('svg.admin-spark path.admin-spark-line').count()).toBeGreaterThanOrEqual(3);
    // The totals add up what was reported (85 calls, 4 errors), as the API says.
    const stats = await apiGet('/v1/admin/monitor');
    const probe = stats.series.find(
      (x: { service: string; method: string }) => x.service === 'vod-worker' && x.method === 'media.probe',
    );
    expect(probe.totals).toMatchObject({ calls: 85, errors: 4 });
    await page.getByText('85 calls, 4 errors').waitFor();

    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Open alerts' }).waitFor();
    await page.getByRole('heading', { name: 'Recently resolved' }).waitFor();
    await page
      .getByRole('table', { name: 'Open alerts' })
      .getByText('120 video.import jobs waiting')
      .waitFor();
    await page.getByRole('table', { name: 'Recently resolved' }).getByText('p95 120 ms').waitFor();
    const open = await apiGet('/v1/admin/alerts?state=open');
    expect(open.data.map((a: { rule: string }) => a.rule)).toEqual(['queue_backlog']);

    for (const view of VIEWS.filter((v) => v !== 'tenants'))
      for (const vp of ['desktop', 'phone'] as const) {
        await page.setViewportSize(VIEWPORTS[vp]);
        await page.goto(`${s.base}/admin/${view}`);
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        await page
          .getByText(/Updated .* refreshes every 5 s/)
          .first()
          .waitFor();
        await checkPage(page, `admin-${view}-${vp}`);
      }
    // In Simplified Chinese.
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.goto(`${s.base}/admin/cluster`);
    await page.getByRole('heading', { name: '集群', level: 2 }).waitFor();
    await page.getByText(`${cluster.services.length} 个服务，运行于 1 个节点。`).waitFor();
    await checkPage(page, 'admin-cluster-zh-phone');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('a tenant owner has no Admin link, /admin says the role does not allow it, and the API answers 403', async () => {
    // Its 403s below are expected answers (Chromium logs each failed fetch).
    const { page, context, errors } = await consoleAs(s, 'owner', { expectedStatuses: [401, 403] });
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Library' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${s.base}/admin/tenants`);
    await page.getByRole('alert').getByText('Your role does not allow this page.').waitFor();
    await checkPage(page, 'admin-forbidden-owner');
    // The same session asking the API.
    const status = await page.evaluate(async () => (await fetch('/v1/tenants')).status);
    expect(status).toBe(403);
    // A write with the session's CSRF token (so the refusal is the role's, not the CSRF check's).
    const invite = await page.evaluate(async (id) => {
      const { csrfToken } = await (await fetch('/v1/sessions/current')).json();
      const res = await fetch(`/v1/tenants/${id}/invitations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: JSON.stringify({ email: 'x@acme.test', role: 'owner' }),
      });
      return { status: res.status, detail: (await res.json()).detail as string };
    }, s.tenant.id);
    expect(invite.status).toBe(403);
    expect(invite.detail).not.toMatch(/CSRF/);
    expect(errors).toEqual([]);
    await context.close();
  });
});
