// `vodcloud doctor [--json]`: every check of this node's configuration, each ok, warn or fail with a line
// of explanation and, when not ok, a fix; exit 1 when one fails.
import { type Command, Option } from 'commander';
import type { Config } from '../config';
import { runDoctor, statusOf } from '../doctor';
import { EXIT, emit } from './api';
import { engineChecks } from './doctor-engines';
import { parseDuration } from './format';

export function registerDoctorCommand(program: Command, config: () => Config): void {
  program
    .command('doctor')
    .description(
      'check ffmpeg (encoders, decoders), the database, secrets at rest, the cache, and by round trips ' +
        'the storage (write, read, delete), the queue (a job a worker completes), the registry session ' +
        'and the clock skew between nodes; exit 1 if a check fails (warn does not)',
    )
    .option('--json', 'print {ok, checks: [{name, status, detail, fix}]} on stdout')
    .addOption(
      new Option(
        '--probe-timeout <duration>',
        'how long to wait for a worker to take the probe job, and for nodes to report their clocks',
      )
        .argParser(parseDuration)
        .default(10_000, '10s'),
    )
    .action(async (o: { json?: boolean; probeTimeout: number }) => {
      const results = await runDoctor(config(), engineChecks({ waitMs: o.probeTimeout }));
      const checks = results.map((r) => ({
        name: r.name,
        status: statusOf(r),
        detail: r.detail,
        fix: statusOf(r) === 'ok' ? null : (r.fix ?? null),
      }));
      const failed = checks.filter((c) => c.status === 'fail').length;
      const warned = checks.filter((c) => c.status === 'warn').length;
      emit(o.json, { ok: failed === 0, checks }, () => {
        const lines = checks.map(
          (c) =>
            `${{ ok: 'ok  ', warn: 'warn', fail: 'FAIL' }[c.status]}  ${c.name.padEnd(10)} ${c.detail}\n` +
            (c.fix ? `      fix: ${c.fix}\n` : ''),
        );
        const sum = failed
          ? `${failed} problem(s) found`
          : `all checks passed${warned ? ` (${warned} warning(s))` : ''}`;
        return `${lines.join('')}\n${sum}\n`;
      });
      process.exitCode = failed ? EXIT.error : EXIT.ok;
    });
}
