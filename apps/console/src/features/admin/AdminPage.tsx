import { useTranslation } from 'react-i18next';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('admin', messages);

/** Phase 2 of the console (issue 16). */
export default function AdminPage() {
  const { t } = useTranslation('admin');
  return (
    <section className="page">
      <PageTitle>{t('title')}</PageTitle>
      <p className="muted">{t('common:comingSoon')}</p>
    </section>
  );
}
