import { type QueryKey, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { timeOnly } from './format';

/** The live views are read again this often while the tab is visible. */
export const LIVE_MS = 5_000;

/**
 * A query read again every 5 s. react-query stops interval refetches while the document is hidden
 * (`refetchIntervalInBackground` is false) and refetches on return to the tab: no polling of a hidden tab.
 */
export function useLiveQuery<T>(queryKey: QueryKey, queryFn: () => Promise<T>) {
  return useQuery({
    queryKey,
    queryFn,
    refetchInterval: LIVE_MS,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });
}

/** "Updated 10:58:03 · refreshes every 5 s" (not a live region: it would speak every 5 s). */
export function LiveNote({ updatedAt }: { updatedAt: number }) {
  const { t, i18n } = useTranslation('admin');
  if (!updatedAt) return null;
  return (
    <p className="admin-live muted">
      <span aria-hidden="true" className="admin-live-dot" />
      {t('live', { time: timeOnly(i18n.language).format(updatedAt), seconds: LIVE_MS / 1000 })}
    </p>
  );
}
