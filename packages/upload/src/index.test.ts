// Package-level checks that need no server: the browser bundle, option validation.
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createUpload, DEFAULT_CHUNK_SIZE, DEFAULT_RETRY_DELAYS, platform } from './index';

const entry = path.resolve(import.meta.dirname, 'index.ts');

describe('@vodcloud/upload', () => {
  it('bundles for browsers with tus-js-client’s browser build and no Node modules', async () => {
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(out.errors).toEqual([]);
    const inputs = Object.keys(out.metafile!.inputs);
    expect(inputs.some((i) => i.endsWith('packages/upload/src/platform.browser.ts'))).toBe(true);
    expect(inputs.some((i) => i.endsWith('platform.node.ts'))).toBe(false);
    expect(inputs.some((i) => i.includes('tus-js-client/lib.esm/browser/'))).toBe(true);
    expect(inputs.some((i) => i.includes('tus-js-client/lib.esm/node/'))).toBe(false);
    const code = out.outputFiles![0]!.text;
    expect(code).not.toMatch(/from\s*["'](node:)?(fs|os|path|stream)["']/);
  });

  it('uses the Node platform module under Node', () => {
    expect(platform).toBe('node');
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(50 * 1024 * 1024);
    expect(DEFAULT_CHUNK_SIZE).toBeLessThan(100 * 1024 * 1024);
    expect(DEFAULT_RETRY_DELAYS).toEqual([0, 1000, 3000, 5000, 10_000, 20_000]);
  });

  it('rejects unusable options up front', () => {
    expect(() => createUpload('x', {} as never)).toThrow(/endpoint, headers/);
    expect(() => createUpload('x', { apiBase: '', apiKey: 'k' })).toThrow(/apiBase and apiKey/);
    expect(() => createUpload('x', { endpoint: 'http://h/tus', chunkSize: 0 })).toThrow(/chunkSize/);
  });

  it('fails (does not throw) on a missing file, with the error event and a rejected promise', async () => {
    const u = createUpload('/definitely/not/here.mp4', {
      endpoint: 'http://127.0.0.1:9/tus',
      urlStorage: false,
    });
    const seen: Error[] = [];
    u.on('error', (e) => seen.push(e));
    const err = await u.done().catch((e) => e);
    expect(err.code).toBe('ENOENT');
    expect(seen).toEqual([err]);
    expect(u.state).toBe('failed');
  });
});
