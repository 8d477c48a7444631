import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, ROLES } from './config';

describe('configuration', () => {
  it('has embedded defaults: SQLite and files under the data folder, in-process queue, registry and cache, port 8080', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.dbUrl).toBe(`sqlite:${path.resolve('data', 'vodcloud.db')}`);
    expect(c.storageUrl).toBe(`file:${path.resolve('data', 'objects')}`);
    expect(c.queueUrl).toBe('db');
    expect(c.registryUrl).toBe('local');
    expect(c.cacheUrl).toBe('memory');
    expect(c.roles).toEqual([...ROLES]);
  });

  it('names each bad setting and what was given', () => {
    try {
      loadConfig({
        VOD_PORT: 'abc',
        VOD_DB_URL: 'oracle://x',
        VOD_QUEUE_URL: 'kafka://x',
        VOD_ADMIN_API_KEY: 'short',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/VOD_PORT: .*\(got "abc"\)/);
      expect(msg).toMatch(/VOD_DB_URL must look like/);
      expect(msg).toMatch(/VOD_QUEUE_URL/);
      expect(msg).toMatch(/VOD_ADMIN_API_KEY must be at least 24/);
    }
  });

  it('reports unknown VOD_ settings instead of ignoring a typo', () => {
    expect(() => loadConfig({ VOD_PROT: '1' })).toThrow(/unknown setting\(s\) VOD_PROT/);
  });

  it('reads an optional JSON file, overridden by the environment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vodcfg-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ VOD_PORT: 9000, VOD_CACHE_URL: 'redis://127.0.0.1:6379' }));
    const c = loadConfig({ VOD_CONFIG_FILE: file, VOD_PORT: '9100' });
    expect(c.port).toBe(9100);
    expect(c.cacheUrl).toBe('redis://127.0.0.1:6379');
    expect(() => loadConfig({ VOD_CONFIG_FILE: path.join(dir, 'missing.json') })).toThrow(
      /VOD_CONFIG_FILE: cannot read/,
    );
  });

  it('parses roles and refuses unknown ones', () => {
    expect(loadConfig({ VOD_ROLES: 'api, stream' }).roles).toEqual(['api', 'stream']);
    expect(() => loadConfig({ VOD_ROLES: 'api,transcoder' })).toThrow(/unknown role\(s\) transcoder/);
  });
});
