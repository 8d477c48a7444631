import type { TFunction } from 'i18next';
import { VodCloudError } from './client';

/** A user-facing message (namespace `common`) for an error of the API client. */
export function errorMessage(err: unknown, t: TFunction): string {
  if (!(err instanceof VodCloudError)) return t('common:errors.unknown', { code: String(err) });
  if (err.code === 'network' || err.code === 'aborted') return t('common:errors.network');
  if (err.status === 401) return t('common:errors.unauthorized');
  if (err.status === 403) return t('common:errors.forbidden');
  if (err.status === 429) return t('common:errors.rateLimited', { seconds: err.retryAfter ?? 60 });
  if (err.status && err.status >= 500) return t('common:errors.server', { code: err.code });
  return err.detail || t('common:errors.unknown', { code: err.code });
}
