import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/** A read-only code block with a Copy button (the label names what is copied). */
export function CopyField(props: { label: string; value: string; id: string; multiline?: boolean }) {
  const { t } = useTranslation('video');
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      // No clipboard (an insecure origin): select the text for Ctrl+C.
      (document.getElementById(props.id) as HTMLTextAreaElement | null)?.select();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <div className="copy-field">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="copy-row">
        <textarea
          id={props.id}
          readOnly
          rows={props.multiline ? 3 : 1}
          value={props.value}
          spellCheck={false}
        />
        <button
          type="button"
          className="button"
          aria-label={t('copyWhat', { what: props.label })}
          onClick={copy}
        >
          {t('copy')}
        </button>
      </div>
      <span role="status" className="notice">
        {copied ? t('copied') : ''}
      </span>
    </div>
  );
}
