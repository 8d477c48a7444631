import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Config } from './config';
import { createDatabase, redactUrl } from './db/connect';
import { sealedStatus } from './db/sealed-values';
import { KeyRing } from './lib/secretbox';

const run = promisify(execFile);

export interface DoctorResult {
  name: string;
  ok: boolean;
  /** Works, but should be changed (printed as `warn`; does not fail doctor). */
  warn?: boolean;
  detail: string;
  fix?: string;
}

export type DoctorStatus = 'ok' | 'warn' | 'fail';

export const statusOf = (r: DoctorResult): DoctorStatus => (!r.ok ? 'fail' : r.warn ? 'warn' : 'ok');

const REQUIRED_ENCODERS = ['libx264', 'aac'];

export async function checkFfmpeg(): Promise<DoctorResult[]> {
  const results: DoctorResult[] = [];
  const fix =
    'install ffmpeg 5 or newer: apt-get install -y ffmpeg (or set VOD_FFMPEG_PATH / VOD_FFPROBE_PATH)';
  for (const [name, bin] of [
    ['ffmpeg', process.env.VOD_FFMPEG_PATH ?? 'ffmpeg'],
    ['ffprobe', process.env.VOD_FFPROBE_PATH ?? 'ffprobe'],
  ] as const) {
    try {
      const { stdout } = await run(bin, ['-hide_banner', '-version'], { timeout: 10_000 });
      const version = /version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
      results.push({ name, ok: true, detail: `${bin} version ${version}` });
    } catch (err) {
      results.push({
        name,
        ok: false,
        detail: `${bin} not runnable: ${(err as Error).message.split('\n')[0]}`,
        fix,
      });
    }
  }
  if (results[0]?.ok) {
    const { stdout } = await run(process.env.VOD_FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-encoders'], {
      timeout: 10_000,
      maxBuffer: 4 << 20,
    });
    const names = new Set(
      stdout
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[1])
        .filter(Boolean),
    );
    const missing = REQUIRED_ENCODERS.filter((e) => !names.has(e));
    const optional = ['libx265', 'libvpx-vp9', 'libsvtav1', 'h264_nvenc', 'h264_vaapi', 'h264_qsv'].filter(
      (e) => names.has(e),
    );
    results.push(await checkDecoders(), {
      name: 'encoders',
      ok: missing.length === 0,
      detail: missing.length
        ? `missing ${missing.join(', ')}`
        : `${REQUIRED_ENCODERS.join(', ')} present; also compiled in: ${optional.join(', ') || 'none'}`,
      fix: missing.length
        ? 'install a full ffmpeg build with libx264 and the native aac encoder (Debian: apt-get install ffmpeg)'
        : undefined,
    });
  }
  return results;
}

/** Decoders of the sources the pipeline takes: h264 and aac are needed; the others only for such sources. */
const REQUIRED_DECODERS = ['h264', 'aac'];
const SOURCE_DECODERS = ['hevc', 'vp9', 'av1', 'mpeg4', 'mpeg2video', 'prores', 'mp3', 'opus'];

async function checkDecoders(): Promise<DoctorResult> {
  const { stdout } = await run(process.env.VOD_FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-decoders'], {
    timeout: 10_000,
    maxBuffer: 4 << 20,
  });
  // "V....D av1   Alliance …" and "V..... libdav1d  dav1d AV1 decoder (codec av1)": a decoder of a codec.
  const codecs = new Set<string>();
  for (const l of stdout.split('\n')) {
    const m = /^\s*[VAS][.A-Z]{5}\s+(\S+)\s+.*?(?:\(codec (\S+)\))?\s*$/.exec(l);
    if (m) codecs.add(m[2] ?? m[1]!);
  }
  const missing = REQUIRED_DECODERS.filter((d) => !codecs.has(d));
  const absent = SOURCE_DECODERS.filter((d) => !codecs.has(d));
  return {
    name: 'decoders',
    ok: missing.length === 0,
    warn: missing.length === 0 && absent.length > 0,
    detail: missing.length
      ? `cannot decode ${missing.join(', ')}`
      : `decodes ${[...REQUIRED_DECODERS, ...SOURCE_DECODERS.filter((d) => codecs.has(d))].join(', ')}` +
        (absent.length ? `; sources in ${absent.join(', ')} will fail (no decoder)` : ''),
    fix:
      missing.length || absent.length
        ? 'install a full ffmpeg build (Debian: apt-get install ffmpeg)'
        : undefined,
  };
}

