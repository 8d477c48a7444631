import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { registerBackupCommands } from './commands/backup';
import { registerDbCommand } from './commands/db';
import { registerDoctorCommand } from './commands/doctor';
import { registerSecretsCommand } from './commands/secrets';
import { registerStatusCommand } from './commands/status';
import { registerUploadCommand } from './commands/upload';
import { registerUsersCommand } from './commands/users';
import { registerVideosCommand } from './commands/videos';
import { type Config, ConfigError, loadConfig, ROLES } from './config';
import { closeContext, createContext } from './context';
import { createDatabase } from './db/connect';
import { migrateToLatest } from './db/migrate';
import { VERSION } from './http/app';
import { startServer } from './server';

function config(overrides: Record<string, string | undefined> = {}): Config {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  return loadConfig(process.env, defined);
}

async function withContext<T>(
  fn: (ctx: Awaited<ReturnType<typeof createContext>>) => Promise<T>,
): Promise<T> {
  const ctx = await createContext(config(), pino({ level: 'warn' }));
  try {
    return await fn(ctx);
  } finally {
    await closeContext(ctx);
  }
}

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return String(n);
};

const program = new Command()
  .name('vodcloud')
  .description(
    'vodcloud: a self-hosted video-on-demand cloud. Settings come from VOD_* environment variables.',
  )
  .version(VERSION)
  // Errors of the command line itself (unknown option, missing argument, bad value) exit 2, not 1.
  .exitOverride()
  .option('-c, --config <file>', 'a JSON file of settings (env names as keys); the environment overrides it')
  .hook('preAction', (cmd) => {
    const file = cmd.opts().config as string | undefined;
    if (file) process.env.VOD_CONFIG_FILE = file;
  });

program
  .command('serve')
  .description('run the given roles (default: all of them in one process, on embedded defaults)')
  .addOption(new Option('--roles <list>', `comma-separated roles: ${ROLES.join(', ')}`))
  .option('-p, --port <n>', 'HTTP port (VOD_PORT, default 8080)', port)
  .action(async (opts: { roles?: string; port?: string }) => {
    const cfg = config({ VOD_ROLES: opts.roles, VOD_PORT: opts.port });
    // Signals are handled from the first moment: a stop requested during start-up stops once started.
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    let stopRequested: string | undefined;
    let signals = 0;
    const stop = (sig: string) =>
      server!.stop(sig).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    const onSignal = (sig: string) => {
      if (++signals > 1) process.exit(130); // a second Ctrl-C forces
      if (server) stop(sig);
      else stopRequested = sig;
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
    server = await startServer(cfg); // logs where it serves, and a first start's admin key
    if (stopRequested) stop(stopRequested);
  });

program
  .command('migrate')
  .description('apply database migrations up to the latest and exit')
  .action(async () => {
    const cfg = config();
    const db = createDatabase(cfg.dbUrl, { timeoutMs: cfg.dbTimeoutMs });
    try {
      const result = await migrateToLatest(db.primary as never);
      const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database already up to date');
    } finally {
      await db.close();
    }
  });

const tenants = program.command('tenants').description('manage tenants');
tenants
  .command('create <name>')
  .description('create a tenant (with its default template) and print its id')
  .action(async (name: string) => {
    await withContext(async (ctx) => {
      const t = await ctx.tenants.createTenant(name);
      ctx.audit.recordCommand({
        command: 'tenants create',
        action: 'tenant.create',
        tenantId: t.id,
        target: { type: 'tenant', id: t.id },
      });
      console.log(JSON.stringify(t, null, 2));
    });
  });
tenants
  .command('list')
  .description('list tenants, newest first')
  .option('--limit <n>', 'how many', '100')
  .action(async (opts: { limit: string }) => {
    await withContext(async (ctx) => {
      for (const t of await ctx.tenants.listTenants(Number(opts.limit)))
        console.log(`${t.id}\t${t.name}\t${t.createdAt}`);
    });
  });

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key and print it once')
  .option('--tenant <id>', 'the tenant the key belongs to')
  .option('--scopes <list>', 'read, write or read,write', 'read,write')
  .option('--admin', 'create a platform admin key instead (manages tenants)')
  .option('--name <name>', 'a label for the key', 'cli')
  .action(async (opts: { tenant?: string; scopes: string; admin?: boolean; name: string }) => {
    if (!opts.admin && !opts.tenant) throw new InvalidArgumentError('give --tenant ID, or --admin');
    const scopes = opts.scopes.split(',').map((s) => s.trim());
    if (!opts.admin && scopes.some((s) => s !== 'read' && s !== 'write'))
      throw new InvalidArgumentError('--scopes must be read, write or read,write');
    await withContext(async (ctx) => {
      const k = opts.admin
        ? await ctx.tenants.createKey(null, opts.name, ['admin'])
        : await ctx.tenants.createKey(opts.tenant!, opts.name, scopes as Array<'read' | 'write'>);
      ctx.audit.recordCommand({
        command: 'keys create',
        action: 'api_key.create',
        tenantId: opts.admin ? null : opts.tenant!,
        target: { type: 'api_key', id: k.id },
      });
      console.log(JSON.stringify(k, null, 2));
      console.error('The key is shown only now; store it.');
    });
  });

registerUsersCommand(program, withContext);
registerDoctorCommand(program, () => config());
registerVideosCommand(program);
registerStatusCommand(program);
registerUploadCommand(program);
registerSecretsCommand(program, () => config());
registerDbCommand(program, () => config());
registerBackupCommands(program, () => config());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Thrown by an action: commander has not printed it.
  if (err instanceof InvalidArgumentError) {
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  // Printed by commander already. Help and --version exit 0; cmd.error() chose its own code; a parse
  // error (unknown option, missing argument, bad value) is a usage error: 2.
  if (err instanceof CommanderError)
    process.exit(err.exitCode === 1 && err.code !== 'commander.error' ? 2 : err.exitCode);
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}
