import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { FieldMessage, fieldErrors, invalid, useAccess, When } from './shared';

export function AccountPanel() {
  const { t } = useTranslation('settings');
  const { user } = useAccess();
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: async (body: { currentPassword: string; newPassword: string }) =>
      unwrap(await api.POST('/v1/sessions/current/password', { body })),
    onSuccess: () => setDone(true),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const newPassword = String(data.get('newPassword') ?? '');
    setDone(false);
    if (newPassword !== String(data.get('confirm') ?? '')) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    change.mutate(
      { currentPassword: String(data.get('currentPassword') ?? ''), newPassword },
      { onSuccess: () => form.reset() },
    );
  };
  const errors = fieldErrors(change.error);
  const wrongCurrent = change.error instanceof VodCloudError && change.error.status === 403;
  return (
    <div className="panel">
      <h2>{t('account.title')}</h2>
      {user && (
        <dl className="facts card">
          <dt>{t('account.email')}</dt>
          <dd>{user.email}</dd>
          <dt>{t('name')}</dt>
          <dd>{user.name || '—'}</dd>
          <dt>{t('role')}</dt>
          <dd>{t(`common:role.${user.role ?? 'none'}`)}</dd>
          {user.tenantName && (
            <>
              <dt>{t('account.tenant')}</dt>
              <dd>{user.tenantName}</dd>
            </>
          )}
          <dt>{t('account.lastLogin')}</dt>
          <dd>
            <When iso={user.lastLoginAt} />
          </dd>
        </dl>
      )}
      <form className="card form-card narrow" onSubmit={submit} noValidate>
        <h3>{t('account.changePassword')}</h3>
        <div className="field">
          <label htmlFor="pw-current">{t('account.current')}</label>
          <input
            id="pw-current"
            name="currentPassword"
            type="password"
            autoComplete="current-password"
            required
            {...invalid('pw-current-err', wrongCurrent ? t('account.wrongCurrent') : errors.currentPassword)}
          />
          <FieldMessage
            id="pw-current-err"
            message={wrongCurrent ? t('account.wrongCurrent') : errors.currentPassword}
          />
        </div>
        <div className="field">
          <label htmlFor="pw-new">{t('account.new')}</label>
          <input
            id="pw-new"
            name="newPassword"
            type="password"
            autoComplete="new-password"
            required
            aria-describedby="pw-new-hint"
            {...invalid('pw-new-err', errors.newPassword)}
          />
          <span id="pw-new-hint" className="hint">
            {t('account.hint')}
          </span>
          <FieldMessage id="pw-new-err" message={errors.newPassword} />
        </div>
        <div className="field">
          <label htmlFor="pw-confirm">{t('account.confirm')}</label>
          <input
            id="pw-confirm"
            name="confirm"
            type="password"
            autoComplete="new-password"
            required
            {...invalid('pw-confirm-err', mismatch ? t('account.mismatch') : undefined)}
          />
          <FieldMessage id="pw-confirm-err" message={mismatch ? t('account.mismatch') : undefined} />
        </div>
        {change.error && !wrongCurrent && !Object.keys(errors).length ? (
          <p className="error" role="alert">
            {errorMessage(change.error, t)}
          </p>
        ) : null}
        <p role="status" className="notice">
          {done ? t('account.changed') : ''}
        </p>
        <button type="submit" className="button primary" disabled={change.isPending}>
          {t('account.submit')}
        </button>
      </form>
    </div>
  );
}
