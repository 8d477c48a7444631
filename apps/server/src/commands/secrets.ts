// `vodcloud secrets …`: the master key sealing secrets at rest (lib/secretbox.ts), its rotation and status.
import { type Command, InvalidArgumentError } from 'commander';
import { type Config, ConfigError } from '../config';
import { createDatabase, type Database } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { assertRingOpens, type SealedStatus, sealAll, sealedStatus } from '../db/sealed-values';
import { generateMasterKey, KeyRing, SEALED_KINDS, SecretBox } from '../lib/secretbox';
import { ensureSecret } from '../ports';

const batchSize = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be 1-10000');
  return n;
};

/** `migrate`: rotate writes sealed values, which need migration 015 (a wider webhooks.secret). */
async function withDatabase<T>(
  cfg: Config,
  fn: (db: Database) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  const db = createDatabase(cfg.dbUrl, { timeoutMs: cfg.dbTimeoutMs });
  try {
    if (opts.migrate) await migrateToLatest(db.primary as never);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** `kind  unsealed N  sealed kid=N (current), …` per kind. */
export function statusLines(status: SealedStatus, ring: KeyRing): string[] {
  const label = (kid: string) =>
    kid === ring.current?.kid ? 'current' : ring.has(kid) ? 'previous' : 'NOT IN THE RING';
  return Object.keys(SEALED_KINDS).map((kind) => {
    const s = status[kind as keyof SealedStatus];
    const sealed = Object.entries(s.byKid).map(([kid, n]) => `${kid}=${n} (${label(kid)})`);
    return `${kind.padEnd(15)} unsealed ${String(s.unsealed).padEnd(6)} sealed ${sealed.join(', ') || '0'}`;
  });
}

async function rotate(cfg: Config, batch: number): Promise<number> {
  if (!cfg.masterKeys.current)
    throw new ConfigError([
      'VOD_MASTER_KEY: rotate seals under VOD_MASTER_KEY (the new key); give the old one(s) in VOD_MASTER_KEY_PREVIOUS',
    ]);
  const ring = KeyRing.from(cfg.masterKeys.current, cfg.masterKeys.previous);
  return withDatabase(
    cfg,
    async (db) => {
      await assertRingOpens(db, ring);
      const box = new SecretBox(ring, await ensureSecret(db, cfg, ring));
      const kid = ring.current!.kid;
      console.log(`sealing every secret under master key ${kid}, ${batch} rows at a time`);
      const report = await sealAll(db, box, { rotate: true, batch });
      for (const [kind, c] of Object.entries(report.counts))
        console.log(`${kind.padEnd(15)} re-sealed ${c.sealed}${c.failed ? `, FAILED ${c.failed}` : ''}`);
      for (const f of report.failures) console.error(`cannot open: ${f}`);
      const after = await sealedStatus(db);
      console.log('\nnow:');
      for (const line of statusLines(after, ring)) console.log(`  ${line}`);
      const left = Object.values(after).reduce(
        (n, s) => n + s.unsealed + Object.entries(s.byKid).reduce((m, [k, c]) => m + (k === kid ? 0 : c), 0),
        0,
      );
      if (left === 0) {
        console.log(`\nevery secret is sealed under ${kid}: VOD_MASTER_KEY_PREVIOUS can be removed`);
        return 0;
      }
      console.log(`\n${left} value(s) are not under ${kid} yet: run rotate again (it resumes)`);
      return 1;
    },
    { migrate: true },
  );
}

export function registerSecretsCommand(program: Command, config: () => Config): void {
  const secrets = program
    .command('secrets')
    .description('the master key (VOD_MASTER_KEY) that seals secrets stored in the database');
  secrets
    .command('generate-master-key')
    .description('print a new random master key (32 bytes, base64url) for VOD_MASTER_KEY')
    .action(() => console.log(generateMasterKey()));
  secrets
    .command('status')
    .description('count the stored secrets per kind: unsealed, and sealed per master key id')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const cfg = config();
      const ring = KeyRing.from(cfg.masterKeys.current, cfg.masterKeys.previous);
      const status = await withDatabase(cfg, sealedStatus);
      if (opts.json) {
        console.log(JSON.stringify({ currentKid: ring.current?.kid ?? null, kinds: status }, null, 2));
        return;
      }
      console.log(
        ring.current
          ? `VOD_MASTER_KEY: key ${ring.current.kid}; previous: ${ring.kids.filter((k) => k !== ring.current!.kid).join(', ') || 'none'}`
          : 'VOD_MASTER_KEY is not set: new secrets are stored unsealed',
      );
      for (const line of statusLines(status, ring)) console.log(line);
    });
  secrets
    .command('rotate')
    .description(
      're-seal every stored secret under VOD_MASTER_KEY (old keys in VOD_MASTER_KEY_PREVIOUS), in batches; ' +
        'safe to interrupt and run again; running nodes keep working if they hold both keys',
    )
    .option('--batch <n>', 'rows read per batch', batchSize, 200)
    .action(async (opts: { batch: number }) => {
      process.exitCode = await rotate(config(), opts.batch);
    });
}
