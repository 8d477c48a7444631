import { useTranslation } from 'react-i18next';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('video', messages);

/** Phase 2 of the console (issue 16). */
export default function VideoPage() {
  const { t } = useTranslation('video');
  return (
    <section className="page">
      <PageTitle>{t('title')}</PageTitle>
      <p className="muted">{t('common:comingSoon')}</p>
    </section>
  );
}
