import { useTranslation } from 'react-i18next';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('settings', messages);

/** Phase 2 of the console (issue 16). */
export default function SettingsPage() {
  const { t } = useTranslation('settings');
  return (
    <section className="page">
      <PageTitle>{t('title')}</PageTitle>
      <p className="muted">{t('common:comingSoon')}</p>
    </section>
  );
}
