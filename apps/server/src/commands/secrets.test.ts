/**
 * Secrets at rest against SQLite, MariaDB and PostgreSQL: a real server (worker running, db queue), a
 * real HTTP receiver for webhook deliveries, the CLI spawned as a user runs it. Signatures are checked
 * with an HMAC computed here from the secret the API returned.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/app';
import { runCli } from '../../../../test/support/cli';
import { databaseEngines, type TestDatabase } from '../../../../test/support/databases';
import { waitFor } from '../../../../test/support/uploads';
import { loadConfig } from '../config';
import { createContext } from '../context';
import { createDatabase, type Database } from '../db/connect';
import { type SealedStatus, sealAll, sealedStatus } from '../db/sealed-values';
import { checkSecrets } from '../doctor';
import { envelopeKid, generateMasterKey, KeyRing, parseMasterKey, SecretBox } from '../lib/secretbox';
import { PlaybackService } from '../modules/playback/service';
import { keyOf } from '../modules/videos';

const KEY_A = generateMasterKey();
const KEY_B = randomBytes(32).toString('hex'); // another accepted form
const KEY_C = randomBytes(32).toString('base64');
const kid = (k: string) => parseMasterKey(k).kid;

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The Standard Webhooks signature the secret gives for a received delivery. */
function expectedSignature(secret: string, r: Received): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** Every stored secret, raw. */
async function raw(db: Database) {
  const p = db.primary;
  return {
    settings: (await p.selectFrom('settings').select('value').where('name', '=', 'secret').executeTakeFirst())
      ?.value,
    webhooks: await p.selectFrom('webhooks').select(['id', 'secret']).orderBy('id').execute(),
    signing: await p.selectFrom('signing_keys').select(['id', 'private_key']).orderBy('id').execute(),
    videos: await p
      .selectFrom('videos')
      .select(['id', 'hls_key', 'published_hls_key'])
      .where('hls_key', 'is not', null)
      .execute(),
  };
}

/** Every stored value's state: 'clear' (not an envelope) or its key id. */
async function states(db: Database): Promise<string[]> {
  const r = await raw(db);
  return [
    r.settings!,
    ...r.webhooks.map((w) => w.secret),
    ...r.signing.map((s) => s.private_key!),
    ...r.videos.flatMap((v) => [v.hls_key!, v.published_hls_key!]),
  ].map((v) => envelopeKid(v) ?? 'clear');
}

const total = (s: SealedStatus, k: string) => Object.values(s).reduce((n, e) => n + (e.byKid[k] ?? 0), 0);

