import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import {
  FieldMessage,
  Forbidden,
  FormError,
  fieldErrors,
  invalid,
  ListStates,
  MoreButton,
  SecretOnce,
  useAccess,
  useCursorList,
  When,
} from './shared';

const API_KEYS = ['settings', 'api-keys'] as const;
const SIGNING_KEYS = ['settings', 'signing-keys'] as const;

export function KeysPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  return (
    <div className="panel">
      <h2>{t('keys.title')}</h2>
      {settings ? (
        <>
          <ApiKeys />
          <SigningKeys />
        </>
      ) : (
        <Forbidden />
      )}
    </div>
  );
}

function ApiKeys() {
  const { t } = useTranslation('settings');
  const client = useQueryClient();
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const [notice, setNotice] = useState('');
  const list = useCursorList(API_KEYS, async (cursor) =>
    unwrap(await api.GET('/v1/api-keys', { params: { query: { limit: 100, cursor } } })),
  );
  const create = useMutation({
    mutationFn: async (body: { name: string; scopes: Array<'read' | 'write'> }) =>
      unwrap(await api.POST('/v1/api-keys', { body })),
    onSuccess: (k) => {
      setCreated({ name: k.name, key: k.key });
      setNotice('');
      void client.invalidateQueries({ queryKey: API_KEYS });
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setNotice(t('keys.revoked', { name: revoking?.name }));
      setRevoking(null);
      void client.invalidateQueries({ queryKey: API_KEYS });
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    create.mutate(
      {
        name: String(data.get('name') ?? ''),
        scopes: data.getAll('scopes').map(String) as Array<'read' | 'write'>,
      },
      { onSuccess: () => form.reset() },
    );
  };
  const errors = fieldErrors(create.error);
  return (
    <section aria-labelledby="api-keys-title" className="subsection">
      <h3 id="api-keys-title">{t('keys.apiKeys')}</h3>
      <p className="muted">{t('keys.apiIntro')}</p>
      <p role="status" className="notice">
        {notice}
      </p>
      {created ? (
        <SecretOnce
          label={t('keys.theKey', { name: created.name })}
          value={created.key}
          onDone={() => setCreated(null)}
        />
      ) : (
        <form className="card form-card" onSubmit={submit} noValidate>
          <h4>{t('keys.newApiKey')}</h4>
          <div className="row">
            <div className="field grow">
              <label htmlFor="key-name">{t('name')}</label>
              <input id="key-name" name="name" required {...invalid('key-name-err', errors.name)} />
              <FieldMessage id="key-name-err" message={errors.name} />
            </div>
            <fieldset className="inline-choices" {...invalid('key-scopes-err', errors.scopes)}>
              <legend>{t('keys.scopes')}</legend>
              <label>
                <input type="checkbox" name="scopes" value="read" defaultChecked /> {t('keys.scope.read')}
              </label>
              <label>
                <input type="checkbox" name="scopes" value="write" /> {t('keys.scope.write')}
              </label>
              <FieldMessage id="key-scopes-err" message={errors.scopes} />
            </fieldset>
            <button type="submit" className="button primary" disabled={create.isPending}>
              {t('keys.createApiKey')}
            </button>
          </div>
          <FormError error={create.error} />
        </form>
      )}
      <ListStates list={list} empty={t('keys.noApiKeys')}>
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('keys.apiKeys')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('name')}</th>
                <th scope="col">{t('keys.scopes')}</th>
                <th scope="col" className="hide-narrow">
                  {t('created')}
                </th>
                <th scope="col">{t('keys.lastUsed')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.rows.map((k) => (
                <tr key={k.id}>
                  <td className="strong">{k.name}</td>
                  <td>{k.scopes.map((s) => t(`keys.scope.${s}`, { defaultValue: s })).join(', ')}</td>
                  <td className="hide-narrow">
                    <When iso={k.createdAt} />
                  </td>
                  <td>
                    <When iso={k.lastUsedAt} />
                  </td>
                  <td>
                    {k.revokedAt ? (
                      <span className="status status-blocked">{t('keys.revokedState')}</span>
                    ) : (
                      <span className="status status-ready">{t('keys.activeState')}</span>
                    )}
                  </td>
                  <td className="actions">
                    {!k.revokedAt && (
                      <button
                        type="button"
                        className="button small danger-outline"
                        aria-label={t('keys.revokeLabel', { name: k.name })}
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
      </ListStates>
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={t('keys.confirmRevoke', { name: revoking?.name })}
        confirmLabel={t('keys.revoke')}
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      >
        <p>{t('keys.confirmRevokeBody')}</p>
        {revoke.error ? (
          <p className="error" role="alert">
            {errorMessage(revoke.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}

function SigningKeys() {
  const { t } = useTranslation('settings');
  const client = useQueryClient();
  const [created, setCreated] = useState<{ id: string; privateKey?: string | undefined } | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const list = useCursorList(SIGNING_KEYS, async (cursor) =>
    unwrap(await api.GET('/v1/signing-keys', { params: { query: { limit: 100, cursor } } })),
  );
  const create = useMutation({
    mutationFn: async (publicKey: string | null) =>
      unwrap(await api.POST('/v1/signing-keys', { body: publicKey ? { publicKey } : {} })),
    onSuccess: (k) => {
      setNotice(k.privateKey ? '' : t('keys.registered', { id: k.id }));
      setCreated(k.privateKey ? { id: k.id, privateKey: k.privateKey } : null);
      void client.invalidateQueries({ queryKey: SIGNING_KEYS });
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/signing-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setNotice(t('keys.signingRevoked', { id: revoking }));
      setRevoking(null);
      void client.invalidateQueries({ queryKey: SIGNING_KEYS });
    },
  });
  const errors = fieldErrors(create.error);
  const register = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const pem = String(new FormData(form).get('publicKey') ?? '').trim();
    create.mutate(pem || null, { onSuccess: () => form.reset() });
  };
  return (
    <section aria-labelledby="signing-keys-title" className="subsection">
      <h3 id="signing-keys-title">{t('keys.signingKeys')}</h3>
      <p className="muted">{t('keys.signingIntro')}</p>
      <p role="status" className="notice">
        {notice}
      </p>
      {created?.privateKey ? (
        <SecretOnce
          label={t('keys.privateKey', { id: created.id })}
          value={created.privateKey}
          multiline
          onDone={() => setCreated(null)}
        />
      ) : (
        <div className="card form-card">
          <div className="row">
            <button
              type="button"
              className="button primary"
              disabled={create.isPending}
              onClick={() => create.mutate(null)}
            >
              {t('keys.generate')}
            </button>
          </div>
          <details>
            <summary>{t('keys.registerOwn')}</summary>
            <form onSubmit={register} noValidate>
              <div className="field">
                <label htmlFor="sk-public">{t('keys.publicKey')}</label>
                <textarea
                  id="sk-public"
                  name="publicKey"
                  rows={5}
                  className="mono"
                  spellCheck={false}
                  placeholder="-----BEGIN PUBLIC KEY-----"
                  {...invalid('sk-public-err', errors.publicKey)}
                />
                <FieldMessage id="sk-public-err" message={errors.publicKey} />
              </div>
              <button type="submit" className="button" disabled={create.isPending}>
                {t('keys.register')}
              </button>
            </form>
          </details>
          <FormError error={create.error} />
        </div>
      )}
      <ListStates list={list} empty={t('keys.noSigningKeys')}>
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('keys.signingKeys')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('keys.keyId')}</th>
                <th scope="col" className="hide-narrow">
                  {t('keys.kind')}
                </th>
                <th scope="col" className="hide-narrow">
                  {t('created')}
                </th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.rows.map((k) => (
                <tr key={k.id}>
                  <td className="mono key-id">{k.id}</td>
                  <td className="hide-narrow">{k.managed ? t('keys.managed') : t('keys.own')}</td>
                  <td className="hide-narrow">
                    <When iso={k.createdAt} />
                  </td>
                  <td>
                    {k.revokedAt ? (
                      <span className="status status-blocked">{t('keys.revokedState')}</span>
                    ) : (
                      <span className="status status-ready">{t('keys.activeState')}</span>
                    )}
                  </td>
                  <td className="actions">
                    {!k.revokedAt && !k.managed && (
                      <button
                        type="button"
                        className="button small danger-outline"
                        aria-label={t('keys.revokeLabel', { name: k.id })}
                        onClick={() => setRevoking(k.id)}
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
      </ListStates>
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={t('keys.confirmRevoke', { name: revoking })}
        confirmLabel={t('keys.revoke')}
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      >
        <p>{t('keys.confirmRevokeSigning')}</p>
        {revoke.error ? (
          <p className="error" role="alert">
            {errorMessage(revoke.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}
