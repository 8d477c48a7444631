import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../apps/server/src/config';
import { type AppContext, closeContext, createContext } from '../../apps/server/src/context';
import { buildApp } from '../../apps/server/src/http/app';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  adminKey: string;
  /** Creates a tenant and a read+write key for it. */
  tenant(
    name?: string,
    scopes?: Array<'read' | 'write'>,
  ): Promise<{ id: string; key: string; auth: { authorization: string } }>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodapp-'));
  const adminKey = `admin-${Math.random().toString(36).slice(2)}-${Date.now()}-padding-to-24-chars`;
  const config = loadConfig(
    {},
    { VOD_DATA_DIR: dir, VOD_ADMIN_API_KEY: adminKey, VOD_LOG_LEVEL: 'silent', ...env },
  );
  const log = pino({ level: 'silent' });
  const ctx = await createContext(config, log);
  await ctx.tenants.bootstrapAdmin(adminKey);
  const app = await buildApp(ctx);
  const admin = { authorization: `Bearer ${adminKey}` };
  return {
    app,
    ctx,
    adminKey,
    async tenant(name = 'acme', scopes = ['read', 'write']) {
      const t = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name } });
      if (t.statusCode !== 201)
        throw new Error(`tenant create failed (is the api role on?): ${t.statusCode} ${t.body}`);
      const id = t.json().id as string;
      const k = await app.inject({
        method: 'POST',
        url: `/v1/tenants/${id}/api-keys`,
        headers: admin,
        payload: { name: 'test', scopes },
      });
      if (k.statusCode !== 201) throw new Error(`key create failed: ${k.statusCode} ${k.body}`);
      const key = k.json().key as string;
      return { id, key, auth: { authorization: `Bearer ${key}` } };
    },
    async close() {
      await app.close();
      await closeContext(ctx);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestServer extends TestApp {
  url: string;
  dataDir: string;
}

/** A listening server (all roles unless VOD_ROLES says otherwise), with the worker running. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const { startServer } = await import('../../apps/server/src/server');
  const dir = env.VOD_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'vodsrv-'));
  const adminKey = `admin-${Math.random().toString(36).slice(2)}-${Date.now()}-padding-to-24-chars`;
  const config = loadConfig(
    {},
    {
      VOD_DATA_DIR: dir,
      VOD_ADMIN_API_KEY: adminKey,
      VOD_LOG_LEVEL: 'silent',
      VOD_PORT: '0',
      VOD_HOST: '127.0.0.1',
      ...env,
    },
  );
  const server = await startServer(config);
  const app = server.app;
  const admin = { authorization: `Bearer ${adminKey}` };
  return {
    app,
    ctx: server.ctx,
    adminKey,
    url: server.url,
    dataDir: dir,
    async tenant(name = 'acme', scopes = ['read', 'write']) {
      const t = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name } });
      if (t.statusCode !== 201)
        throw new Error(`tenant create failed (is the api role on?): ${t.statusCode} ${t.body}`);
      const id = t.json().id as string;
      const k = await app.inject({
        method: 'POST',
        url: `/v1/tenants/${id}/api-keys`,
        headers: admin,
        payload: { name: 'test', scopes },
      });
      const key = k.json().key as string;
      return { id, key, auth: { authorization: `Bearer ${key}` } };
    },
    async close() {
      await server.stop('test');
      if (!env.VOD_DATA_DIR) rmSync(dir, { recursive: true, force: true });
    },
  };
}