export async function checkDatabase(config: Config): Promise<DoctorResult> {
  const db = createDatabase(config.dbUrl, {
    replicaUrl: config.dbReplicaUrl,
    timeoutMs: Math.min(config.dbTimeoutMs, 5000),
  });
  try {
    const h = await db.health();
    return {
      name: 'database',
      ok: h.ok,
      detail: `${redactUrl(config.dbUrl)}: ${h.detail}`,
      fix: h.ok
        ? undefined
        : 'check VOD_DB_URL: is the server running and reachable, do the user and database exist?',
    };
  } finally {
    await db.close();
  }
}

/** Secrets at rest: sealed with a master key, or a warning that they are not. */
export async function checkSecrets(config: Config): Promise<DoctorResult> {
  const ring = KeyRing.from(config.masterKeys.current, config.masterKeys.previous);
  const fix =
    'set VOD_MASTER_KEY to the output of `vodcloud secrets generate-master-key`, kept outside the database';
  if (!ring.current)
    return {
      name: 'secrets',
      ok: true,
      warn: true,
      detail:
        'VOD_MASTER_KEY is not set: secrets are stored unsealed (webhook secrets and the generated cluster ' +
        'secret in clear, HLS and signing keys only under the cluster secret kept beside them)',
      fix,
    };
  const db = createDatabase(config.dbUrl, { timeoutMs: Math.min(config.dbTimeoutMs, 5000) });
  try {
    const status = await sealedStatus(db);
    let unsealed = 0;
    const old = new Map<string, number>();
    for (const s of Object.values(status)) {
      unsealed += s.unsealed;
      for (const [kid, n] of Object.entries(s.byKid))
        if (kid !== ring.current.kid) old.set(kid, (old.get(kid) ?? 0) + n);
    }
    const unknown = [...old.keys()].filter((k) => !ring.has(k));
    if (unknown.length)
      return {
        name: 'secrets',
        ok: false,
        detail: `secrets sealed with master key(s) ${unknown.join(', ')}, which the ring does not hold`,
        fix: 'set VOD_MASTER_KEY (or VOD_MASTER_KEY_PREVIOUS) to the key they were sealed with',
      };
    const pending = [
      unsealed ? `${unsealed} not sealed yet (sealed at the next start)` : '',
      old.size ? `${[...old.values()].reduce((a, b) => a + b, 0)} under previous key(s)` : '',
    ].filter(Boolean);
    return {
      name: 'secrets',
      ok: true,
      warn: pending.length > 0,
      detail: `sealed with master key ${ring.current.kid}${pending.length ? `; ${pending.join('; ')}` : ''}`,
      fix: old.size ? 'run `vodcloud secrets rotate`' : undefined,
    };
  } catch (err) {
    if (/no such table|doesn't exist|does not exist/i.test((err as Error).message))
      return {
        name: 'secrets',
        ok: true,
        detail: `master key ${ring.current.kid} (database not migrated yet)`,
      };
    throw err;
  } finally {
    await db.close();
  }
}

export type DoctorCheck = (config: Config) => Promise<DoctorResult | DoctorResult[]>;

/** Port checks register here so doctor covers whatever is configured. */
export const portChecks: DoctorCheck[] = [];

/** Every check in order: ffmpeg, database, secrets, the ports here, then `extra` (the engine round trips). */
export async function runDoctor(config: Config, extra: DoctorCheck[] = []): Promise<DoctorResult[]> {
  const checks: DoctorCheck[] = [() => checkFfmpeg(), checkDatabase, checkSecrets, ...portChecks, ...extra];
  const results: DoctorResult[] = [];
  for (const check of checks) {
    try {
      const r = await check(config);
      results.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      results.push({ name: check.name || 'check', ok: false, detail: (err as Error).message });
    }
  }
  return results;
}

export async function portHealth(
  name: string,
  setting: string,
  url: string,
  open: () => Promise<{ health(): Promise<{ ok: boolean; detail: string }>; close(): Promise<void> }>,
  fix: string,
): Promise<DoctorResult> {
  let port: Awaited<ReturnType<typeof open>> | undefined;
  try {
    port = await open();
    const h = await port.health();
    return {
      name,
      ok: h.ok,
      detail: `${setting}=${redactUrl(url)}: ${h.detail}`,
      fix: h.ok ? undefined : fix,
    };
  } catch (err) {
    return { name, ok: false, detail: `${setting}=${redactUrl(url)}: ${(err as Error).message}`, fix };
  } finally {
    await port?.close().catch(() => undefined);
  }
}

// Storage, queue and registry are checked by round trips (commands/doctor-engines.ts); the cache by its health.
portChecks.push(async (config) => {
  const { createCache } = await import('./ports/cache');
  return portHealth(
    'cache',
    'VOD_CACHE_URL',
    config.cacheUrl,
    () => createCache(config.cacheUrl),
    'is Redis running and reachable at that address?',
  );
});
