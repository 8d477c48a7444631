import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { api, unwrap, VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { useSession, useSetSession } from '../../app/session';
import { registerMessages } from '../../i18n';
import { LanguageSwitch } from '../../ui/LanguageSwitch';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('sign-in', messages);

/** Where to go after signing in: a console path given as ?next=, never another origin. */
export function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/library';
}

/** Counts down to `until` (ms since epoch), once a second; 0 when past. */
function useSecondsLeft(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!until) return;
    // From now, not from the page's first render: else the first second shows the wait too long.
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  return until ? Math.max(0, Math.ceil((until - now) / 1000)) : 0;
}

export function SignInPage() {
  const { t } = useTranslation('sign-in');
  const session = useSession();
  const setSession = useSetSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const left = useSecondsLeft(lockedUntil);
  const errorId = useId();
  const signIn = useMutation({
    mutationFn: async (body: { email: string; password: string }) =>
      unwrap(await api.POST('/v1/sessions', { body })),
    onSuccess: (s) => {
      setSession(s);
      navigate(safeNext(params.get('next')), { replace: true });
    },
    onError: (err) => {
      if (err instanceof VodCloudError && err.status === 429)
        setLockedUntil(Date.now() + (err.retryAfter ?? 60) * 1000);
    },
  });

  if (session.data) return <Navigate to={safeNext(params.get('next'))} replace />;

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    signIn.mutate({
      email: String(form.get('email') ?? '').trim(),
      password: String(form.get('password') ?? ''),
    });
  };

  let error: string | null = null;
  const err = signIn.error;
  if (err instanceof VodCloudError && err.status === 401) error = t('wrong');
  else if (err instanceof VodCloudError && err.status === 429)
    error = t('lockedOut', {
      wait:
        left >= 120
          ? t('minutes', { count: Math.ceil(left / 60) })
          : t('seconds', { count: Math.max(left, 1) }),
    });
  else if (err instanceof VodCloudError && (err.status === 404 || err.status === 405))
    error = t('unavailable');
  else if (err) error = errorMessage(err, t);
  const locked = left > 0;

  return (
    <div className="center-page">
      <main className="card sign-in" id="main">
        <div className="card-top">
          <p className="brand big">
            <span aria-hidden="true" className="brand-mark">
              ▶
            </span>
            {t('common:brand')}
          </p>
          <LanguageSwitch />
        </div>
        <PageTitle>{t('title')}</PageTitle>
        <p className="muted">{t('intro')}</p>
        <form onSubmit={onSubmit} noValidate={false} aria-describedby={error ? errorId : undefined}>
          <div className="field">
            <label htmlFor="sign-in-email">{t('email')}</label>
            <input id="sign-in-email" name="email" type="email" autoComplete="username" required />
          </div>
          <div className="field">
            <label htmlFor="sign-in-password">{t('password')}</label>
            <input
              id="sign-in-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
            />
          </div>
          {error && (
            <p className="error" role="alert" id={errorId}>
              {error}
            </p>
          )}
          <button type="submit" className="button primary wide" disabled={signIn.isPending || locked}>
            {signIn.isPending ? t('submitting') : t('submit')}
          </button>
        </form>
      </main>
    </div>
  );
}