for (const engine of databaseEngines('secrets at rest suite')) {
  describe.skipIf(!engine.available)(`secrets at rest on ${engine.engine}`, () => {
    const received: Received[] = [];
    let receiver: http.Server;
    let tdb: TestDatabase;
    let env: Record<string, string>;
    let base = '';
    // What the first (unsealed) start left, checked after every later start.
    const before = {
      clusterSecret: '',
      tenant: '',
      auth: { authorization: '' },
      hook: { id: '', secret: '' },
      video: { id: '', generation: '', key: Buffer.alloc(0) },
      kid: '',
    };

    const start = (extra: Record<string, string> = {}) => startTestServer({ ...env, ...extra });
    const hits = (path: string) => received.filter((r) => r.path === path);

    /** Emits an event for the tenant and returns the delivery the receiver got on `path`. */
    async function delivered(s: TestServer, path: string): Promise<Received> {
      const n = hits(path).length;
      await s.ctx.events.emit(before.tenant, 'video.ready', null, { id: `V-${received.length}` });
      return waitFor(async () => hits(path)[n], 15_000, `the delivery to ${path}`);
    }

    const mint = (s: TestServer) =>
      new PlaybackService(s.ctx.db, s.ctx.videos.repo, s.ctx.box).mintToken(before.tenant, before.video.id, {
        aud: 'v',
        expiresIn: 600,
      });

    beforeAll(async () => {
      receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({
            path: req.url ?? '/',
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
          res.writeHead(200).end('ok');
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
      const port = (receiver.address() as AddressInfo).port;
      base = `http://127.0.0.1:${port}`;
      tdb = await engine.create();
      env = {
        VOD_DB_URL: tdb.url,
        VOD_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}`,
        VOD_WEBHOOK_RETRY_BASE_MS: '200',
        VOD_WEBHOOK_RETRY_MAX_MS: '400',
        VOD_WEBHOOK_ATTEMPTS: '2',
      };
    });

    afterAll(async () => {
      await tdb?.drop();
      await new Promise((r) => receiver?.close(r));
    });

    it('without a master key keeps secrets as before, and doctor warns', async () => {
      const s = await start();
      try {
        const t = await s.tenant('sealed');
        before.tenant = t.id;
        before.auth = t.auth;
        const res = await s.app.inject({
          method: 'POST',
          url: '/v1/webhooks',
          headers: t.auth,
          payload: { url: `${base}/old`, events: ['video.ready'] },
        });
        expect(res.statusCode, res.body).toBe(201);
        before.hook = res.json();
        const video = await s.ctx.videos.create(t.id, {}, { status: 'waiting_upload' });
        before.video = { id: video.id, generation: 'G0000000000000000000000000', key: randomBytes(16) };
        const sealedKey = s.ctx.box.seal(
          'hls-key',
          `${video.id}/${before.video.generation}`,
          before.video.key,
        );
        await s.ctx.db.primary
          .updateTable('videos')
          .set({
            generation: before.video.generation,
            published_generation: before.video.generation,
            hls_key: sealedKey,
            published_hls_key: sealedKey,
          })
          .where('id', '=', video.id)
          .execute();
        before.kid = (await mint(s)).kid;
        before.clusterSecret = s.ctx.secret;
        const r = await raw(s.ctx.db);
        expect(r.settings).toBe(s.ctx.secret);
        expect(r.webhooks[0]!.secret).toBe(before.hook.secret);
        expect(await states(s.ctx.db)).toEqual(Array(5).fill('clear'));
        const d = await delivered(s, '/old');
        expect(d.headers['webhook-signature']).toBe(expectedSignature(before.hook.secret, d));
      } finally {
        await s.close();
      }
      const doctor = await checkSecrets(loadConfig({}, { VOD_DB_URL: tdb.url }));
      expect(doctor).toMatchObject({ name: 'secrets', ok: true, warn: true });
      expect(doctor.detail).toMatch(/VOD_MASTER_KEY is not set: secrets are stored unsealed/);
    });

    it('seals every older secret on the first start with a master key; new webhooks are stored sealed and sign right', async () => {
      const s = await start({ VOD_MASTER_KEY: KEY_A });
      try {
        expect(s.ctx.secret).toBe(before.clusterSecret);
        expect(await states(s.ctx.db)).toEqual(Array(5).fill(kid(KEY_A)));
        const r = await raw(s.ctx.db);
        expect(r.settings).not.toContain(before.clusterSecret);
        expect(r.webhooks[0]!.secret).not.toContain(before.hook.secret.slice(6));
        // Old endpoint: still signed with the secret handed out before sealing.
        const d = await delivered(s, '/old');
        expect(d.headers['webhook-signature']).toBe(expectedSignature(before.hook.secret, d));
        // The HLS key and the managed signing key open to what they were.
        const row = await s.ctx.videos.repo.find(before.tenant, before.video.id);
        expect(keyOf(row!, before.video.generation, s.ctx.box)?.equals(before.video.key)).toBe(true);
        expect((await mint(s)).kid).toBe(before.kid);

        // A webhook created now: the raw column never holds the secret, deliveries are signed with it.
        const res = await s.app.inject({
          method: 'POST',
          url: '/v1/webhooks',
          headers: before.auth,
          payload: { url: `${base}/new`, events: ['video.ready'] },
        });
        expect(res.statusCode, res.body).toBe(201);
        const hook = res.json() as { id: string; secret: string };
        expect(hook.secret).toMatch(/^whsec_/);
        const stored = (await raw(s.ctx.db)).webhooks.find((w) => w.id === hook.id)!.secret;
        expect(stored.startsWith(`v1:${kid(KEY_A)}:`)).toBe(true);
        expect(stored).not.toContain(hook.secret);
        expect(stored).not.toContain(hook.secret.slice(6));
        const n = await delivered(s, '/new');
        expect(n.headers['webhook-signature']).toBe(expectedSignature(hook.secret, n));
        expect(n.headers['webhook-signature']).not.toBe(expectedSignature(before.hook.secret, n));
      } finally {
        await s.close();
      }
      const doctor = await checkSecrets(loadConfig({}, { VOD_DB_URL: tdb.url, VOD_MASTER_KEY: KEY_A }));
      expect(doctor).toMatchObject({ ok: true, warn: false, detail: `sealed with master key ${kid(KEY_A)}` });
    });

    it('refuses to start with a master key that cannot open the stored secrets, changing nothing', async () => {
      const db = createDatabase(tdb.url);
      try {
        const was = await states(db);
        for (const extra of [{ VOD_MASTER_KEY: KEY_C }, {}]) {
          const config = loadConfig({}, { VOD_DATA_DIR: '/tmp/vod-secrets-probe', ...env, ...extra });
          await expect(createContext(config, pino({ level: 'silent' }))).rejects.toThrow(
            /VOD_MASTER_KEY: cannot open the secrets stored in the database \(.*sealed with master key/,
          );
        }
        // As a user starts it: exit 78 (configuration) with the error naming the setting.
        const dir = mkdtempSync(path.join(tmpdir(), 'vod-secrets-'));
        const serve = await runCli(['serve'], {
          ...env,
          VOD_MASTER_KEY: KEY_C,
          VOD_DATA_DIR: dir,
          VOD_PORT: '0',
          VOD_LOG_LEVEL: 'silent',
        });
        rmSync(dir, { recursive: true, force: true });
        expect(serve.code, serve.stdout).toBe(78);
        expect(serve.stderr).toMatch(
          new RegExp(`VOD_MASTER_KEY: cannot open the secrets stored in the database \\(.*${kid(KEY_A)}`),
        );
        expect(await states(db)).toEqual(was);
      } finally {
        await db.close();
      }
    });

    it('detects a sealed value that was altered or moved to another row', async () => {
      const s = await start({ VOD_MASTER_KEY: KEY_A });
      try {
        const [one, two] = (await raw(s.ctx.db)).webhooks;
        const set = (id: string, secret: string) =>
          s.ctx.db.primary.updateTable('webhooks').set({ secret }).where('id', '=', id).execute();
        // Another endpoint's sealed secret copied into this row does not open (the row is bound).
        await set(one!.id, two!.secret);
        await expect(s.ctx.webhooks.test(before.tenant, one!.id)).rejects.toThrow(/fails authentication/);
        // One flipped byte of the ciphertext does not open either.
        const bytes = Buffer.from(one!.secret.split(':')[2]!, 'base64');
        bytes[bytes.length - 1]! ^= 1;
        await set(one!.id, `v1:${kid(KEY_A)}:${bytes.toString('base64')}`);
        await expect(s.ctx.webhooks.test(before.tenant, one!.id)).rejects.toThrow(/fails authentication/);
        await set(one!.id, one!.secret);
        expect((await s.ctx.webhooks.test(before.tenant, one!.id)).status).toBe('succeeded');
      } finally {
        await s.close();
      }
    });

    it('rotates with the CLI, resuming an interrupted run; the old key can then be dropped', async () => {
      const cli = (args: string[], extra: Record<string, string> = {}) =>
        runCli(['secrets', ...args], { VOD_DB_URL: tdb.url, VOD_LOG_LEVEL: 'silent', ...extra }, 60_000);
      const status = await cli(['status', '--json'], { VOD_MASTER_KEY: KEY_A });
      expect(status.code, status.stderr).toBe(0);
      const parsed = JSON.parse(status.stdout) as { currentKid: string; kinds: SealedStatus };
      expect(parsed.currentKid).toBe(kid(KEY_A));
      expect(parsed.kinds['webhook-secret']).toEqual({ unsealed: 0, byKid: { [kid(KEY_A)]: 2 } });
      expect(parsed.kinds['hls-key']).toEqual({ unsealed: 0, byKid: { [kid(KEY_A)]: 2 } });
      expect(total(parsed.kinds, kid(KEY_A))).toBe(6);

      // A rotation that stops after its first row: every value still opens with the ring (new + old).
      const ring = KeyRing.from(KEY_B, [KEY_A]);
      const db = createDatabase(tdb.url);
      try {
        const box = new SecretBox(ring, before.clusterSecret);
        let batches = 0;
        await expect(
          sealAll(db, box, {
            rotate: true,
            batch: 1,
            onBatch: (_kind, n) => {
              if (n && ++batches === 2) throw new Error('crash');
            },
          }),
        ).rejects.toThrow('crash');
        const mixed = await sealedStatus(db);
        expect(total(mixed, kid(KEY_B))).toBe(2);
        expect(total(mixed, kid(KEY_A))).toBe(4);
        const r = await raw(db);
        expect(box.openText('cluster-secret', 'secret', r.settings!)).toBe(before.clusterSecret);
        for (const w of r.webhooks) expect(box.openText('webhook-secret', w.id, w.secret)).toMatch(/^whsec_/);
        // doctor: a rotation to finish is a warning; a key the ring lacks is a failure.
        const doctor = (extra: Record<string, string>) =>
          checkSecrets(loadConfig({}, { VOD_DB_URL: tdb.url, ...extra }));
        expect(await doctor({ VOD_MASTER_KEY: KEY_B, VOD_MASTER_KEY_PREVIOUS: KEY_A })).toMatchObject({
          ok: true,
          warn: true,
          detail: `sealed with master key ${kid(KEY_B)}; 4 under previous key(s)`,
          fix: 'run `vodcloud secrets rotate`',
        });
        const lacking = await doctor({ VOD_MASTER_KEY: KEY_B });
        expect(lacking.ok).toBe(false);
        expect(lacking.detail).toContain(kid(KEY_A));
      } finally {
        await db.close();
      }

      const rotated = await cli(['rotate', '--batch', '2'], {
        VOD_MASTER_KEY: KEY_B,
        VOD_MASTER_KEY_PREVIOUS: KEY_A,
      });
      expect(rotated.code, rotated.stdout + rotated.stderr).toBe(0);
      expect(rotated.stdout).toMatch(/webhook-secret\s+re-sealed 1\b/);
      expect(rotated.stdout).toMatch(/hls-key\s+re-sealed 2\b/);
      expect(rotated.stdout).toMatch(/VOD_MASTER_KEY_PREVIOUS can be removed/);
      const again = await cli(['rotate'], { VOD_MASTER_KEY: KEY_B, VOD_MASTER_KEY_PREVIOUS: KEY_A });
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/hls-key\s+re-sealed 0\b/);
      const plain = await cli(['status'], { VOD_MASTER_KEY: KEY_B });
      expect(plain.stdout).toMatch(
        new RegExp(`webhook-secret\\s+unsealed 0\\s+sealed ${kid(KEY_B)}=2 \\(current\\)`),
      );

      // The old key dropped: everything still opens and signs as before.
      const s = await start({ VOD_MASTER_KEY: KEY_B });
      try {
        expect(s.ctx.secret).toBe(before.clusterSecret);
        expect(await states(s.ctx.db)).toEqual(Array(6).fill(kid(KEY_B)));
        const d = await delivered(s, '/old');
        expect(d.headers['webhook-signature']).toBe(expectedSignature(before.hook.secret, d));
        const row = await s.ctx.videos.repo.find(before.tenant, before.video.id);
        expect(keyOf(row!, before.video.generation, s.ctx.box)?.equals(before.video.key)).toBe(true);
        expect((await mint(s)).kid).toBe(before.kid);
      } finally {
        await s.close();
      }
      // And the old key alone no longer opens them.
      const old = await cli(['rotate'], { VOD_MASTER_KEY: KEY_A });
      expect(old.code).toBe(78);
      expect(old.stderr).toMatch(/VOD_MASTER_KEY: cannot open the secrets stored in the database/);
    }, 120_000);
  });
}

describe('vodcloud secrets and start-up, as a user runs them', () => {
  it('generate-master-key prints a key the settings accept; a malformed key is refused without echoing it', async () => {
    const g = await runCli(['secrets', 'generate-master-key'], {});
    expect(g.code).toBe(0);
    const key = g.stdout.trim();
    expect(parseMasterKey(key).key).toHaveLength(32);
    expect(key).not.toBe((await runCli(['secrets', 'generate-master-key'], {})).stdout.trim());
    const bad = await runCli(['secrets', 'status'], { VOD_MASTER_KEY: 'not-a-key-but-secret-text' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/VOD_MASTER_KEY must be 32 random bytes/);
    expect(bad.stderr).not.toContain('not-a-key-but-secret-text');
  });
});
