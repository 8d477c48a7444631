// `npm run build`: the production build in dist/ — the server as one ESM bundle (our code, the workspace
// packages included; third-party packages stay in node_modules, installed with `npm ci --omit=dev`) and
// the <vod-player> browser bundle the server serves prebuilt. `node dist/vodcloud.js …` then runs without
// tsx or esbuild.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The output folder: dist/, or VOD_BUILD_OUT (the build test builds into a temporary folder). */
const DIST = path.resolve(process.env.VOD_BUILD_OUT ?? path.join(ROOT, 'dist'));

/** Bare imports stay external, except our workspace packages (`@vodcloud/*`), which are TypeScript sources. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.path.startsWith('@vodcloud/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

async function main() {
  const t0 = performance.now();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const server = await build({
    entryPoints: [path.join(ROOT, 'apps/server/src/cli.ts')],
    outdir: DIST,
    entryNames: 'vodcloud',
    // Adapters are imported lazily (only the configured ones load): their code goes to chunks of its own.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ['node20'],
    sourcemap: 'linked',
    plugins: [externalPackages],
    // Modules written for CommonJS that the bundle may contain still find require().
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __vodRequire } from 'node:module';\nconst require = __vodRequire(import.meta.url);",
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const player = await build({
    entryPoints: [path.join(ROOT, 'packages/player/src/index.ts')],
    outfile: path.join(DIST, 'player.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const code = player.outputFiles[0]!.text;
  await writeFile(path.join(DIST, 'player.js'), code);
  const external = new Set<string>();
  for (const input of Object.values(server.metafile.inputs))
    for (const imp of input.imports)
      if (imp.external && !imp.path.startsWith('node:')) external.add(imp.path);
  // What the bundle needs from node_modules: every name must be a production dependency (test/deploy).
  await writeFile(
    path.join(DIST, 'build.json'),
    `${JSON.stringify({ external: [...external].sort() }, null, 2)}\n`,
  );
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const js = Object.entries(server.metafile.outputs).filter(([f]) => f.endsWith('.js'));
  const size = js.reduce((n, [, o]) => n + o.bytes, 0);
  console.log(
    `dist/vodcloud.js + ${js.length - 1} chunks ${kb(size)} (${external.size} external imports), dist/player.js ${kb(code.length)} in ${(
      (performance.now() - t0) / 1000
    ).toFixed(1)} s`,
  );
}

await main();
