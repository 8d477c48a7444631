// Pieces the settings sub-pages share: who may change what, field errors of a problem+json answer, a secret
// shown once with a copy button, and the loading / error / forbidden states.
import { useInfiniteQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { canWrite } from '../../app/roles';
import { useSession } from '../../app/session';

/** What the signed-in user may do here (the server enforces the same: `settings` access is admin or owner). */
export function useAccess() {
  const user = useSession().data?.user;
  const role = user?.role ?? null;
  return {
    user,
    /** Templates, webhooks, keys, referrer policy, members. */
    settings: role === 'owner' || role === 'admin',
    owner: role === 'owner',
    /** Categories (the `write` access). */
    write: canWrite(user),
  };
}

/** The problem's `errors[]` by field path without the `body.` prefix (`renditions.0.name`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof VodCloudError)
    for (const e of err.errors ?? []) {
      const path = e.path.replace(/^body\.?/, '');
      out[path] = out[path] ? `${out[path]}; ${e.message}` : e.message;
    }
  return out;
}

/** The error of a form: field errors go next to their fields, the rest (or a summary) here. */
export function FormError({ error }: { error: unknown }) {
  const { t } = useTranslation('settings');
  if (!error) return null;
  const fields = Object.keys(fieldErrors(error)).length;
  return (
    <p className="error" role="alert">
      {fields ? t('fixFields', { count: fields }) : errorMessage(error, t)}
    </p>
  );
}

/** A field's error message, referenced by the input's aria-describedby. */
export function FieldMessage({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span id={id} className="field-error">
      {message}
    </span>
  );
}

/** aria props of an input that may have an error. */
export function invalid(id: string, message: string | undefined) {
  return message ? { 'aria-invalid': true as const, 'aria-describedby': id } : {};
}

export function Loading() {
  const { t } = useTranslation();
  return <p role="status">{t('common:loading')}</p>;
}

export function LoadError({ error, retry }: { error: unknown; retry: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="error-box" role="alert">
      <p>{errorMessage(error, t)}</p>
      <button type="button" className="button" onClick={retry}>
        {t('common:retry')}
      </button>
    </div>
  );
}

export function Forbidden() {
  const { t } = useTranslation('settings');
  return (
    <p className="role-note" role="note">
      {t('roleNeeded')}
    </p>
  );
}

/** A secret shown once: the value, a copy button and a clear warning. */
export function SecretOnce(props: {
  label: string;
  value: string;
  multiline?: boolean;
  note?: string;
  onDone: () => void;
}) {
  const { t } = useTranslation('settings');
  const id = useId();
  const [copied, setCopied] = useState<'yes' | 'no' | ''>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('yes');
    } catch {
      // No clipboard (permission, insecure origin): select the text for a manual copy.
      (document.getElementById(id) as HTMLInputElement | HTMLTextAreaElement | null)?.select();
      setCopied('no');
    }
  };
  return (
    <section className="secret" aria-label={props.label}>
      <p className="secret-warning">
        <strong>{t('secretOnceTitle')}</strong> {t('secretOnce')}
      </p>
      <label htmlFor={id}>{props.label}</label>
      <div className="secret-row">
        {props.multiline ? (
          <textarea id={id} readOnly value={props.value} rows={8} spellCheck={false} className="mono" />
        ) : (
          <input id={id} readOnly value={props.value} spellCheck={false} className="mono" />
        )}
        <button type="button" className="button" onClick={() => void copy()}>
          {t('copy')}
        </button>
      </div>
      <p role="status" className="muted">
        {copied === 'yes' ? t('copied') : copied === 'no' ? t('copyManually') : ''}
      </p>
      {props.note && <p>{props.note}</p>}
      <button type="button" className="button" onClick={props.onDone}>
        {t('secretDone')}
      </button>
    </section>
  );
}

/** A date and time in the user's language. */
export function When({ iso }: { iso: string | null | undefined }) {
  const { i18n } = useTranslation();
  if (!iso) return <>—</>;
  return (
    <time dateTime={iso}>
      {new Date(iso).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

/** A cursor-paged list read page by page ("Show more"): every page's rows, in order. */
export function useCursorList<T>(
  key: readonly unknown[],
  fetchPage: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor?: string | null }>,
  enabled = true,
) {
  const q = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled,
  });
  return { ...q, rows: q.data?.pages.flatMap((p) => p.data) ?? [] };
}

/** A cursor list's states: its load error (with retry), loading, `empty` when it has no rows, else `children`. */
export function ListStates(props: {
  list: ReturnType<typeof useCursorList<unknown>>;
  empty: string;
  children: ReactNode;
}) {
  const { list } = props;
  if (list.isError) return <LoadError error={list.error} retry={() => void list.refetch()} />;
  if (list.isPending) return <Loading />;
  if (list.rows.length === 0) return <p className="empty">{props.empty}</p>;
  return props.children;
}

export function MoreButton({ list }: { list: ReturnType<typeof useCursorList<unknown>> }) {
  const { t } = useTranslation('settings');
  if (!list.hasNextPage) return null;
  return (
    <button
      type="button"
      className="button more"
      disabled={list.isFetchingNextPage}
      onClick={() => void list.fetchNextPage()}
    >
      {t('more')}
    </button>
  );
}
