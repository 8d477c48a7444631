import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Video } from '@vodcloud/sdk';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';

/** Title, description, tags and category: a form with Save for writers, text for viewers. */
export function Metadata({ v, writer }: { v: Video; writer: boolean }) {
  const { t } = useTranslation('video');
  const client = useQueryClient();
  const categories = useQuery({
    queryKey: ['categories'],
    queryFn: async () => unwrap(await api.GET('/v1/categories', { params: { query: { limit: 100 } } })).data,
    staleTime: 60_000,
  });
  const [form, setForm] = useState({
    title: v.title ?? '',
    description: v.description ?? '',
    tags: v.tags.join(', '),
    categoryId: v.categoryId ?? '',
  });
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH('/v1/videos/{id}', {
          params: { path: { id: v.id } },
          body: {
            title: form.title,
            description: form.description,
            tags: form.tags
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            categoryId: form.categoryId || null,
          },
        }),
      ),
    onSuccess: (updated) => {
      client.setQueryData(['video', v.id], updated);
      void client.invalidateQueries({ queryKey: ['videos'] });
      setSaved(true);
    },
  });
  const category = categories.data?.find((c) => c.id === v.categoryId)?.name;

  if (!writer)
    return (
      <section aria-labelledby="meta-h" className="panel">
        <h2 id="meta-h">{t('metadata')}</h2>
        <dl className="facts">
          <dt>{t('fields.title')}</dt>
          <dd>{v.title || t('none')}</dd>
          <dt>{t('fields.description')}</dt>
          <dd className="pre">{v.description || t('none')}</dd>
          <dt>{t('fields.tags')}</dt>
          <dd>{v.tags.length ? v.tags.join(', ') : t('none')}</dd>
          <dt>{t('fields.category')}</dt>
          <dd>{category ?? t('none')}</dd>
          <dt>{t('fields.policy')}</dt>
          <dd>{t(`policies.${v.playback.policy}`)}</dd>
        </dl>
      </section>
    );

  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => {
    setSaved(false);
    setForm({ ...form, [k]: e.target.value });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <section aria-labelledby="meta-h" className="panel">
      <h2 id="meta-h">{t('metadata')}</h2>
      <form className="meta-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="meta-title">{t('fields.title')}</label>
          <input id="meta-title" value={form.title} maxLength={500} onChange={set('title')} />
        </div>
        <div className="field">
          <label htmlFor="meta-description">{t('fields.description')}</label>
          <textarea id="meta-description" rows={3} value={form.description} onChange={set('description')} />
        </div>
        <div className="field">
          <label htmlFor="meta-tags">{t('fields.tags')}</label>
          <input id="meta-tags" value={form.tags} aria-describedby="meta-tags-hint" onChange={set('tags')} />
          <small id="meta-tags-hint" className="muted">
            {t('fields.tagsHint')}
          </small>
        </div>
        <div className="field">
          <label htmlFor="meta-category">{t('fields.category')}</label>
          <select id="meta-category" value={form.categoryId} onChange={set('categoryId')}>
            <option value="">{t('fields.noCategory')}</option>
            {(categories.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {save.isPending ? t('saving') : t('save')}
          </button>
          <span role="status" className="notice">
            {saved ? t('saved') : ''}
          </span>
        </div>
        {save.error && (
          <p className="error" role="alert">
            {errorMessage(save.error, t)}
          </p>
        )}
      </form>
    </section>
  );
}
