import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { components } from '@vodcloud/sdk';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { bytesToGb, dateTime, gbToBytes } from './format';
import { ErrorBox, OnceSecret } from './parts';
import { QuotaText } from './quota';
import { TenantKeys } from './TenantKeys';

type Tenant = components['schemas']['Tenant'];

/** One tenant: its name, storage quota, an invitation for its owner, its API keys. */
export function TenantDetail() {
  const { t, i18n } = useTranslation('admin');
  const { id = '' } = useParams();
  const location = useLocation();
  const tenant = useQuery({
    queryKey: ['admin', 'tenant', id],
    queryFn: async () => unwrap(await api.GET('/v1/tenants/{id}', { params: { path: { id } } })),
  });
  const created = (location.state as { created?: boolean } | null)?.created;
  return (
    <div className="admin-view">
      <p>
        <Link to="/admin/tenants">{t('tenants.back')}</Link>
      </p>
      {tenant.isError ? (
        <ErrorBox error={tenant.error} retry={() => void tenant.refetch()} />
      ) : tenant.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : (
        <>
          <h2>{tenant.data.name}</h2>
          <p className="muted">
            {t('tenants.idCreated', {
              id: tenant.data.id,
              date: dateTime(i18n.language).format(new Date(tenant.data.createdAt)),
            })}
          </p>
          {created && (
            <p className="notice" role="status">
              {t('tenants.created_notice')}
            </p>
          )}
          <div className="admin-grid">
            <Rename tenant={tenant.data} />
            <Quota tenant={tenant.data} />
            <InviteOwner tenant={tenant.data} />
          </div>
          <TenantKeys tenantId={tenant.data.id} />
        </>
      )}
    </div>
  );
}

function useUpdateTenant(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: { name?: string; storageQuotaBytes?: number | null }) =>
      unwrap(await api.PATCH('/v1/tenants/{id}', { params: { path: { id } }, body })),
    onSuccess: (tenant) => {
      client.setQueryData(['admin', 'tenant', id], tenant);
      void client.invalidateQueries({ queryKey: ['admin', 'tenants'] });
    },
  });
}

function Rename({ tenant }: { tenant: Tenant }) {
  const { t } = useTranslation('admin');
  const id = useId();
  const [name, setName] = useState(tenant.name);
  const update = useUpdateTenant(tenant.id);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) update.mutate({ name: name.trim() });
  };
  return (
    <form className="card admin-card" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('rename.title')}</h3>
      <div className="field">
        <label htmlFor={id}>{t('tenants.name')}</label>
        <input id={id} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </div>
      <button type="submit" className="button" disabled={update.isPending || name.trim() === tenant.name}>
        {t('rename.save')}
      </button>
      <p className="notice" role="status">
        {update.isSuccess ? t('saved') : ''}
      </p>
      {update.isError && (
        <p className="error" role="alert">
          {errorMessage(update.error, t)}
        </p>
      )}
    </form>
  );
}

type QuotaMode = 'default' | 'unlimited' | 'limit';
const modeOf = (bytes: number | null): QuotaMode =>
  bytes === null ? 'default' : bytes === 0 ? 'unlimited' : 'limit';

function Quota({ tenant }: { tenant: Tenant }) {
  const { t } = useTranslation('admin');
  const id = useId();
  const [mode, setMode] = useState<QuotaMode>(modeOf(tenant.storageQuotaBytes));
  const [gb, setGb] = useState(tenant.storageQuotaBytes ? bytesToGb(tenant.storageQuotaBytes) : '');
  const [invalid, setInvalid] = useState(false);
  const update = useUpdateTenant(tenant.id);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode !== 'limit') {
      setInvalid(false);
      update.mutate({ storageQuotaBytes: mode === 'default' ? null : 0 });
      return;
    }
    const bytes = gbToBytes(gb);
    setInvalid(!bytes);
    if (bytes) update.mutate({ storageQuotaBytes: bytes });
  };
  return (
    <form className="card admin-card" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('quota.title')}</h3>
      <p>
        {t('quota.current')} <QuotaText bytes={tenant.storageQuotaBytes} />
      </p>
      <fieldset className="admin-radios">
        <legend className="visually-hidden">{t('quota.title')}</legend>
        {(['default', 'unlimited', 'limit'] as const).map((m) => (
          <label key={m}>
            <input
              type="radio"
              name={`${id}-mode`}
              value={m}
              checked={mode === m}
              onChange={() => setMode(m)}
            />
            {t(`quota.mode.${m}`)}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={id}>{t('quota.size')}</label>
        <span className="admin-unit">
          <input
            id={id}
            inputMode="decimal"
            value={gb}
            disabled={mode !== 'limit'}
            onChange={(e) => setGb(e.target.value)}
            aria-invalid={invalid || undefined}
            aria-describedby={`${id}-hint`}
          />
          <span aria-hidden="true">GB</span>
        </span>
        <small id={`${id}-hint`} className={invalid ? 'error' : 'muted'}>
          {invalid ? t('quota.invalid') : t('quota.hint')}
        </small>
      </div>
      <button type="submit" className="button" disabled={update.isPending}>
        {t('quota.save')}
      </button>
      <p className="notice" role="status">
        {update.isSuccess ? t('saved') : ''}
      </p>
      {update.isError && (
        <p className="error" role="alert">
          {errorMessage(update.error, t)}
        </p>
      )}
    </form>
  );
}

const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;

function InviteOwner({ tenant }: { tenant: Tenant }) {
  const { t, i18n } = useTranslation('admin');
  const id = useId();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<(typeof ROLES)[number]>('owner');
  const invite = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/tenants/{id}/invitations', {
          params: { path: { id: tenant.id } },
          body: { email: email.trim(), role },
        }),
      ),
    onSuccess: () => setEmail(''),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim()) invite.mutate();
  };
  return (
    <section className="card admin-card" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('invite.title')}</h3>
      {invite.data ? (
        <OnceSecret
          label={t('invite.link', { email: invite.data.member.email })}
          value={invite.data.invitation.url}
          note={t('invite.expires', {
            date: dateTime(i18n.language).format(new Date(invite.data.invitation.expiresAt)),
          })}
          onDone={() => invite.reset()}
        />
      ) : (
        <form onSubmit={submit}>
          <p className="muted">{t('invite.help')}</p>
          <div className="field">
            <label htmlFor={`${id}-email`}>{t('invite.email')}</label>
            <input
              id={`${id}-email`}
              type="email"
              autoComplete="off"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              required
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>{t('invite.role')}</label>
            <select
              id={`${id}-role`}
              value={role}
              onChange={(e) => setRole(e.target.value as (typeof ROLES)[number])}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`common:role.${r}`)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button primary" disabled={invite.isPending}>
            {t('invite.submit')}
          </button>
          {invite.isError && (
            <p className="error" role="alert">
              {errorMessage(invite.error, t)}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
