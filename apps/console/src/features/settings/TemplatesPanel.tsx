import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { ListStates, MoreButton, useAccess, useCursorList } from './shared';
import { type Template, TemplateEditor } from './TemplateEditor';

const KEY = ['settings', 'templates'] as const;

export function TemplatesPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  const client = useQueryClient();
  const [editing, setEditing] = useState<Template | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Template | null>(null);
  const [notice, setNotice] = useState('');
  const list = useCursorList(KEY, async (cursor) =>
    unwrap(await api.GET('/v1/templates', { params: { query: { limit: 100, cursor } } })),
  );
  const remove = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/templates/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setNotice(t('templates.deleted', { name: deleting?.name }));
      setDeleting(null);
      void client.invalidateQueries({ queryKey: KEY });
    },
  });

  if (editing)
    return (
      <div className="panel">
        <TemplateEditor
          template={editing === 'new' ? null : editing}
          onDone={(saved) => {
            setEditing(null);
            if (saved) setNotice(t('templates.saved', { name: saved }));
            void client.invalidateQueries({ queryKey: KEY });
          }}
        />
      </div>
    );

  return (
    <div className="panel">
      <div className="page-head">
        <h2>{t('templates.title')}</h2>
        {settings && (
          <button type="button" className="button primary" onClick={() => setEditing('new')}>
            {t('templates.new')}
          </button>
        )}
      </div>
      <p className="muted">{t('templates.intro')}</p>
      {!settings && (
        <p className="role-note" role="note">
          {t('readOnly')}
        </p>
      )}
      <p role="status" className="notice">
        {notice}
      </p>
      <ListStates list={list} empty={t('templates.empty')}>
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('templates.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('name')}</th>
                <th scope="col">{t('templates.renditions')}</th>
                <th scope="col" className="hide-narrow">
                  {t('templates.encryption')}
                </th>
                <th scope="col" className="hide-narrow">
                  {t('templates.watermark')}
                </th>
                {settings && <th scope="col">{t('actions')}</th>}
              </tr>
            </thead>
            <tbody>
              {list.rows.map((tpl) => (
                <tr key={tpl.id}>
                  <td>
                    <span className="strong">{tpl.name}</span>
                    {tpl.isDefault && <span className="tag default-tag">{t('templates.default')}</span>}
                  </td>
                  <td>
                    <span className="tags">
                      {tpl.renditions.map((r) => (
                        <span key={r.name} className="tag">
                          {r.name} · {Math.round(r.videoBitrate / 1000)} kbit/s
                        </span>
                      ))}
                    </span>
                  </td>
                  <td className="hide-narrow">{t(`templates.enc.${tpl.hls.encryption}`)}</td>
                  <td className="hide-narrow">{tpl.watermark ? t('yes') : t('no')}</td>
                  {settings && (
                    <td className="actions">
                      <button
                        type="button"
                        className="button small"
                        aria-label={t('editLabel', { name: tpl.name })}
                        onClick={() => setEditing(tpl)}
                      >
                        {t('edit')}
                      </button>
                      <button
                        type="button"
                        className="button small danger-outline"
                        aria-label={t('deleteLabel', { name: tpl.name })}
                        onClick={() => setDeleting(tpl)}
                      >
                        {t('delete')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListStates>
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!deleting}
        onOpenChange={(o) => {
          if (!o) {
            setDeleting(null);
            remove.reset();
          }
        }}
        title={t('templates.confirmDelete', { name: deleting?.name })}
        confirmLabel={t('delete')}
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
      >
        <p>{t('templates.confirmDeleteBody')}</p>
        {remove.error ? (
          <p className="error" role="alert">
            {errorMessage(remove.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}
