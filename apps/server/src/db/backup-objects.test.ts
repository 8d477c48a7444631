// The object manifest and its check, on the file store and on a real S3 engine: more than one listing page,
// sha256 as each object streams, and a missing object, one of another size and one of other bytes (same
// size) told apart; --quick (size only) does not see the last.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore, type ObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { engineUrl } from '../../../../test/support/engines';
import { verifyObjects, writeObjectManifest } from './backup-objects';

const dir = mkdtempSync(path.join(tmpdir(), 'vodbackupobj-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const s3Endpoint = engineUrl('s3', 'backup object manifest on S3');

const stores: Array<{ name: string; available: boolean; open(): Promise<ObjectStore> }> = [
  { name: 'file', available: true, open: () => createObjectStore(`file:${path.join(dir, 'objects')}`) },
  {
    name: 's3',
    available: !!s3Endpoint,
    async open() {
      const bucket = `vod-backup-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
      const store = (await createObjectStore(`s3://${bucket}?endpoint=${s3Endpoint}`, {
        env: {
          VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
          VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
        },
      })) as S3ObjectStore;
      await store.ensureBucket();
      return store;
    },
  },
];

for (const s of stores) {
  describe.skipIf(!s.available)(`object manifest on ${s.name}`, () => {
    it('records every object with its sha256 and tells missing from different', async () => {
      const store = await s.open();
      try {
        const bodies = new Map<string, Buffer>();
        for (let i = 0; i < 1005; i++)
          bodies.set(`t/v${String(i).padStart(4, '0')}/source`, randomBytes(i % 50));
        const keys = [...bodies.keys()];
        for (let i = 0; i < keys.length; i += 50)
          await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, bodies.get(k)!)));
        const file = path.join(dir, `${s.name}.jsonl`);
        const written = await writeObjectManifest(store, file, { checksums: true });
        expect(written.count).toBe(1005);
        const lines = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines.map((l) => l.key)).toEqual(keys);
        const sample = lines[7];
        expect(sample.sha256).toBe(createHash('sha256').update(bodies.get(sample.key)!).digest('hex'));
        expect(await verifyObjects(store, file, { quick: false })).toMatchObject({
          total: 1005,
          ok: 1005,
          missing: 0,
          different: 0,
        });

        await store.delete(keys[10]!);
        await store.put(keys[20]!, Buffer.concat([bodies.get(keys[20]!)!, Buffer.from('x')]));
        const same = Buffer.from(bodies.get(keys[49]!)!);
        same[0] = same[0]! ^ 0xff;
        await store.put(keys[49]!, same);
        const full = await verifyObjects(store, file, { quick: false });
        expect(full).toMatchObject({ ok: 1002, missing: 1, different: 2 });
        expect(full.problems).toEqual([
          `missing: ${keys[10]}`,
          `different size: ${keys[20]} (${bodies.get(keys[20]!)!.length + 1} bytes, ${bodies.get(keys[20]!)!.length} in the backup)`,
          expect.stringMatching(new RegExp(`^different content: ${keys[49]} `)),
        ]);
        expect(await verifyObjects(store, file, { quick: true })).toMatchObject({
          ok: 1003,
          missing: 1,
          different: 1,
        });

        const sizesOnly = path.join(dir, `${s.name}-sizes.jsonl`);
        await writeObjectManifest(store, sizesOnly, { checksums: false });
        expect(JSON.parse(readFileSync(sizesOnly, 'utf8').split('\n')[0]!)).not.toHaveProperty('sha256');
      } finally {
        await store.deletePrefix('');
        if (store.kind === 's3') await (store as S3ObjectStore).removeBucket();
        await store.close();
      }
    }, 120_000);
  });
}
