// The benchmark harness: `npm run bench -- <name> [options]` runs bench/<name>.ts.
import { ensureTools } from './lib/tools';

const BENCHMARKS: Record<
  string,
  {
    about: string;
    /** Programs it runs besides vodcloud: installed first when missing (lib/tools.ts). */
    tools?: readonly string[];
    load: () => Promise<{ main(argv: string[]): Promise<void> }>;
  }
> = {
  upload: {
    tools: ['nginx', 'curl'],
    about: 'tus upload into vodcloud vs curl PUT into nginx WebDAV; peak RSS; finalize time',
    load: () => import('./upload'),
  },
  ladder: {
    tools: ['ffmpeg', 'ffprobe'],
    about: '60 s 1080p30 clip: upload complete → ready vs one ffmpeg for the ladder and ffmpeg per rendition',
    load: () => import('./ladder'),
  },
  rpc: {
    about:
      'RPC between two processes over ZooKeeper: calls/s and p99 with accounting on/off; provider death → removal',
    load: () => import('./rpc'),
  },
  playable: {
    tools: ['ffmpeg', 'ffprobe'],
    about:
      '60 s 1080p30 H.264 and HEVC uploads: upload complete → master playlist / first segment servable; --cpu, --workers',
    load: () => import('./playable'),
  },
  seek: {
    tools: ['ffmpeg', 'ffprobe', 'chromium'],
    about:
      'seek into a 60 s 1080p video still processing, hls.js defaults in Chromium: seek → playing, idle and under a backlog',
    load: () => import('./seek'),
  },
  footprint: {
    about:
      'idle RSS and start → ready of serve: checkout (tsx) vs production build (dist); run npm run build first',
    load: () => import('./footprint'),
  },
  delivery: {
    tools: ['nginx', 'wrk', 'ffmpeg'],
    about:
      'HLS delivery of a signed video (~3 MB segment, media playlist) under wrk: vodcloud direct, the nginx front of deploy/nginx (with and without its authorisation cache), nginx static',
    load: () => import('./delivery'),
  },
  console: {
    about:
      'web console: bundle sizes (initial JS vs budget, lazy chunks) and the library TTI with 1000 videos vs 25',
    load: () => import('./console'),
  },
  beacons: {
    about:
      'beacon ingest (SQLite+memory vs PostgreSQL+Redis): accepted/s, p99, counted back; roll-up of 1M beacons',
    load: () => import('./beacons'),
  },
  detection: {
    tools: ['ffmpeg', 'ffprobe'],
    about:
      'detection of a 60 s 1080p clip: QC vs a plain decode, model frames/s, moderation; time to playable idle vs busy',
    load: () => import('./detection'),
  },
  recording: {
    tools: ['ffmpeg', 'ffprobe', 'nginx'],
    about:
      'live recording (FLV 1080p): record_done → playable / ready vs an ffmpeg HLS remux; nginx-rtmp split parts merged, frames equal',
    load: () => import('./recording'),
  },
  backup: {
    tools: ['mariadb-dump', 'pg_dump', 'pg_restore', 'sqlite3'],
    about:
      'vodcloud backup / restore of 10,000 videos on SQLite, MariaDB, PostgreSQL vs mariadb-dump, pg_dump, sqlite3 .backup',
    load: () => import('./backup'),
  },
  all: {
    tools: ['nginx', 'curl', 'ffmpeg', 'ffprobe'],
    about:
      'all --quick: upload, ladder and playable in short forms (minutes), each figure checked against bench/baseline.json',
    load: () => import('./quick'),
  },
  'package-sizes': {
    about:
      'npm tarballs of @vodcloud/upload, player, sdk (packed/unpacked) and each alone as a min+gzip browser bundle',
    load: () => import('./package-sizes'),
  },
};

function usage(): string {
  const lines = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}`);
  return `usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]   (--help after a name for its options)\n${lines.join('\n')}`;
}

const [name, ...rest] = process.argv.slice(2);
const bench = name ? BENCHMARKS[name] : undefined;
if (!bench) {
  console.error(
    name && name !== '--help' && name !== '-h' ? `unknown benchmark: ${name}\n${usage()}` : usage(),
  );
  process.exit(name === '--help' || name === '-h' ? 0 : 2);
}
try {
  if (bench.tools) ensureTools(bench.tools);
  await (await bench.load()).main(rest);
} catch (err) {
  console.error(err);
  process.exit(1);
}
