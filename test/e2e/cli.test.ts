import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../apps/server/src/db/connect';
import { runCli, serve } from '../support/cli';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'vode2e-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const base = (dir: string) => ({
  VOD_DATA_DIR: dir,
  VOD_LOG_LEVEL: 'warn',
  VOD_PORT: '0',
  VOD_HOST: '127.0.0.1',
});

describe('the vodcloud program', () => {
  it('serves on embedded defaults: prints a first-start admin key, /livez, /openapi.json and an authenticated GET /v1/videos', async () => {
    const dir = tempDir();
    const started = Date.now();
    const s = await serve([], base(dir));
    try {
      const startupMs = Date.now() - started;
      expect(startupMs).toBeGreaterThan(0);
      const adminKey = /"adminApiKey":"(vk_[A-Za-z0-9_-]{43})"/.exec(s.output())?.[1];
      expect(adminKey, s.output()).toBeDefined();
      expect((await fetch(`${s.url}/livez`)).status).toBe(200);
      const doc = await (await fetch(`${s.url}/openapi.json`)).json();
      expect(doc.paths['/v1/videos']).toBeDefined();
      const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
      const tenant = await (
        await fetch(`${s.url}/v1/tenants`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ name: 'e2e' }),
        })
      ).json();
      const key = await (
        await fetch(`${s.url}/v1/tenants/${tenant.id}/api-keys`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ name: 'k', scopes: ['read'] }),
        })
      ).json();
      const videos = await fetch(`${s.url}/v1/videos`, { headers: { authorization: `Bearer ${key.key}` } });
      expect(videos.status).toBe(200);
      expect(await videos.json()).toEqual({ data: [], nextCursor: null });
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
    // A second start keeps the admin key and does not print a new one.
    const again = await serve([], base(dir));
    expect(again.output()).not.toMatch(/First start/);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('shuts down gracefully on SIGTERM, and bounds the wait for a request that never finishes', async () => {
    const dir = tempDir();
    const s = await serve(['--roles', 'api'], { ...base(dir), VOD_SHUTDOWN_TIMEOUT_MS: '1500' });
    const u = new URL(s.url);
    // A client that starts a request and never finishes its body.
    const sock = net.connect(Number(u.port), u.hostname);
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      'POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const code = await s.exited;
    const took = Date.now() - t0;
    sock.destroy();
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(6000);
    expect(s.output()).toMatch(/did not finish within the shutdown bound/);
  });

  it('refuses a bad setting with a message naming it', async () => {
    const r = await runCli(['serve'], { ...base(tempDir()), VOD_PORT: 'eighty' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/VOD_PORT/);
    expect(r.stderr).toMatch(/eighty/);
  });

  it('migrates, creates tenants and keys from the command line (recorded in the audit log)', async () => {
    const dir = tempDir();
    const env = base(dir);
    const m = await runCli(['migrate'], env);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/applied: 001_initial/);
    expect((await runCli(['migrate'], env)).stdout).toMatch(/already up to date/);
    const t = await runCli(['tenants', 'create', 'Acme Corp'], env);
    expect(t.code, t.stderr).toBe(0);
    const tenant = JSON.parse(t.stdout);
    expect(tenant.name).toBe('Acme Corp');
    const k = await runCli(['keys', 'create', '--tenant', tenant.id, '--scopes', 'read'], env);
    expect(k.code, k.stderr).toBe(0);
    expect(JSON.parse(k.stdout)).toMatchObject({ scopes: ['read'], key: expect.stringMatching(/^vk_/) });
    const db = createDatabase(`sqlite:${path.join(dir, 'vodcloud.db')}`);
    try {
      const events = await db.primary.selectFrom('audit_events').selectAll().orderBy('id').execute();
      expect(
        events.map((e) => [e.actor_kind, e.action, e.method, e.route, e.tenant_id, e.target_id]),
      ).toEqual([
        ['cli', 'tenant.create', 'CLI', 'tenants create', tenant.id, tenant.id],
        ['cli', 'api_key.create', 'CLI', 'keys create', tenant.id, JSON.parse(k.stdout).id],
      ]);
      expect(JSON.stringify(events)).not.toContain(JSON.parse(k.stdout).key);
    } finally {
      await db.close();
    }
    const bad = await runCli(['keys', 'create', '--tenant', tenant.id, '--scopes', 'admin'], env);
    expect(bad.code).not.toBe(0);
    const list = await runCli(['tenants', 'list'], env);
    expect(list.stdout).toContain(tenant.id);
    const help = await runCli(['keys', 'create', '--help'], env);
    expect(help.stdout).toMatch(/--tenant <id>/);
  });

  it('creates console users with the password on standard input, never the command line; lists them', async () => {
    const dir = tempDir();
    const env = base(dir);
    const tenant = JSON.parse((await runCli(['tenants', 'create', 'Users Inc'], env)).stdout);
    const password = 'a password from stdin';
    const owner = await runCli(
      [
        'users',
        'create',
        '--tenant',
        tenant.id,
        '--email',
        'Owner@Example.com',
        '--role',
        'owner',
        '--password-stdin',
      ],
      env,
      30_000,
      `${password}\n`,
    );
    expect(owner.code, owner.stderr).toBe(0);
    const user = JSON.parse(owner.stdout);
    expect(user).toMatchObject({
      email: 'owner@example.com',
      role: 'owner',
      tenantId: tenant.id,
      tenantName: 'Users Inc',
      platformAdmin: false,
    });
    const admin = await runCli(
      ['users', 'create', '--admin', '--email', 'ops@example.com', '--name', 'Ops', '--password-stdin'],
      env,
      30_000,
      'another password!',
    );
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout)).toMatchObject({
      platformAdmin: true,
      role: null,
      tenantId: null,
      name: 'Ops',
    });
    // Refused: no --password-stdin, a short password, a bad role, a duplicate email, --admin with a tenant.
    const refusals: Array<[string[], string]> = [
      [['--tenant', tenant.id, '--email', 'x@example.com', '--role', 'owner'], password],
      [['--tenant', tenant.id, '--email', 'x@example.com', '--role', 'owner', '--password-stdin'], 'short\n'],
      [['--tenant', tenant.id, '--email', 'x@example.com', '--role', 'boss', '--password-stdin'], password],
      [
        ['--tenant', tenant.id, '--email', 'OWNER@example.com', '--role', 'viewer', '--password-stdin'],
        password,
      ],
      [['--admin', '--tenant', tenant.id, '--email', 'y@example.com', '--password-stdin'], password],
    ];
    for (const [args, input] of refusals) {
      const r = await runCli(['users', 'create', ...args], env, 30_000, input);
      expect(r.code, args.join(' ')).not.toBe(0);
    }
    const list = await runCli(['users', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(2);
    expect(list.stdout).toContain(`owner@example.com\towner\t${tenant.id}`);
    expect(list.stdout).toContain('ops@example.com\tplatform-admin\t-');
    const own = await runCli(['users', 'list', '--tenant', tenant.id], env);
    expect(own.stdout.trim().split('\n')).toEqual([expect.stringContaining('owner@example.com')]);
    // The password (one trailing newline trimmed) signs in; it is in no audit row.
    const s = await serve(['--roles', 'api'], env);
    try {
      const res = await fetch(`${s.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'owner@example.com', password }),
      });
      expect(res.status).toBe(201);
      expect((await res.json()).user.id).toBe(user.id);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    const db = createDatabase(`sqlite:${path.join(dir, 'vodcloud.db')}`);
    try {
      const events = await db.primary
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'user.create')
        .execute();
      expect(events.map((e) => [e.actor_kind, e.route, e.target_id])).toEqual(
        expect.arrayContaining([['cli', 'users create', user.id]]),
      );
      expect(JSON.stringify(events)).not.toContain(password);
    } finally {
      await db.close();
    }
  });

  it('doctor reports what is wrong and how to fix it, exiting non-zero', async () => {
    const good = await runCli(['doctor'], base(tempDir()));
    expect(good.stdout).toMatch(/ok {4}database/);
    // Without VOD_MASTER_KEY, secrets at rest are unsealed: a warning with its fix, not a failure.
    expect(good.stdout).toMatch(/warn {2}secrets +VOD_MASTER_KEY is not set: secrets are stored unsealed/);
    expect(good.stdout).toMatch(
      /fix: set VOD_MASTER_KEY to the output of `vodcloud secrets generate-master-key`/,
    );
    const bad = await runCli(['doctor'], {
      ...base(tempDir()),
      VOD_DB_URL: 'postgres://nobody@127.0.0.1:1/none',
      VOD_FFMPEG_PATH: '/nonexistent/ffmpeg',
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}database/);
    expect(bad.stdout).toMatch(/FAIL {2}ffmpeg/);
    expect(bad.stdout).toMatch(/fix: /);
  });
});
