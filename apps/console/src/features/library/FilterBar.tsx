import type { components } from '@vodcloud/sdk';
import { type FormEvent, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { type LibraryFilters, NO_FILTERS, ORDERS, STATUSES } from './filters';

type Category = components['schemas']['Category'];

/** The filters as one form: text fields apply on submit (Enter or Apply), selects and dates at once. */
export function FilterBar(props: {
  filters: LibraryFilters;
  categories: Category[];
  onChange: (f: LibraryFilters) => void;
}) {
  const { t } = useTranslation('library');
  const id = useId();
  const f = props.filters;
  const set = (patch: Partial<LibraryFilters>) => props.onChange({ ...f, ...patch });
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    set({ q: String(form.get('q') ?? '').trim(), tag: String(form.get('tag') ?? '').trim() });
  };
  const changed = JSON.stringify(f) !== JSON.stringify(NO_FILTERS);
  return (
    <search aria-label={t('filters')}>
      <form className="filters" onSubmit={onSubmit} key={`${f.q}\u0000${f.tag}`}>
        <div className="field grow">
          <label htmlFor={`${id}-q`}>{t('search')}</label>
          <input id={`${id}-q`} name="q" type="search" defaultValue={f.q} maxLength={200} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-status`}>{t('status')}</label>
          <select
            id={`${id}-status`}
            value={f.status}
            onChange={(e) => set({ status: e.target.value as LibraryFilters['status'] })}
          >
            <option value="">{t('anyStatus')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`statuses.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-category`}>{t('category')}</label>
          <select
            id={`${id}-category`}
            value={f.categoryId}
            onChange={(e) => set({ categoryId: e.target.value })}
          >
            <option value="">{t('anyCategory')}</option>
            {props.categories.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-tag`}>{t('tag')}</label>
          <input id={`${id}-tag`} name="tag" defaultValue={f.tag} maxLength={64} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-from`}>{t('from')}</label>
          <input
            id={`${id}-from`}
            type="date"
            value={f.from}
            max={f.to || undefined}
            onChange={(e) => set({ from: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-to`}>{t('to')}</label>
          <input
            id={`${id}-to`}
            type="date"
            value={f.to}
            min={f.from || undefined}
            onChange={(e) => set({ to: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-order`}>{t('order')}</label>
          <select
            id={`${id}-order`}
            value={f.order}
            onChange={(e) => set({ order: e.target.value as LibraryFilters['order'] })}
          >
            {ORDERS.map((o) => (
              <option key={o} value={o}>
                {t(o)}
              </option>
            ))}
          </select>
        </div>
        <div className="filter-actions">
          <button type="submit" className="button">
            {t('apply')}
          </button>
          {changed && (
            <button type="button" className="button ghost" onClick={() => props.onChange(NO_FILTERS)}>
              {t('clear')}
            </button>
          )}
        </div>
      </form>
    </search>
  );
}
