// The web console's build: `npm run build:console` → apps/console/dist, served by the api role at `/`
// (apps/server/src/modules/console). The workspace packages are bundled from their TypeScript sources.
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  resolve: { conditions: ['@vodcloud/source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline script anywhere (the server's CSP is script-src 'self'): the preload helper stays a module.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  // `npm run dev -w @vodcloud/console` against a local server (`npm start`) on :8080.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
