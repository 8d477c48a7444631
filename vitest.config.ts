import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/** The workspace packages export their TypeScript sources under this condition (see scripts/build.ts). */
const SOURCE = '@vodcloud/source';

export default defineConfig({
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  // Not vite's default 'module' condition: externalised dependencies load in Node, and some (@aws-sdk/*)
  // export bundler-only ESM (extensionless imports) under it.
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions.filter((c) => c !== 'module')] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds the packages' dist (and the <vod-player> bundle the server serves) when their sources changed.
    globalSetup: ['test/packages/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
