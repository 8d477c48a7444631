/**
 * A worker in a process of its own, for the conformance suite's killed-worker test:
 *   node --import tsx test-child.ts <db|redis://…> <dbUrl|prefix> <leaseMs>
 * It claims `lease.slow`, prints `claimed <id>`, and holds the job (renewing its lease) until killed.
 */
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { createDatabase } from '../../db/connect';
import { createJobQueue } from './index';

const [queueUrl, where, leaseMs] = process.argv.slice(2);
if (!queueUrl || !where || !leaseMs) {
  console.error('usage: test-child.ts <db|redis://…> <dbUrl|prefix> <leaseMs>');
  process.exit(2);
}
const db = queueUrl === 'db' ? createDatabase(where) : undefined;
const queue = await createJobQueue(queueUrl, {
  db,
  prefix: queueUrl === 'db' ? undefined : where,
  leaseMs: Number(leaseMs),
});
queue.define('lease.slow', {
  queue: 'io',
  schema: z.object({ file: z.string(), holdMs: z.number() }),
  handler: async (p, ctx) => {
    process.stdout.write(`claimed ${ctx.jobId}\n`);
    await new Promise((r) => setTimeout(r, p.holdMs));
    await appendFile(p.file, `child attempt ${ctx.attempt}\n`);
    return 'finished in child';
  },
});
await queue.start({ concurrency: { cpu: 0, io: 1, fast: 0 } });
