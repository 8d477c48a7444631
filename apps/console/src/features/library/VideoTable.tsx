import type { Video } from '@vodcloud/sdk';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ACTIVE_STATUSES } from './filters';

function duration(sec: number | null): string {
  if (sec === null) return '—';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The page's videos; with `selected`, a checkbox per row and one for the page. */
export function VideoTable(props: {
  videos: Video[];
  selected?: Set<string>;
  onSelect?: (ids: string[], on: boolean) => void;
}) {
  const { t, i18n } = useTranslation('library');
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });
  const { selected, onSelect } = props;
  const all = props.videos.length > 0 && props.videos.every((v) => selected?.has(v.id));
  return (
    <div className="table-wrap">
      <table className="videos">
        <caption className="visually-hidden">{t('videos')}</caption>
        <thead>
          <tr>
            {selected && onSelect && (
              <th scope="col" className="check">
                <input
                  type="checkbox"
                  aria-label={t('selectAll')}
                  checked={all}
                  onChange={(e) =>
                    onSelect(
                      props.videos.map((v) => v.id),
                      e.target.checked,
                    )
                  }
                />
              </th>
            )}
            <th scope="col">{t('columns.title')}</th>
            <th scope="col">{t('columns.status')}</th>
            <th scope="col" className="num hide-narrow">
              {t('columns.duration')}
            </th>
            <th scope="col" className="hide-narrow">
              {t('columns.created')}
            </th>
          </tr>
        </thead>
        <tbody>
          {props.videos.map((v) => {
            const title = v.title || t('untitled');
            const active = ACTIVE_STATUSES.has(v.status);
            return (
              <tr key={v.id}>
                {selected && onSelect && (
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={t('select', { title })}
                      checked={selected.has(v.id)}
                      onChange={(e) => onSelect([v.id], e.target.checked)}
                    />
                  </td>
                )}
                <td className="title-cell">
                  <Link to={`/videos/${encodeURIComponent(v.id)}`} className={v.title ? undefined : 'muted'}>
                    {title}
                  </Link>
                  {v.tags.length > 0 && (
                    <span className="tags">
                      {v.tags.map((tag) => (
                        <span key={tag} className="tag">
                          {tag}
                        </span>
                      ))}
                    </span>
                  )}
                </td>
                <td>
                  <span className={`status status-${v.status}`}>{t(`statuses.${v.status}`)}</span>
                  {active && (
                    <span className="progress">
                      <progress max={1} value={v.progress} aria-label={t('progress', { title })} />
                      <span aria-hidden="true">{Math.round(v.progress * 100)}%</span>
                    </span>
                  )}
                </td>
                <td className="num hide-narrow">{duration(v.duration)}</td>
                <td className="hide-narrow">
                  <time dateTime={v.createdAt}>{date.format(new Date(v.createdAt))}</time>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
