import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';

/** The page's <h1> and the document's title (“Library · vodcloud”). */
export function PageTitle({ children }: { children: string }) {
  const { t } = useTranslation();
  useEffect(() => {
    document.title = `${children} · ${t('common:brand')}`;
  }, [children, t]);
  return <h1>{children}</h1>;
}
