// Pieces the statistics page and the video page's statistics panel share. Importing this module registers
// the `stats` strings and styles (the video page uses them too).
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../../api/errors';
import { registerMessages } from '../../i18n';
import { messages } from './messages';
import './stats.css';

registerMessages('stats', messages);

/** A group of radio buttons drawn as a segmented switch (a range, a metric). */
export function Segmented<T extends string>(p: {
  legend: string;
  options: readonly T[];
  value: T;
  label: (option: T) => string;
  onChange: (option: T) => void;
}) {
  const name = useId();
  return (
    <fieldset className="stats-segmented">
      <legend>{p.legend}</legend>
      <div className="stats-segments">
        {p.options.map((o) => (
          <label key={o} className={o === p.value ? 'on' : undefined}>
            <input
              type="radio"
              name={name}
              value={o}
              checked={o === p.value}
              onChange={() => p.onChange(o)}
            />
            {p.label(o)}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** Figures as a row of cards: a description list (name, value, an optional note). */
export function Totals({ label, items }: { label: string; items: Array<[string, string, string?]> }) {
  return (
    <dl className="stats-totals" aria-label={label}>
      {items.map(([name, value, note]) => (
        <div key={name} className="stats-total">
          <dt>{name}</dt>
          <dd>
            {value}
            {note && <small className="muted"> {note}</small>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** "Download CSV" (its accessible name says of what): a same-origin GET, authenticated by the session cookie. */
export function CsvLink({ href, what }: { href: string; what: string }) {
  const { t } = useTranslation('stats');
  return (
    <a className="button stats-csv" href={href} download aria-label={t('downloadCsvOf', { what })}>
      <span aria-hidden="true">⤓ </span>
      {t('downloadCsv')}
    </a>
  );
}

export function LoadError({ error, retry }: { error: unknown; retry: () => void }) {
  const { t } = useTranslation('stats');
  return (
    <div className="error-box" role="alert">
      <p>{errorMessage(error, t)}</p>
      <button type="button" className="button" onClick={retry}>
        {t('common:retry')}
      </button>
    </div>
  );
}

/** A breakdown's value as shown: null is "Unknown"; device classes are translated. */
export function useDimensionLabel() {
  const { t } = useTranslation('stats');
  return (by: 'browser' | 'device', value: string | null) => {
    if (value === null || value === '') return t('unknown');
    if (by === 'device') return t(`devices.${value}`, { defaultValue: value });
    return value;
  };
}

/** A statistics answer as JSON (the routes also answer text/csv, which the console only links to). */
export function json<T>(data: T | string): T {
  if (typeof data === 'string') throw new Error('The statistics API answered CSV where JSON was asked for');
  return data;
}
