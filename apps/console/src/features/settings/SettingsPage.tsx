import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { AccountPanel } from './AccountPanel';
import { CategoriesPanel } from './CategoriesPanel';
import { DetectionPanel } from './DetectionPanel';
import { KeysPanel } from './KeysPanel';
import { MembersPanel } from './MembersPanel';
import { messages } from './messages';
import { ReferrersPanel } from './ReferrersPanel';
import { useAccess } from './shared';
import { TemplatesPanel } from './TemplatesPanel';
import { WebhookDeliveries, WebhooksPanel } from './WebhooksPanel';
import './settings.css';

registerMessages('settings', messages);

/** The sections: `settings` ones need an admin or owner (members and viewers are told so if they go there). */
const SECTIONS = [
  { id: 'templates', settings: false },
  { id: 'categories', settings: false },
  { id: 'webhooks', settings: true },
  { id: 'keys', settings: true },
  { id: 'referrers', settings: true },
  // Everyone may read the policy (admins and owners change it).
  { id: 'detection', settings: false },
  { id: 'members', settings: true },
  { id: 'account', settings: false },
] as const;

export default function SettingsPage() {
  const { t } = useTranslation('settings');
  const access = useAccess();
  const sections = SECTIONS.filter((s) => !s.settings || access.settings);
  const nav = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  // On a phone the sections are a row of tabs that scrolls: keep the current one in view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation
  useEffect(() => {
    nav.current
      ?.querySelector('[aria-current="page"]')
      ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [pathname]);
  return (
    <section className="page settings">
      <PageTitle>{t('title')}</PageTitle>
      <div className="settings-layout">
        <nav aria-label={t('sections')} className="settings-nav" ref={nav}>
          <ul>
            {sections.map((s) => (
              <li key={s.id}>
                <NavLink to={`/settings/${s.id}`}>{t(`${s.id}.title`)}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="settings-body">
          <Routes>
            <Route index element={<Navigate to="/settings/templates" replace />} />
            <Route path="templates" element={<TemplatesPanel />} />
            <Route path="categories" element={<CategoriesPanel />} />
            <Route path="webhooks" element={<WebhooksPanel />} />
            <Route path="webhooks/:id" element={<WebhookDeliveries />} />
            <Route path="keys" element={<KeysPanel />} />
            <Route path="referrers" element={<ReferrersPanel />} />
            <Route path="detection" element={<DetectionPanel />} />
            <Route path="members" element={<MembersPanel />} />
            <Route path="account" element={<AccountPanel />} />
            <Route path="*" element={<Navigate to="/settings/templates" replace />} />
          </Routes>
        </div>
      </div>
    </section>
  );
}
