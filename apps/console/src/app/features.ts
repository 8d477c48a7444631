import type { Feature } from './feature';

// Every src/features/*/feature.ts, bundled with the shell (they are a few lines each; their pages are not).
const modules = import.meta.glob<{ feature: Feature }>('../features/*/feature.ts', { eager: true });

export const FEATURES: Feature[] = Object.values(modules)
  .map((m) => m.feature)
  .sort((a, b) => (a.nav?.order ?? 1000) - (b.nav?.order ?? 1000) || a.id.localeCompare(b.id));
