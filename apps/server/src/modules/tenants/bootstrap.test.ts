// Nodes of a cluster starting together on one empty database (Compose, Kubernetes): the admin key is
// made once. With VOD_ADMIN_API_KEY every node succeeds and there is one row; without it exactly one node
// makes (and prints) a first-start key. Found by the Compose cluster: the second node exited on a
// duplicate key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { createDatabase, type Database } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { TemplateRepository } from '../templates/repository';
import { TemplateService } from '../templates/service';
import { TenantRepository } from './repository';
import { TenantService } from './service';

const NODES = 6;

for (const engine of databaseEngines('admin key bootstrap suite')) {
  describe.skipIf(!engine.available)(`admin key bootstrap on ${engine.engine}`, () => {
    let tdb: TestDatabase;
    const dbs: Database[] = [];
    /** One TenantService per "node", each on its own connection pool. */
    const nodes = () =>
      Array.from({ length: NODES }, () => {
        const db = createDatabase(tdb.url);
        dbs.push(db);
        return new TenantService(new TenantRepository(db), new TemplateService(new TemplateRepository(db)));
      });
    const adminRows = async () =>
      dbs[0]!.primary
        .selectFrom('api_keys')
        .select(['id', 'name', 'revoked_at'])
        .where('tenant_id', 'is', null)
        .execute();

    /** All at once on a server database; one after the other on SQLite (one node per database file). */
    const startAll = async (services: TenantService[], key: string | undefined) => {
      if (engine.engine !== 'sqlite') return Promise.all(services.map((n) => n.bootstrapAdmin(key)));
      const out = [];
      for (const n of services) out.push(await n.bootstrapAdmin(key));
      return out;
    };

    beforeAll(async () => {
      tdb = await engine.create();
      const db = createDatabase(tdb.url);
      dbs.push(db);
      await migrateToLatest(db.primary as never);
    });
    afterAll(async () => {
      for (const db of dbs) await db.close();
      await tdb?.drop();
    });

    it('without VOD_ADMIN_API_KEY: exactly one of the nodes makes a first-start key; once all are revoked, a start makes a new one', async () => {
      const results = await startAll(nodes(), undefined);
      const made = results.filter((r) => r?.createdKey);
      expect(made).toHaveLength(1);
      expect((await adminRows()).filter((r) => r.revoked_at === null)).toHaveLength(1);
      const [node] = nodes();
      expect(await node!.authenticate(made[0]!.createdKey!)).toMatchObject({ scopes: ['admin'] });
      // Revoke it: the next start makes a new first-start key (the way back in).
      await dbs[0]!.primary.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).execute();
      const again = await startAll(nodes(), undefined);
      expect(again.filter((r) => r?.createdKey)).toHaveLength(1);
      expect((await adminRows()).filter((r) => r.revoked_at === null)).toHaveLength(1);
    });

    it('with VOD_ADMIN_API_KEY: every node starts, and the key is one row', async () => {
      const key = `cluster-admin-key-${Date.now()}-0123456789`;
      const results = await startAll(nodes(), key);
      expect(new Set(results.map((r) => r?.keyId)).size).toBe(1);
      const rows = (await adminRows()).filter((r) => r.name === 'VOD_ADMIN_API_KEY');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe(results[0]!.keyId);
    });
  });
}
