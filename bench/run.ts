// The benchmark harness: `npm run bench -- <name> [options]` runs bench/<name>.ts.
export {};

const BENCHMARKS: Record<
  string,
  { about: string; load: () => Promise<{ main(argv: string[]): Promise<void> }> }
> = {
  upload: {
    about: 'tus upload into vodcloud vs curl PUT into nginx WebDAV; peak RSS; finalize time',
    load: () => import('./upload'),
  },
  ladder: {
    about: '60 s 1080p30 clip: upload complete → ready vs one ffmpeg for the ladder and ffmpeg per rendition',
    load: () => import('./ladder'),
  },
  rpc: {
    about:
      'RPC between two processes over ZooKeeper: calls/s and p99 with accounting on/off; provider death → removal',
    load: () => import('./rpc'),
  },
  playable: {
    about:
      '60 s 1080p30 H.264 and HEVC uploads: upload complete → master playlist / first segment servable; --cpu, --workers',
    load: () => import('./playable'),
  },
  footprint: {
    about:
      'idle RSS and start → ready of serve: checkout (tsx) vs production build (dist); run npm run build first',
    load: () => import('./footprint'),
  },
  delivery: {
    about: 'HLS delivery of a signed video (~3 MB segment, media playlist) under wrk vs nginx static',
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
    about:
      'detection of a 60 s 1080p clip: QC vs a plain decode, model frames/s, moderation; time to playable idle vs busy',
    load: () => import('./detection'),
  },
  recording: {
    about:
      'live recording (FLV 1080p): record_done → playable / ready vs an ffmpeg HLS remux; nginx-rtmp split parts merged, frames equal',
    load: () => import('./recording'),
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
  await (await bench.load()).main(rest);
} catch (err) {
  console.error(err);
  process.exit(1);
}
