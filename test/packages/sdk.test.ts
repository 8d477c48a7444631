// @vodcloud/sdk pieces that need no video: the generated types match the server's document, the retry
// policy over real HTTP (a local server answering 429/503 as a loaded vodcloud does: the real one cannot
// be made to on demand), and webhook verification against the server's own signing code.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { unwrap, VodCloud, VodCloudError, verifyWebhook } from '@vodcloud/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { newSecret, signedHeaders } from '../../apps/server/src/modules/webhooks/sender';
import { generateSdkTypes, SDK_TYPES_FILE } from '../../scripts/gen-sdk-types';

describe('@vodcloud/sdk', () => {
  it('its generated types match the server’s /openapi.json', async () => {
    const fresh = await generateSdkTypes();
    expect(
      readFileSync(SDK_TYPES_FILE, 'utf8') === fresh,
      'packages/sdk/src/generated/openapi.ts is stale: run npm run gen:sdk',
    ).toBe(true);
  }, 60_000);

  describe('retries', () => {
    let server: http.Server | undefined;
    afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

    /** A server answering each request with the next of `answers`; records method, path and Idempotency-Key. */
    async function serve(
      answers: Array<[number, Record<string, string>?, unknown?]>,
      options: { apiKey?: string; csrfToken?: string } = { apiKey: 'k' },
    ) {
      const seen: Array<{
        method: string;
        url: string;
        key: string | undefined;
        at: number;
        auth?: string;
        csrf?: string;
      }> = [];
      server = http.createServer((req, res) => {
        req.resume();
        seen.push({
          method: req.method!,
          url: req.url!,
          key: req.headers['idempotency-key'] as string | undefined,
          at: Date.now(),
          auth: req.headers.authorization,
          csrf: req.headers['x-csrf-token'] as string | undefined,
        });
        const [status, headers = {}, body = {}] = answers[Math.min(seen.length - 1, answers.length - 1)]!;
        res.writeHead(status, {
          'content-type': status < 300 ? 'application/json' : 'application/problem+json',
          'x-request-id': `r${seen.length}`,
          ...headers,
        });
        res.end(JSON.stringify(body));
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const baseUrl = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
      const vc = new VodCloud({ baseUrl, ...options, retryBaseMs: 20 });
      return { vc, seen, baseUrl };
    }
    const problem = (code: string, status: number) => ({
      code,
      status,
      detail: `${code} detail`,
      requestId: 'from-body',
    });

    it('retries a POST on 503 with the same Idempotency-Key, waiting what Retry-After says', async () => {
      const { vc, seen } = await serve([
        [503, { 'retry-after': '1' }, problem('unavailable', 503)],
        [201, {}, { id: 'k1', publicKey: 'p' }],
      ]);
      const key = await vc.signingKeys.create({ publicKey: 'p' });
      expect(key).toMatchObject({ id: 'k1' });
      expect(seen.map((s) => s.method)).toEqual(['POST', 'POST']);
      expect(seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen[1]!.key).toBe(seen[0]!.key);
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
    });

    it('gives up after `retries` and throws the last answer as a VodCloudError', async () => {
      const { vc, seen } = await serve([[429, {}, problem('rate_limited', 429)]]);
      const err = await vc.videos.get('x').catch((e) => e);
      expect(seen).toHaveLength(3);
      expect(err).toBeInstanceOf(VodCloudError);
      expect(err).toMatchObject({
        status: 429,
        code: 'rate_limited',
        detail: 'rate_limited detail',
        requestId: 'from-body',
      });
    });

    it('does not wait a Retry-After longer than maxRetryDelayMs: the error carries it', async () => {
      const { vc, seen } = await serve([[429, { 'retry-after': '120' }, problem('rate_limited', 429)]]);
      const err = await vc.videos.list().catch((e) => e);
      expect(seen).toHaveLength(1);
      expect(err).toMatchObject({ code: 'rate_limited', retryAfter: 120 });
    });

    it('does not retry other errors; the request id comes from x-request-id when the body has none', async () => {
      const { vc, seen } = await serve([[500, {}, { detail: 'boom' }]]);
      const err = await vc.videos.get('x').catch((e) => e);
      expect(seen).toHaveLength(1);
      expect(err).toMatchObject({ status: 500, code: 'http_500', detail: 'boom', requestId: 'r1' });
      expect(unwrap({ data: 1, response: new Response(null, { status: 200 }) })).toBe(1);
    });

    it('with a browser session: no Authorization, the CSRF token on writes only, settable after sign-in', async () => {
      const { vc, seen, baseUrl } = await serve([[200, {}, { data: [], nextCursor: null }]], {});
      await vc.videos.list();
      await vc.api.POST('/v1/videos/batch-delete', { body: { ids: ['a'] } });
      vc.csrfToken = 'tok-1';
      await vc.api.POST('/v1/videos/batch-delete', { body: { ids: ['a'] } });
      await vc.videos.list();
      expect(seen.map((s) => [s.method, s.auth, s.csrf])).toEqual([
        ['GET', undefined, undefined],
        ['POST', undefined, undefined],
        ['POST', undefined, 'tok-1'],
        ['GET', undefined, undefined],
      ]);
      const keyed = new VodCloud({ baseUrl, apiKey: 'key-1', csrfToken: 'tok-2' });
      await keyed.videos.delete('x');
      expect(seen.slice(4).map((s) => [s.method, s.auth, s.csrf])).toEqual([
        ['DELETE', 'Bearer key-1', 'tok-2'],
      ]);
      expect(() => new VodCloud({ baseUrl: '' })).toThrow(/baseUrl/);
      // An upload with the session: created by POST /v1/uploads with the cookie and the CSRF token (this
      // stand-in server answers it with a list, which the SDK refuses before any tus request).
      await expect(vc.videos.upload(new Blob(['x']))).rejects.toThrow(/POST \/v1\/uploads response/);
      expect(seen.slice(5).map((s) => [s.method, s.auth, s.csrf])).toEqual([['POST', undefined, 'tok-1']]);
    });

    it('retries a GET after a network error, then reports code network', async () => {
      const vc = new VodCloud({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', retries: 1, retryBaseMs: 10 });
      await expect(vc.videos.get('x')).rejects.toMatchObject({ code: 'network', status: undefined });
    });
  });

  it('verifies webhooks signed by the server’s code, with several signatures and a timestamp tolerance', async () => {
    const secret = newSecret();
    const raw = JSON.stringify({
      id: 'evt_1',
      type: 'video.ready',
      createdAt: new Date().toISOString(),
      data: { id: 'v' },
    });
    const headers = signedHeaders(secret, 'evt_1', raw);
    await expect(verifyWebhook(raw, headers, secret)).resolves.toMatchObject({
      type: 'video.ready',
      data: { id: 'v' },
    });
    await expect(
      verifyWebhook(new TextEncoder().encode(raw), new Headers(headers), secret),
    ).resolves.toMatchObject({ id: 'evt_1' });
    const rotated = { ...headers, 'webhook-signature': `v1,bm90IGl0 ${headers['webhook-signature']}` };
    await expect(verifyWebhook(raw, rotated, secret)).resolves.toBeTruthy();
    for (const [h, s, body] of [
      [{ ...headers, 'webhook-signature': 'v1,bm90IGl0' }, secret, raw],
      [headers, newSecret(), raw],
      [headers, secret, `${raw} `],
      [{ ...headers, 'webhook-id': 'evt_2' }, secret, raw],
      [{ ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 301) }, secret, raw],
      [{ 'webhook-id': 'evt_1' }, secret, raw],
    ] as const)
      await expect(verifyWebhook(body, h, s)).rejects.toMatchObject({
        name: 'VodCloudError',
        code: 'invalid_signature',
      });
  });
});
