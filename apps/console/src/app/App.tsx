import { lazy, type ReactNode, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { SignInPage } from '../features/sign-in/SignInPage';
import { type Messages, registerMessages } from '../i18n';
import type { Feature } from './feature';
import { FEATURES } from './features';
import { allows } from './roles';
import { Shell } from './Shell';
import { useSession, useUnauthorizedRedirect } from './session';

// The navigation labels of every feature (namespace `nav`), from their feature.ts.
registerMessages(
  'nav',
  FEATURES.reduce<Messages>(
    (all, f) => {
      if (f.nav)
        for (const lng of Object.keys(all) as Array<keyof Messages>) all[lng][f.id] = f.nav.label[lng];
      return all;
    },
    { en: {}, 'zh-CN': {} },
  ),
);

const pages = new Map(FEATURES.map((f) => [f.id, lazy(f.page)]));

function Loading() {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      {t('loading')}
    </p>
  );
}

function Page({ feature }: { feature: Feature }) {
  const Component = pages.get(feature.id)!;
  return (
    <Suspense fallback={<Loading />}>
      <Component />
    </Suspense>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="page">
      <h1>{t('notFound.title')}</h1>
      <p>{t('notFound.body')}</p>
      <Link to="/library">{t('notFound.home')}</Link>
    </section>
  );
}

/** The signed-in part: no session → sign-in, remembering where to come back. */
function SignedIn({
  children,
}: {
  children: (user: NonNullable<ReturnType<typeof useSession>['data']>['user']) => ReactNode;
}) {
  const session = useSession();
  const location = useLocation();
  const { t } = useTranslation();
  if (session.isPending) return <Loading />;
  if (session.isError)
    return (
      <main className="center-page">
        <p role="alert">{t('errors.network')}</p>
        <button type="button" className="button" onClick={() => void session.refetch()}>
          {t('retry')}
        </button>
      </main>
    );
  if (!session.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  return <>{children(session.data.user)}</>;
}

export function App() {
  useUnauthorizedRedirect();
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        {FEATURES.filter((f) => f.public).map((f) => (
          <Route key={f.id} path={`/${f.path}`} element={<Page feature={f} />} />
        ))}
        <Route element={<SignedIn>{(user) => <Shell user={user} />}</SignedIn>}>
          <Route index element={<Navigate to="/library" replace />} />
          {FEATURES.filter((f) => !f.public).map((f) => (
            <Route key={f.id} path={f.path} element={<Guarded feature={f} />} />
          ))}
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}

function Guarded({ feature }: { feature: Feature }) {
  const session = useSession();
  const { t } = useTranslation();
  if (!allows(session.data?.user, feature.requires))
    return (
      <section className="page">
        <p role="alert">{t('forbidden')}</p>
      </section>
    );
  return <Page feature={feature} />;
}
