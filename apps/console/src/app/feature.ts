import type { ComponentType } from 'react';
import type { Language } from '../i18n';
import type { Requirement } from './roles';

/**
 * A console feature: one folder under src/features/<id>/ with a `feature.ts` exporting `feature` (found by
 * ./features.ts, no shared list to edit), its lazily loaded page, and its strings in `messages.ts`
 * (namespace <id>, registered by the page module).
 */
export interface Feature {
  /** The folder's name; also the i18n namespace of its page. */
  id: string;
  /** The route path: under the signed-in shell (`library`, `videos/:id`), or top-level when `public`. */
  path: string;
  /** The page, a lazily loaded chunk (`() => import('./Page')`) whose default export is the component. */
  page: () => Promise<{ default: ComponentType }>;
  /** A link in the shell's navigation: its place and its label in each language. */
  nav?: { order: number; label: Record<Language, string> };
  /** Hidden from the navigation and refused for users without it. */
  requires?: Requirement;
  /** Outside the shell, for signed-out visitors too (an invitation link). */
  public?: boolean;
}
