import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { dateTime } from './format';
import { useCursorPages } from './paging';
import { ErrorBox, Pager } from './parts';
import { QuotaText } from './quota';

const PAGE_SIZE = 25;

/** Every tenant, newest last as the API pages them, and a form to create one. */
export function Tenants() {
  const { t, i18n } = useTranslation('admin');
  const pages = useCursorPages();
  const list = useQuery({
    queryKey: ['admin', 'tenants', pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/tenants', {
          params: { query: { limit: PAGE_SIZE, ...(pages.cursor ? { cursor: pages.cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const date = dateTime(i18n.language);
  const tenants = list.data?.data ?? [];
  return (
    <div className="admin-view">
      <h2>{t('section.tenants')}</h2>
      <CreateTenant />
      {list.isError ? (
        <ErrorBox error={list.error} retry={() => void list.refetch()} />
      ) : list.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : tenants.length === 0 && !pages.hasPrevious ? (
        <p className="empty">{t('tenants.empty')}</p>
      ) : (
        <div className="table-wrap">
          <table className="videos admin-table">
            <caption className="visually-hidden">{t('section.tenants')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('tenants.name')}</th>
                <th scope="col">{t('tenants.quota')}</th>
                <th scope="col" className="hide-narrow">
                  {t('tenants.created')}
                </th>
              </tr>
            </thead>
            <tbody>
              {tenants.map((x) => (
                <tr key={x.id}>
                  <td className="title-cell">
                    <Link to={`/admin/tenants/${x.id}`}>{x.name}</Link>
                    <div className="muted admin-id">{x.id}</div>
                  </td>
                  <td>
                    <QuotaText bytes={x.storageQuotaBytes} />
                  </td>
                  <td className="hide-narrow">{date.format(new Date(x.createdAt))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        label={t('tenants.pages')}
        number={pages.number}
        hasPrevious={pages.hasPrevious}
        nextCursor={list.data?.nextCursor}
        busy={list.isPlaceholderData}
        onPrevious={pages.previous}
        onNext={pages.next}
      />
    </div>
  );
}

function CreateTenant() {
  const { t } = useTranslation('admin');
  const id = useId();
  const [name, setName] = useState('');
  const client = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: async (n: string) => unwrap(await api.POST('/v1/tenants', { body: { name: n } })),
    onSuccess: (tenant) => {
      void client.invalidateQueries({ queryKey: ['admin', 'tenants'] });
      navigate(`/admin/tenants/${tenant.id}`, { state: { created: true } });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate(name.trim());
  };
  return (
    <form className="admin-inline-form" onSubmit={submit}>
      <div className="field">
        <label htmlFor={id}>{t('tenants.newName')}</label>
        <input id={id} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </div>
      <button type="submit" className="button primary" disabled={create.isPending}>
        {t('tenants.create')}
      </button>
      {create.isError && (
        <p className="error" role="alert">
          {errorMessage(create.error, t)}
        </p>
      )}
    </form>
  );
}
