import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../../api/errors';

/** A failed read: the message and a retry button. */
export function ErrorBox({ error, retry }: { error: unknown; retry: () => void }) {
  const { t } = useTranslation('admin');
  return (
    <div className="error-box" role="alert">
      <p>{errorMessage(error, t)}</p>
      <button type="button" className="button" onClick={retry}>
        {t('common:retry')}
      </button>
    </div>
  );
}

/** A secret shown once (an invitation link, an API key): read-only, a copy button, and the warning. */
export function OnceSecret(props: { label: string; value: string; note?: string; onDone: () => void }) {
  const { t } = useTranslation('admin');
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <section className="admin-secret" aria-label={props.label}>
      <p className="admin-secret-warning">
        <strong>{t('onceWarning')}</strong>
      </p>
      <div className="field">
        <label>
          {props.label}
          <input
            readOnly
            value={props.value}
            className="admin-secret-value"
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
      </div>
      {props.note && <p className="muted">{props.note}</p>}
      <div className="admin-actions">
        <button type="button" className="button primary" onClick={() => void copy()}>
          {t('copy')}
        </button>
        <button type="button" className="button" onClick={props.onDone}>
          {t('done')}
        </button>
        <span role="status" className="notice">
          {copied ? t('copied') : ''}
        </span>
      </div>
    </section>
  );
}

/** Previous / page n / Next for a cursor list. */
export function Pager(props: {
  label: string;
  number: number;
  hasPrevious: boolean;
  nextCursor: string | null | undefined;
  busy?: boolean;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  const { t } = useTranslation('admin');
  const { nextCursor } = props;
  if (!props.hasPrevious && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" className="button" disabled={!props.hasPrevious} onClick={props.onPrevious}>
        {t('previous')}
      </button>
      <span aria-live="polite">{t('page', { n: props.number })}</span>
      <button
        type="button"
        className="button"
        disabled={!nextCursor || props.busy}
        onClick={() => nextCursor && props.onNext(nextCursor)}
      >
        {t('next')}
      </button>
    </nav>
  );
}
