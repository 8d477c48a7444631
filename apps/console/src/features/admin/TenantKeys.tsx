import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { dateTime } from './format';
import { useCursorPages } from './paging';
import { ErrorBox, OnceSecret, Pager } from './parts';

const PAGE_SIZE = 25;
type KeyScope = 'read' | 'write';

/** A tenant's API keys: the list (no secrets), create (the key shown once), revoke (confirmed). */
export function TenantKeys({ tenantId }: { tenantId: string }) {
  const { t, i18n } = useTranslation('admin');
  const id = useId();
  const client = useQueryClient();
  const pages = useCursorPages();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Set<KeyScope>>(new Set(['read', 'write']));
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const keys = useQuery({
    queryKey: ['admin', 'tenant-keys', tenantId, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/tenants/{id}/api-keys', {
          params: {
            path: { id: tenantId },
            query: { limit: PAGE_SIZE, ...(pages.cursor ? { cursor: pages.cursor } : {}) },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['admin', 'tenant-keys', tenantId] });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/tenants/{id}/api-keys', {
          params: { path: { id: tenantId } },
          body: { name: name.trim(), scopes: [...scopes] },
        }),
      ),
    onSuccess: () => {
      setName('');
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: async (keyId: string) =>
      unwrap(
        await api.DELETE('/v1/tenants/{id}/api-keys/{keyId}', {
          params: { path: { id: tenantId, keyId } },
        }),
      ),
    onSuccess: () => setRevoking(null),
    onSettled: () => void refresh(),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() && scopes.size) create.mutate();
  };
  const toggle = (s: KeyScope, on: boolean) =>
    setScopes((prev) => {
      const next = new Set(prev);
      if (on) next.add(s);
      else next.delete(s);
      return next;
    });
  const date = dateTime(i18n.language);
  const rows = keys.data?.data ?? [];
  return (
    <section className="admin-keys" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('keys.title')}</h3>
      {create.data ? (
        <OnceSecret
          label={t('keys.secret', { name: create.data.name })}
          value={create.data.key}
          onDone={() => create.reset()}
        />
      ) : (
        <form className="admin-inline-form" onSubmit={submit}>
          <div className="field">
            <label htmlFor={`${id}-name`}>{t('keys.name')}</label>
            <input
              id={`${id}-name`}
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              maxLength={200}
            />
          </div>
          <fieldset className="admin-radios">
            <legend>{t('keys.scopes')}</legend>
            {(['read', 'write'] as const).map((s) => (
              <label key={s}>
                <input
                  type="checkbox"
                  checked={scopes.has(s)}
                  onChange={(e) => toggle(s, e.target.checked)}
                />
                {t(`keys.scope.${s}`)}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="button primary" disabled={create.isPending || scopes.size === 0}>
            {t('keys.create')}
          </button>
          {create.isError && (
            <p className="error" role="alert">
              {errorMessage(create.error, t)}
            </p>
          )}
        </form>
      )}
      {revoke.isError && (
        <p className="error" role="alert">
          {errorMessage(revoke.error, t)}
        </p>
      )}
      {keys.isError ? (
        <ErrorBox error={keys.error} retry={() => void keys.refetch()} />
      ) : keys.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : rows.length === 0 && !pages.hasPrevious ? (
        <p className="empty">{t('keys.empty')}</p>
      ) : (
        <div className="table-wrap">
          <table className="videos admin-table">
            <caption className="visually-hidden">{t('keys.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('keys.name')}</th>
                <th scope="col">{t('keys.scopes')}</th>
                <th scope="col" className="hide-narrow">
                  {t('keys.created')}
                </th>
                <th scope="col" className="hide-narrow">
                  {t('keys.lastUsed')}
                </th>
                <th scope="col">
                  <span className="visually-hidden">{t('keys.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{k.scopes.map((s) => t(`keys.scope.${s}`)).join(', ')}</td>
                  <td className="hide-narrow">{date.format(new Date(k.createdAt))}</td>
                  <td className="hide-narrow">
                    {k.lastUsedAt ? date.format(new Date(k.lastUsedAt)) : t('keys.never')}
                  </td>
                  <td className="admin-row-actions">
                    {k.revokedAt ? (
                      <span className="status status-blocked">{t('keys.revoked')}</span>
                    ) : (
                      <button
                        type="button"
                        className="button danger"
                        aria-label={t('keys.revokeNamed', { name: k.name })}
                        onClick={() => setRevoking({ id: k.id, name: k.name })}
                      >
                        {t('keys.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        label={t('keys.pages')}
        number={pages.number}
        hasPrevious={pages.hasPrevious}
        nextCursor={keys.data?.nextCursor}
        busy={keys.isPlaceholderData}
        onPrevious={pages.previous}
        onNext={pages.next}
      />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={t('keys.confirmTitle', { name: revoking?.name ?? '' })}
        confirmLabel={t('keys.revoke')}
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      >
        <p>{t('keys.confirmBody')}</p>
      </ConfirmDialog>
    </section>
  );
}
