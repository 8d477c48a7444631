import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import {
  FieldMessage,
  FormError,
  fieldErrors,
  invalid,
  ListStates,
  MoreButton,
  useAccess,
  useCursorList,
  When,
} from './shared';

const KEY = ['settings', 'categories'] as const;
/** The field the user just asked to edit takes the focus. */
const focusOnMount = (el: HTMLInputElement | null) => el?.focus();

export function CategoriesPanel() {
  const { t } = useTranslation('settings');
  const { write } = useAccess();
  const client = useQueryClient();
  const [notice, setNotice] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<{ id: string; name: string } | null>(null);
  const list = useCursorList(KEY, async (cursor) =>
    unwrap(await api.GET('/v1/categories', { params: { query: { limit: 100, cursor } } })),
  );
  const refresh = () => {
    void client.invalidateQueries({ queryKey: KEY });
    void client.invalidateQueries({ queryKey: ['categories'] });
  };

  const create = useMutation({
    mutationFn: async (body: { name: string; description: string | null }) =>
      unwrap(await api.POST('/v1/categories', { body })),
    onSuccess: (c) => {
      setNotice(t('categories.created', { name: c.name }));
      refresh();
    },
  });
  const rename = useMutation({
    mutationFn: async (v: { id: string; name: string; description: string | null }) =>
      unwrap(
        await api.PATCH('/v1/categories/{id}', {
          params: { path: { id: v.id } },
          body: { name: v.name, description: v.description },
        }),
      ),
    onSuccess: (c) => {
      setNotice(t('categories.saved', { name: c.name }));
      setEditing(null);
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/categories/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setNotice(t('categories.deleted', { name: deleting?.name }));
      setDeleting(null);
      refresh();
    },
  });

  const onCreate = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    create.mutate(
      { name: String(data.get('name') ?? ''), description: String(data.get('description') ?? '') || null },
      { onSuccess: () => form.reset() },
    );
  };
  const createErrors = fieldErrors(create.error);

  return (
    <div className="panel">
      <h2>{t('categories.title')}</h2>
      <p className="muted">{t('categories.intro')}</p>
      <p role="status" className="notice">
        {notice}
      </p>
      {write ? (
        <form className="card form-card" onSubmit={onCreate} noValidate>
          <h3>{t('categories.new')}</h3>
          <div className="row">
            <div className="field">
              <label htmlFor="cat-name">{t('name')}</label>
              <input id="cat-name" name="name" required {...invalid('cat-name-err', createErrors.name)} />
              <FieldMessage id="cat-name-err" message={createErrors.name} />
            </div>
            <div className="field grow">
              <label htmlFor="cat-description">{t('description')}</label>
              <input
                id="cat-description"
                name="description"
                {...invalid('cat-description-err', createErrors.description)}
              />
              <FieldMessage id="cat-description-err" message={createErrors.description} />
            </div>
            <button type="submit" className="button primary" disabled={create.isPending}>
              {t('categories.create')}
            </button>
          </div>
          <FormError error={create.error} />
        </form>
      ) : (
        <p className="role-note" role="note">
          {t('readOnly')}
        </p>
      )}
      <ListStates list={list} empty={t('categories.empty')}>
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('categories.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('name')}</th>
                <th scope="col">{t('description')}</th>
                <th scope="col">{t('created')}</th>
                {write && <th scope="col">{t('actions')}</th>}
              </tr>
            </thead>
            <tbody>
              {list.rows.map((c) =>
                editing === c.id ? (
                  <tr key={c.id}>
                    <td colSpan={write ? 4 : 3}>
                      <RenameForm
                        category={c}
                        busy={rename.isPending}
                        error={rename.error}
                        onSave={(name, description) => rename.mutate({ id: c.id, name, description })}
                        onCancel={() => {
                          setEditing(null);
                          rename.reset();
                        }}
                      />
                    </td>
                  </tr>
                ) : (
                  <tr key={c.id}>
                    <td className="strong">{c.name}</td>
                    <td>{c.description ?? ''}</td>
                    <td>
                      <When iso={c.createdAt} />
                    </td>
                    {write && (
                      <td className="actions">
                        <button
                          type="button"
                          className="button small"
                          onClick={() => setEditing(c.id)}
                          aria-label={t('categories.renameLabel', { name: c.name })}
                        >
                          {t('rename')}
                        </button>
                        <button
                          type="button"
                          className="button small danger-outline"
                          onClick={() => setDeleting({ id: c.id, name: c.name })}
                          aria-label={t('deleteLabel', { name: c.name })}
                        >
                          {t('delete')}
                        </button>
                      </td>
                    )}
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      </ListStates>
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!deleting}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={t('categories.confirmDelete', { name: deleting?.name })}
        confirmLabel={t('delete')}
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
      >
        <p>{t('categories.confirmDeleteBody')}</p>
        {remove.error ? (
          <p className="error" role="alert">
            {errorMessage(remove.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

function RenameForm(props: {
  category: { id: string; name: string; description: string | null };
  busy: boolean;
  error: unknown;
  onSave: (name: string, description: string | null) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('settings');
  const errors = fieldErrors(props.error);
  const id = `rename-${props.category.id}`;
  return (
    <form
      className="row"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        props.onSave(String(data.get('name') ?? ''), String(data.get('description') ?? '') || null);
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-name`}>{t('name')}</label>
        <input
          id={`${id}-name`}
          name="name"
          defaultValue={props.category.name}
          ref={focusOnMount}
          {...invalid(`${id}-err`, errors.name)}
        />
        <FieldMessage id={`${id}-err`} message={errors.name} />
      </div>
      <div className="field grow">
        <label htmlFor={`${id}-description`}>{t('description')}</label>
        <input id={`${id}-description`} name="description" defaultValue={props.category.description ?? ''} />
      </div>
      <button type="submit" className="button primary" disabled={props.busy}>
        {t('save')}
      </button>
      <button type="button" className="button" onClick={props.onCancel}>
        {t('common:cancel')}
      </button>
      <FormError error={props.error} />
    </form>
  );
}
