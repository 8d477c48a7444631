import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Forbidden, FormError, fieldErrors, LoadError, Loading, useAccess, When } from './shared';

const KEY = ['settings', 'referrer-policy'] as const;

export function ReferrersPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  return (
    <div className="panel">
      <h2>{t('referrers.title')}</h2>
      <p className="muted">{t('referrers.intro')}</p>
      {settings ? <PolicyEditor /> : <Forbidden />}
    </div>
  );
}

function PolicyEditor() {
  const { t } = useTranslation('settings');
  const client = useQueryClient();
  const [notice, setNotice] = useState('');
  const [confirming, setConfirming] = useState(false);
  const policy = useQuery({
    queryKey: KEY,
    queryFn: async () => {
      try {
        return unwrap(await api.GET('/v1/referrer-policy'));
      } catch (err) {
        // No policy set: every referrer is allowed.
        if (err instanceof VodCloudError && err.status === 404) return null;
        throw err;
      }
    },
  });
  const save = useMutation({
    mutationFn: async (body: { referrers: string[]; allowNoReferrer: boolean }) =>
      unwrap(await api.PUT('/v1/referrer-policy', { body })),
    onSuccess: (p) => {
      client.setQueryData(KEY, p);
      setNotice(t('referrers.saved'));
    },
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/v1/referrer-policy')),
    onSuccess: () => {
      client.setQueryData(KEY, null);
      setConfirming(false);
      setNotice(t('referrers.removed'));
    },
  });
  if (policy.isError) return <LoadError error={policy.error} retry={() => void policy.refetch()} />;
  if (policy.isPending) return <Loading />;
  const p = policy.data;
  const lines = (v: string) =>
    v
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    setNotice('');
    save.mutate({
      referrers: lines(String(data.get('referrers') ?? '')),
      allowNoReferrer: data.get('allowNoReferrer') === 'on',
    });
  };
  // Errors come as referrers.<index>: name the host in question.
  const errors = fieldErrors(save.error);
  const submitted = save.variables?.referrers ?? [];
  const hostErrors = Object.entries(errors)
    .filter(([path]) => path.startsWith('referrers'))
    .map(([path, message]) => {
      const i = Number(path.split('.')[1]);
      return Number.isInteger(i) ? `${submitted[i]}: ${message}` : message;
    });
  return (
    <>
      <p className="current-state">
        {p
          ? p.referrers.length
            ? t('referrers.current', { count: p.referrers.length })
            : t('referrers.currentAny')
          : t('referrers.none')}
        {p && (
          <>
            {' '}
            <span className="muted">
              ({t('updated')} <When iso={p.updatedAt} />)
            </span>
          </>
        )}
      </p>
      <p role="status" className="notice">
        {notice}
      </p>
      <form className="card form-card" onSubmit={submit} noValidate key={p?.updatedAt ?? 'none'}>
        <div className="field">
          <label htmlFor="ref-hosts">{t('referrers.hosts')}</label>
          <textarea
            id="ref-hosts"
            name="referrers"
            rows={6}
            className="mono"
            defaultValue={p?.referrers.join('\n') ?? ''}
            aria-describedby={`ref-hosts-hint${hostErrors.length ? ' ref-hosts-err' : ''}`}
            aria-invalid={hostErrors.length ? true : undefined}
            spellCheck={false}
          />
          <span id="ref-hosts-hint" className="hint">
            {t('referrers.hint')}
          </span>
          {hostErrors.length > 0 && (
            <span id="ref-hosts-err" className="field-error">
              {hostErrors.join(' · ')}
            </span>
          )}
        </div>
        <div className="check-field">
          <input
            id="ref-none"
            name="allowNoReferrer"
            type="checkbox"
            defaultChecked={p?.allowNoReferrer ?? true}
          />
          <label htmlFor="ref-none">{t('referrers.allowNone')}</label>
        </div>
        <FormError error={save.error} />
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {t('save')}
          </button>
          {p && (
            <button type="button" className="button danger-outline" onClick={() => setConfirming(true)}>
              {t('referrers.remove')}
            </button>
          )}
        </div>
      </form>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={t('referrers.confirmRemove')}
        confirmLabel={t('referrers.remove')}
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
      >
        <p>{t('referrers.confirmRemoveBody')}</p>
        {remove.error ? (
          <p className="error" role="alert">
            {errorMessage(remove.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
