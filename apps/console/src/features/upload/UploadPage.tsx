import { useTranslation } from 'react-i18next';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('upload', messages);

/** Phase 2 of the console (issue 16). */
export default function UploadPage() {
  const { t } = useTranslation('upload');
  return (
    <section className="page">
      <PageTitle>{t('title')}</PageTitle>
      <p className="muted">{t('common:comingSoon')}</p>
    </section>
  );
}
