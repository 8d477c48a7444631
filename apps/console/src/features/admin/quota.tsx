import { useTranslation } from 'react-i18next';
import { formatBytes } from './format';

/** A tenant's storage quota in words: the platform default (null), unlimited (0) or a size. */
export function QuotaText({ bytes }: { bytes: number | null }) {
  const { t, i18n } = useTranslation('admin');
  if (bytes === null) return <span className="muted">{t('quota.default')}</span>;
  if (bytes === 0) return <span>{t('quota.unlimited')}</span>;
  return <span>{formatBytes(bytes, i18n.language)}</span>;
}
