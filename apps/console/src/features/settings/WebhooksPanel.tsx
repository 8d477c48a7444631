import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import {
  FieldMessage,
  Forbidden,
  FormError,
  fieldErrors,
  invalid,
  ListStates,
  LoadError,
  MoreButton,
  SecretOnce,
  useAccess,
  useCursorList,
  When,
} from './shared';

const KEY = ['settings', 'webhooks'] as const;
/** The event types (contracts' EVENT_TYPES; the last two are subscribable before they are emitted). */
const EVENTS = [
  'upload.completed',
  'video.playable',
  'video.ready',
  'video.errored',
  'video.deleted',
  'video.detection_completed',
  'recording.imported',
] as const;
type EventType = (typeof EVENTS)[number];

export function WebhooksPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  return (
    <div className="panel">
      <h2>{t('webhooks.title')}</h2>
      <p className="muted">{t('webhooks.intro')}</p>
      {settings ? <Webhooks /> : <Forbidden />}
    </div>
  );
}

function Webhooks() {
  const { t } = useTranslation('settings');
  const client = useQueryClient();
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const [deleting, setDeleting] = useState<{ id: string; url: string } | null>(null);
  const [notice, setNotice] = useState('');
  const list = useCursorList(KEY, async (cursor) =>
    unwrap(await api.GET('/v1/webhooks', { params: { query: { limit: 100, cursor } } })),
  );
  const create = useMutation({
    mutationFn: async (body: { url: string; events: EventType[]; description: string | null }) =>
      unwrap(await api.POST('/v1/webhooks', { body })),
    onSuccess: (w) => {
      setCreated({ url: w.url, secret: w.secret });
      setNotice('');
      void client.invalidateQueries({ queryKey: KEY });
    },
  });
  const remove = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/webhooks/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setNotice(t('webhooks.deleted', { url: deleting?.url }));
      setDeleting(null);
      void client.invalidateQueries({ queryKey: KEY });
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    create.mutate(
      {
        url: String(data.get('url') ?? '').trim(),
        events: data.getAll('events').map(String) as EventType[],
        description: String(data.get('description') ?? '').trim() || null,
      },
      { onSuccess: () => form.reset() },
    );
  };
  const errors = fieldErrors(create.error);
  return (
    <>
      <p role="status" className="notice">
        {notice}
      </p>
      {created ? (
        <SecretOnce
          label={t('webhooks.secretOf', { url: created.url })}
          value={created.secret}
          onDone={() => setCreated(null)}
        />
      ) : (
        <form className="card form-card" onSubmit={submit} noValidate>
          <h3>{t('webhooks.new')}</h3>
          <div className="field">
            <label htmlFor="wh-url">{t('webhooks.url')}</label>
            <input
              id="wh-url"
              name="url"
              type="url"
              required
              placeholder="https://example.com/hooks/vodcloud"
              {...invalid('wh-url-err', errors.url)}
            />
            <FieldMessage id="wh-url-err" message={errors.url} />
          </div>
          <div className="field">
            <label htmlFor="wh-description">{t('description')}</label>
            <input
              id="wh-description"
              name="description"
              {...invalid('wh-description-err', errors.description)}
            />
            <FieldMessage id="wh-description-err" message={errors.description} />
          </div>
          <fieldset className="choices" {...invalid('wh-events-err', errors.events)}>
            <legend>{t('webhooks.events')}</legend>
            {EVENTS.map((ev) => (
              <label key={ev}>
                <input type="checkbox" name="events" value={ev} defaultChecked={ev === 'video.ready'} />
                <span>
                  <code>{ev}</code>{' '}
                  <span className="muted">{t(`webhooks.event.${ev.replace('.', '_')}`)}</span>
                </span>
              </label>
            ))}
            <FieldMessage id="wh-events-err" message={errors.events} />
          </fieldset>
          <FormError error={create.error} />
          <button type="submit" className="button primary" disabled={create.isPending}>
            {t('webhooks.create')}
          </button>
        </form>
      )}
      <ListStates list={list} empty={t('webhooks.empty')}>
        <div className="table-wrap">
          <table className="grid">
            <caption className="visually-hidden">{t('webhooks.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('webhooks.url')}</th>
                <th scope="col" className="hide-narrow">
                  {t('webhooks.events')}
                </th>
                <th scope="col" className="hide-narrow">
                  {t('created')}
                </th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.rows.map((w) => (
                <tr key={w.id}>
                  <td className="url-cell">
                    <Link to={`/settings/webhooks/${w.id}`}>{w.url}</Link>
                    {w.description && <span className="sub">{w.description}</span>}
                  </td>
                  <td className="hide-narrow">
                    <span className="tags">
                      {w.events.map((e) => (
                        <span key={e} className="tag">
                          {e}
                        </span>
                      ))}
                    </span>
                  </td>
                  <td className="hide-narrow">
                    <When iso={w.createdAt} />
                  </td>
                  <td className="actions">
                    <Link
                      className="button small"
                      to={`/settings/webhooks/${w.id}`}
                      aria-label={t('webhooks.logOf', { url: w.url })}
                    >
                      {t('webhooks.log')}
                    </Link>
                    <button
                      type="button"
                      className="button small danger-outline"
                      aria-label={t('deleteLabel', { name: w.url })}
                      onClick={() => setDeleting({ id: w.id, url: w.url })}
                    >
                      {t('delete')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListStates>
      <MoreButton list={list} />
      <ConfirmDialog
        open={!!deleting}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={t('webhooks.confirmDelete')}
        confirmLabel={t('delete')}
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
      >
        <p>{t('webhooks.confirmDeleteBody', { url: deleting?.url })}</p>
        {remove.error ? (
          <p className="error" role="alert">
            {errorMessage(remove.error, t)}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

/** One endpoint: "Send test" and its delivery log, newest first, with "Redeliver". */
export function WebhookDeliveries() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  const id = useParams().id ?? '';
  const client = useQueryClient();
  const [notice, setNotice] = useState('');
  const key = ['settings', 'webhook-deliveries', id] as const;
  const hook = useQuery({
    queryKey: ['settings', 'webhook', id],
    queryFn: async () => unwrap(await api.GET('/v1/webhooks/{id}', { params: { path: { id } } })),
    enabled: settings,
  });
  const log = useCursorList(
    key,
    async (cursor) =>
      unwrap(
        await api.GET('/v1/webhooks/{id}/deliveries', {
          params: { path: { id }, query: { limit: 25, cursor } },
        }),
      ),
    settings,
  );
  const outcome = (d: { status: string; responseStatus: number | null; error: string | null }) =>
    d.status === 'succeeded'
      ? t('webhooks.sentOk', { status: d.responseStatus })
      : t('webhooks.sentFailed', { why: d.error ?? d.responseStatus ?? '' });
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/webhooks/{id}/test', { params: { path: { id } } })),
    onSuccess: (d) => {
      setNotice(`${t('webhooks.testSent')} ${outcome(d)}`);
      void client.invalidateQueries({ queryKey: key });
    },
  });
  const redeliver = useMutation({
    mutationFn: async (deliveryId: string) =>
      unwrap(
        await api.POST('/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', {
          params: { path: { id, deliveryId } },
        }),
      ),
    onSuccess: (d) => {
      setNotice(`${t('webhooks.redelivered')} ${outcome(d)}`);
      void client.invalidateQueries({ queryKey: key });
    },
  });
  const actionError = test.error ?? redeliver.error;
  if (!settings)
    return (
      <div className="panel">
        <h2>{t('webhooks.deliveries')}</h2>
        <Forbidden />
      </div>
    );
  return (
    <div className="panel">
      <p>
        <Link to="/settings/webhooks">{t('webhooks.back')}</Link>
      </p>
      <h2>{t('webhooks.deliveries')}</h2>
      {hook.isError ? (
        <LoadError error={hook.error} retry={() => void hook.refetch()} />
      ) : hook.data ? (
        <p className="url-cell">
          <span className="strong">{hook.data.url}</span>
          <span className="sub">{hook.data.events.join(', ')}</span>
        </p>
      ) : null}
      <div className="row">
        <button
          type="button"
          className="button primary"
          disabled={test.isPending}
          onClick={() => test.mutate()}
        >
          {test.isPending ? t('webhooks.sending') : t('webhooks.test')}
        </button>
        <button type="button" className="button" disabled={log.isFetching} onClick={() => void log.refetch()}>
          {t('refresh')}
        </button>
      </div>
      <p role="status" className="notice">
        {notice}
      </p>
      {actionError ? (
        <p className="error" role="alert">
          {errorMessage(actionError, t)}
        </p>
      ) : null}
      <ListStates list={log} empty={t('webhooks.noDeliveries')}>
        <div className="table-wrap">
          <table className="grid deliveries">
            <caption className="visually-hidden">{t('webhooks.deliveries')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('webhooks.time')}</th>
                <th scope="col">{t('webhooks.eventCol')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col" className="num">
                  {t('webhooks.attempt')}
                </th>
                <th scope="col" className="num">
                  {t('webhooks.response')}
                </th>
                <th scope="col" className="num">
                  {t('webhooks.duration')}
                </th>
                <th scope="col">{t('webhooks.error')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {log.rows.map((d) => (
                <tr key={d.id}>
                  <td>
                    <When iso={d.createdAt} />
                  </td>
                  <td>
                    <code>{d.eventType}</code>
                  </td>
                  <td>
                    <span className={`status delivery-${d.status}`}>
                      {t(`webhooks.statuses.${d.status}`)}
                    </span>
                    {d.nextAttemptAt && (
                      <span className="sub">
                        {t('webhooks.next')} <When iso={d.nextAttemptAt} />
                      </span>
                    )}
                  </td>
                  <td className="num">{d.attempt}</td>
                  <td className="num">{d.responseStatus ?? '—'}</td>
                  <td className="num">
                    {d.durationMs === null ? '—' : t('webhooks.ms', { ms: d.durationMs })}
                  </td>
                  <td className="error-cell">{d.error ?? ''}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button small"
                      disabled={redeliver.isPending}
                      aria-label={t('webhooks.redeliverLabel', { event: d.eventType, attempt: d.attempt })}
                      onClick={() => {
                        test.reset();
                        redeliver.mutate(d.id);
                      }}
                    >
                      {t('webhooks.redeliver')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListStates>
      <MoreButton list={log} />
    </div>
  );
}
