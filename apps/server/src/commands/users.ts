// `vodcloud users …`: console users made from the command line (a tenant's first owner, platform admins).
// The password comes from standard input, never from the command line (it would show in `ps` and history).
import { type Command, InvalidArgumentError } from 'commander';
import type { AppContext } from '../context';
import { ROLES } from '../modules/accounts/service';

type WithContext = <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>;

/** All of standard input, less one trailing newline (`echo pw |` and a typed line end in one). */
export async function readPassword(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerUsersCommand(program: Command, withContext: WithContext): void {
  const users = program.command('users').description('manage console users');
  users
    .command('create')
    .description(
      'create a user of a tenant with a role, or a platform admin (--admin); the password is read from stdin',
    )
    .option('--tenant <id>', 'the tenant the user belongs to')
    .option('--role <role>', `the role in the tenant: ${ROLES.join(', ')}`)
    .option('--admin', 'create a platform admin instead (no tenant; manages tenants)')
    .requiredOption('--email <email>', "the user's email (the sign-in name)")
    .option('--name <name>', 'the name shown (default: the part of the email before @)')
    .option('--password-stdin', 'read the password from standard input (required)')
    .action(
      async (opts: {
        tenant?: string;
        role?: string;
        admin?: boolean;
        email: string;
        name?: string;
        passwordStdin?: boolean;
      }) => {
        if (!opts.passwordStdin)
          throw new InvalidArgumentError('give --password-stdin and the password on standard input');
        if (opts.admin && (opts.tenant || opts.role))
          throw new InvalidArgumentError('--admin takes no --tenant or --role');
        if (!opts.admin && (!opts.tenant || !opts.role))
          throw new InvalidArgumentError('give --tenant ID and --role ROLE, or --admin');
        if (opts.role && !(ROLES as readonly string[]).includes(opts.role))
          throw new InvalidArgumentError(`--role must be one of ${ROLES.join(', ')}`);
        const password = await readPassword();
        await withContext(async (ctx) => {
          const u = await ctx.accounts.createUser({
            tenantId: opts.admin ? null : opts.tenant!,
            email: opts.email,
            name: opts.name,
            role: opts.admin ? null : (opts.role as (typeof ROLES)[number]),
            password,
          });
          ctx.audit.recordCommand({
            command: 'users create',
            action: 'user.create',
            tenantId: u.tenantId,
            target: { type: 'user', id: u.id },
          });
          console.log(JSON.stringify(u, null, 2));
        });
      },
    );
  users
    .command('list')
    .description('list users (of one tenant with --tenant), newest first')
    .option('--tenant <id>', 'only the users of this tenant')
    .option('--limit <n>', 'how many', '100')
    .action(async (opts: { tenant?: string; limit: string }) => {
      await withContext(async (ctx) => {
        for (const u of (await ctx.accounts.listUsers(opts.tenant, Number(opts.limit))).slice(
          0,
          Number(opts.limit),
        ))
          console.log(
            [u.id, u.email, u.platformAdmin ? 'platform-admin' : u.role, u.tenantId ?? '-', u.name].join(
              '\t',
            ),
          );
      });
    });
}
