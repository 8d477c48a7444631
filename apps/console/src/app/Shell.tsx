import * as Menu from '@radix-ui/react-dropdown-menu';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useNavigate } from 'react-router';
import type { User } from '../api/types';
import { LanguageSwitch } from '../ui/LanguageSwitch';
import { FEATURES } from './features';
import { allows } from './roles';
import { useSignOut } from './session';

/** The signed-in frame: a skip link, the header (brand, navigation, language, account menu), the page. */
export function Shell({ user }: { user: User }) {
  const { t } = useTranslation();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const links = FEATURES.filter((f) => f.nav && !f.public && allows(user, f.requires));
  return (
    <>
      <a className="skip-link" href="#main">
        {t('skipToContent')}
      </a>
      <header className="app-header">
        <NavLink to="/library" className="brand">
          <span aria-hidden="true" className="brand-mark">
            ▶
          </span>
          {t('brand')}
        </NavLink>
        <nav aria-label={t('mainNav')} className="main-nav">
          <ul>
            {links.map((f) => (
              <li key={f.id}>
                <NavLink to={`/${f.path.replace(/\/\*$/, '')}`}>{t(`nav:${f.id}`)}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="header-tools">
          <LanguageSwitch />
          <Menu.Root>
            <Menu.Trigger className="button ghost account-button">
              <span aria-hidden="true" className="avatar">
                {(user.name || user.email).slice(0, 1).toUpperCase()}
              </span>
              <span className="account-name">{user.name || user.email}</span>
              <span className="visually-hidden">{t('account')}</span>
            </Menu.Trigger>
            <Menu.Portal>
              <Menu.Content className="menu" align="end" sideOffset={6}>
                <Menu.Label className="menu-label">
                  {t('signedInAs', { email: user.email })}
                  <br />
                  <small>
                    {[
                      user.tenantName,
                      user.role ? t(`role.${user.role}`) : null,
                      user.platformAdmin ? t('platformAdmin') : null,
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </small>
                </Menu.Label>
                <Menu.Separator className="menu-separator" />
                <Menu.Item
                  className="menu-item"
                  onSelect={() => {
                    void signOut().then(() => navigate('/sign-in', { replace: true }));
                  }}
                >
                  {t('signOut')}
                </Menu.Item>
              </Menu.Content>
            </Menu.Portal>
          </Menu.Root>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="app-main">
        <Outlet />
      </main>
    </>
  );
}
