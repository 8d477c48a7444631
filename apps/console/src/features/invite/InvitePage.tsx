import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { api, unwrap, VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { useSetSession } from '../../app/session';
import { registerMessages } from '../../i18n';
import { LanguageSwitch } from '../../ui/LanguageSwitch';
import { PageTitle } from '../../ui/PageTitle';
import { messages } from './messages';

registerMessages('invite', messages);

/** /invite/:token — an invitation (or a password reset) link: set a password, and be signed in. */
export default function InvitePage() {
  const { t, i18n } = useTranslation('invite');
  const token = useParams().token ?? '';
  const navigate = useNavigate();
  const setSession = useSetSession();
  const [mismatch, setMismatch] = useState(false);
  const invitation = useQuery({
    queryKey: ['invitation', token],
    queryFn: async () => unwrap(await api.GET('/v1/invitations/{token}', { params: { path: { token } } })),
    retry: false,
  });
  const accept = useMutation({
    mutationFn: async (body: { password: string; name?: string }) =>
      unwrap(await api.POST('/v1/invitations/{token}/accept', { params: { path: { token } }, body })),
    onSuccess: (session) => {
      setSession(session);
      navigate('/library', { replace: true });
    },
  });

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get('password') ?? '');
    const same = password === String(form.get('confirm') ?? '');
    setMismatch(!same);
    if (!same) return;
    const name = String(form.get('name') ?? '').trim();
    accept.mutate({ password, ...(name ? { name } : {}) });
  };

  const inv = invitation.data;
  let body: React.ReactNode;
  if (invitation.isPending) body = <p role="status">{t('common:loading')}</p>;
  else if (invitation.isError || !inv) {
    const e = invitation.error;
    body = (
      <p className="error" role="alert">
        {e instanceof VodCloudError && e.status && e.status < 500 && e.status !== 429
          ? t('invalid')
          : errorMessage(e, t)}
      </p>
    );
  } else {
    const vars = {
      email: inv.email,
      tenant: inv.tenantName ?? t('common:brand'),
      role: t(`common:role.${inv.role ?? 'none'}`),
    };
    const when = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(
      new Date(inv.expiresAt),
    );
    body = (
      <>
        <PageTitle>{inv.kind === 'reset' ? t('titleReset') : t('titleInvite', vars)}</PageTitle>
        <p>{inv.kind === 'reset' ? t('reset', vars) : t('invited', vars)}</p>
        <p className="muted">{t('expires', { when })}</p>
        <form onSubmit={onSubmit}>
          <input type="email" name="username" autoComplete="username" value={inv.email} readOnly hidden />
          {inv.kind === 'invite' && (
            <div className="field">
              <label htmlFor="invite-name">{t('name')}</label>
              <input id="invite-name" name="name" autoComplete="name" maxLength={200} />
            </div>
          )}
          <div className="field">
            <label htmlFor="invite-password">{t('password')}</label>
            <input
              id="invite-password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
            />
          </div>
          <div className="field">
            <label htmlFor="invite-confirm">{t('confirm')}</label>
            <input
              id="invite-confirm"
              name="confirm"
              type="password"
              autoComplete="new-password"
              required
              aria-invalid={mismatch || undefined}
            />
          </div>
          {(mismatch || accept.isError) && (
            <p className="error" role="alert">
              {mismatch ? t('mismatch') : errorMessage(accept.error, t)}
            </p>
          )}
          <button type="submit" className="button primary wide" disabled={accept.isPending}>
            {accept.isPending ? t('submitting') : inv.kind === 'reset' ? t('submitReset') : t('submitInvite')}
          </button>
        </form>
      </>
    );
  }
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
        {body}
      </main>
    </div>
  );
}
