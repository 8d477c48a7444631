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
  LoadError,
  Loading,
  MoreButton,
  SecretOnce,
  useAccess,
  useCursorList,
  When,
} from './shared';

const KEY = ['settings', 'members'] as const;
const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
type Role = (typeof ROLES)[number];
interface Member {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  status: 'active' | 'invited';
}

export function MembersPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  return (
    <div className="panel">
      <h2>{t('members.title')}</h2>
      {settings ? <Members /> : <Forbidden />}
    </div>
  );
}

function Members() {
  const { t } = useTranslation('settings');
  const { owner, user } = useAccess();
  const client = useQueryClient();
  const [notice, setNotice] = useState('');
  const [link, setLink] = useState<{ label: string; url: string } | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const roles = ROLES.filter((r) => owner || r !== 'owner');
  const list = useCursorList(KEY, async (cursor) =>
    unwrap(await api.GET('/v1/members', { params: { query: { limit: 100, cursor } } })),
  );
  const refresh = () => void client.invalidateQueries({ queryKey: KEY });

  const invite = useMutation({
    mutationFn: async (body: { email: string; role: Role; name?: string }) =>
      unwrap(await api.POST('/v1/members', { body })),
    onSuccess: (r) => {
      setNotice('');
      setLink({ label: t('members.inviteLink', { email: r.member.email }), url: r.invitation.url });
      refresh();
    },
  });
  const changeRole = useMutation({
    mutationFn: async (v: { member: Member; role: Role }) =>
      unwrap(
        await api.PATCH('/v1/members/{id}', {
          params: { path: { id: v.member.id } },
          body: { role: v.role },
        }),
      ),
    onSuccess: (m) => {
      setNotice(t('members.roleChanged', { email: m.email, role: t(`common:role.${m.role}`) }));
      refresh();
    },
    onError: () => setNotice(''),
  });
  const reset = useMutation({
    mutationFn: async (m: Member) =>
      unwrap(await api.POST('/v1/members/{id}/password-reset', { params: { path: { id: m.id } } })),
    onSuccess: (r, m) => {
      setNotice('');
      setLink({ label: t('members.resetLink', { email: m.email }), url: r.invitation.url });
    },
  });
  const remove = useMutation({
    mutationFn: async (m: Member) =>
      unwrap(await api.DELETE('/v1/members/{id}', { params: { path: { id: m.id } } })),
    onSuccess: (_, m) => {
      setNotice(t(m.status === 'invited' ? 'members.revokedInvite' : 'members.removed', { email: m.email }));
      setRemoving(null);
      refresh();
    },
  });
  const rowError = changeRole.error ?? reset.error;

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const name = String(data.get('name') ?? '').trim();
    invite.mutate(
      {
        email: String(data.get('email') ?? '').trim(),
        role: String(data.get('role')) as Role,
        ...(name ? { name } : {}),
      },
      { onSuccess: () => form.reset() },
    );
  };
  const errors = fieldErrors(invite.error);

  return (
    <>
      <p role="status" className="notice">
        {notice}
      </p>
      {link ? (
        <SecretOnce
          label={link.label}
          value={link.url}
          note={t('members.sendIt')}
          onDone={() => setLink(null)}
        />
      ) : (
        <form className="card form-card" onSubmit={submit} noValidate>
          <h3>{t('members.invite')}</h3>
          <div className="row">
            <div className="field grow">
              <label htmlFor="inv-email">{t('members.email')}</label>
              <input
                id="inv-email"
                name="email"
                type="email"
                autoComplete="off"
                required
                {...invalid('inv-email-err', errors.email)}
              />
              <FieldMessage id="inv-email-err" message={errors.email} />
            </div>
            <div className="field">
              <label htmlFor="inv-name">{t('members.nameOptional')}</label>
              <input id="inv-name" name="name" autoComplete="off" {...invalid('inv-name-err', errors.name)} />
              <FieldMessage id="inv-name-err" message={errors.name} />
            </div>
            <div className="field">
              <label htmlFor="inv-role">{t('role')}</label>
              <select id="inv-role" name="role" defaultValue="member">
                {roles.map((r) => (
                  <option key={r} value={r}>
                    {t(`common:role.${r}`)}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="button primary" disabled={invite.isPending}>
              {t('members.sendInvite')}
            </button>
          </div>
          <FormError error={invite.error} />
        </form>
      )}
      {rowError ? (
        <p className="error" role="alert">
          {errorMessage(rowError, t)}
        </p>
      ) : null}
      {list.isError ? (
        <LoadError error={list.error} retry={() => void list.refetch()} />
      ) : list.isPending ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('members.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('members.person')}</th>
                <th scope="col">{t('role')}</th>
                <th scope="col" className="hide-narrow">
                  {t('status')}
                </th>
                <th scope="col" className="hide-narrow">
                  {t('members.lastSeen')}
                </th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.rows.map((m) => {
                const locked = m.role === 'owner' && !owner;
                const self = m.id === user?.id;
                return (
                  <tr key={m.id}>
                    <td>
                      <span className="strong">{m.name || m.email}</span>
                      {m.name && <span className="sub">{m.email}</span>}
                      {self && <span className="sub">{t('members.you')}</span>}
                      {/* On a phone the status column is hidden: the status goes under the name. */}
                      <span className="sub show-narrow">
                        {m.status === 'invited' ? t('members.invited') : t('members.active')}
                      </span>
                    </td>
                    <td>
                      <label className="visually-hidden" htmlFor={`role-${m.id}`}>
                        {t('members.roleOf', { email: m.email })}
                      </label>
                      <select
                        id={`role-${m.id}`}
                        value={m.role}
                        disabled={locked || changeRole.isPending}
                        onChange={(e) => {
                          reset.reset();
                          changeRole.mutate({ member: m, role: e.target.value as Role });
                        }}
                      >
                        {(locked ? ROLES : roles).map((r) => (
                          <option key={r} value={r}>
                            {t(`common:role.${r}`)}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td className="hide-narrow">
                      {m.status === 'invited' ? (
                        <span className="status status-queued">{t('members.invited')}</span>
                      ) : (
                        <span className="status status-ready">{t('members.active')}</span>
                      )}
                    </td>
                    <td className="hide-narrow">
                      {m.status === 'invited' ? (
                        <>
                          {t('members.expires')} <When iso={m.expiresAt} />
                        </>
                      ) : (
                        <When iso={m.lastLoginAt} />
                      )}
                    </td>
                    <td className="actions">
                      {m.status === 'active' && !locked && (
                        <button
                          type="button"
                          className="button small"
                          disabled={reset.isPending}
                          aria-label={t('members.resetLabel', { email: m.email })}
                          onClick={() => {
                            changeRole.reset();
                            reset.mutate(m);
                          }}
                        >
                          {t('members.reset')}
                        </button>
                      )}
                      {!locked && (
                        <button
                          type="button"
                          className="button small danger-outline"
                          aria-label={t(
                            m.status === 'invited' ? 'members.revokeLabel' : 'members.removeLabel',
                            {
                              email: m.email,
                            },
                          )}
                          onClick={() => setRemoving(m)}
                        >
                          {m.status === 'invited' ? t('members.revoke') : t('members.remove')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!removing}
        onOpenChange={(o) => {
          if (!o) {
            setRemoving(null);
            remove.reset();
          }
        }}
        title={t(removing?.status === 'invited' ? 'members.confirmRevoke' : 'members.confirmRemove', {
          email: removing?.email,
        })}
        confirmLabel={removing?.status === 'invited' ? t('members.revoke') : t('members.remove')}
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing)}
      >
        <p>
          {removing?.status === 'invited' ? t('members.confirmRevokeBody') : t('members.confirmRemoveBody')}
        </p>
        {remove.error ? (
          <p className="error" role="alert">
            {errorMessage(remove.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
