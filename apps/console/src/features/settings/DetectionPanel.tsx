import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { components, operations } from '@vodcloud/sdk';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { FieldMessage, FormError, fieldErrors, invalid, LoadError, Loading, useAccess, When } from './shared';

type Policy = components['schemas']['DetectionPolicy'];
type Moderation = Policy['moderation'];
type Action = Moderation['action'];
type Class = keyof Moderation['thresholds'];

const KEY = ['settings', 'detection-policy'] as const;
const ACTIONS: readonly Action[] = ['none', 'flag', 'review', 'block'];
const CLASSES: readonly Class[] = ['porn', 'sexy', 'hentai', 'drawing', 'neutral'];

/** The form's values: numbers as typed (an empty threshold: never). */
interface Draft {
  enabled: boolean;
  qc: boolean;
  modEnabled: boolean;
  action: Action;
  thresholds: Record<Class, string>;
  intervalSec: string;
  maxFrames: string;
  hold: boolean;
}

const draftOf = (p: Policy): Draft => ({
  enabled: p.enabled,
  qc: p.qc,
  modEnabled: p.moderation.enabled,
  action: p.moderation.action,
  thresholds: Object.fromEntries(
    CLASSES.map((c) => [c, p.moderation.thresholds[c] == null ? '' : String(p.moderation.thresholds[c])]),
  ) as Record<Class, string>,
  intervalSec: String(p.moderation.intervalSec),
  maxFrames: String(p.moderation.maxFrames),
  hold: p.moderation.hold,
});

/** A number as typed; an empty field is null, text that is not a number is sent as it is (the API says why). */
const numberOf = (s: string): number | null => (s.trim() === '' ? null : Number(s.trim()));

type Patch = operations['updateDetectionPolicy']['requestBody']['content']['application/json'];

/** PATCH's body: only the fields that differ from the policy as loaded. */
function changes(p: Policy, d: Draft): Patch {
  const body: Patch = {};
  if (d.enabled !== p.enabled) body.enabled = d.enabled;
  if (d.qc !== p.qc) body.qc = d.qc;
  const m: NonNullable<Patch['moderation']> = {};
  if (d.modEnabled !== p.moderation.enabled) m.enabled = d.modEnabled;
  if (d.action !== p.moderation.action) m.action = d.action;
  const th: Partial<Record<Class, number | null>> = {};
  for (const c of CLASSES) {
    const v = numberOf(d.thresholds[c]);
    if (v !== p.moderation.thresholds[c]) th[c] = v;
  }
  if (Object.keys(th).length) m.thresholds = th;
  const interval = numberOf(d.intervalSec);
  if (interval !== p.moderation.intervalSec) m.intervalSec = interval as number;
  const frames = numberOf(d.maxFrames);
  if (frames !== p.moderation.maxFrames) m.maxFrames = frames as number;
  if (d.hold !== p.moderation.hold) m.hold = d.hold;
  if (Object.keys(m).length) body.moderation = m;
  return body;
}

export function DetectionPanel() {
  const { t } = useTranslation('settings');
  const { settings } = useAccess();
  // Kept here: the form starts again from the saved policy (its key), the notice stays.
  const [notice, setNotice] = useState('');
  const policy = useQuery({
    queryKey: KEY,
    queryFn: async () => unwrap(await api.GET('/v1/detection/policy')),
  });
  return (
    <div className="panel">
      <h2>{t('detection.title')}</h2>
      <p className="muted">{t('detection.intro')}</p>
      {!settings && (
        <p className="role-note" role="note">
          {t('readOnly')}
        </p>
      )}
      {policy.isError ? (
        <LoadError error={policy.error} retry={() => void policy.refetch()} />
      ) : policy.isPending ? (
        <Loading />
      ) : (
        <PolicyForm
          key={policy.data.updatedAt ?? 'defaults'}
          policy={policy.data}
          editable={settings}
          notice={notice}
          setNotice={setNotice}
        />
      )}
    </div>
  );
}

function PolicyForm(props: {
  policy: Policy;
  editable: boolean;
  notice: string;
  setNotice: (notice: string) => void;
}) {
  const { policy, editable, notice, setNotice } = props;
  const { t } = useTranslation('settings');
  const client = useQueryClient();
  const [d, setD] = useState<Draft>(() => draftOf(policy));
  const save = useMutation({
    mutationFn: async (body: Patch) => unwrap(await api.PATCH('/v1/detection/policy', { body })),
    onSuccess: (p) => {
      client.setQueryData(KEY, p);
      setNotice(t('detection.saved'));
    },
  });
  const errors = fieldErrors(save.error);
  const set = (patch: Partial<Draft>) => setD((prev) => ({ ...prev, ...patch }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setNotice('');
    const body = changes(policy, d);
    if (Object.keys(body).length === 0) setNotice(t('detection.unchanged'));
    else save.mutate(body);
  };
  const err = (path: string) => errors[path];
  return (
    <>
      <p className="current-state muted">
        {policy.updatedAt ? (
          <>
            {t('detection.changedAt')} <When iso={policy.updatedAt} />
          </>
        ) : (
          t('detection.defaults')
        )}
      </p>
      <p role="status" className="notice">
        {notice}
      </p>
      <form className="detection-form" onSubmit={submit} noValidate>
        <fieldset disabled={!editable} className="bare">
          <div className="check-field">
            <input
              id="det-enabled"
              type="checkbox"
              checked={d.enabled}
              onChange={(e) => set({ enabled: e.target.checked })}
              aria-describedby="det-enabled-hint"
            />
            <label htmlFor="det-enabled">{t('detection.enabled')}</label>
          </div>
          <p id="det-enabled-hint" className="hint check-hint">
            {t('detection.enabledHint')}
          </p>
          <div className="check-field">
            <input
              id="det-qc"
              type="checkbox"
              checked={d.qc}
              onChange={(e) => set({ qc: e.target.checked })}
            />
            <label htmlFor="det-qc">{t('detection.qc')}</label>
          </div>
          <fieldset className="card form-card">
            <legend>{t('detection.moderation')}</legend>
            <div className="check-field">
              <input
                id="det-mod"
                type="checkbox"
                checked={d.modEnabled}
                onChange={(e) => set({ modEnabled: e.target.checked })}
              />
              <label htmlFor="det-mod">{t('detection.modEnabled')}</label>
            </div>
            <div className="check-field">
              <input
                id="det-hold"
                type="checkbox"
                checked={d.hold}
                onChange={(e) => set({ hold: e.target.checked })}
                aria-describedby="det-hold-hint"
              />
              <label htmlFor="det-hold">{t('detection.hold')}</label>
            </div>
            <p id="det-hold-hint" className="hint check-hint">
              {t('detection.holdHint')}
            </p>
            <fieldset className="choices" {...invalid('det-action-err', err('moderation.action'))}>
              <legend>{t('detection.action')}</legend>
              {ACTIONS.map((a) => (
                <label key={a}>
                  <input
                    type="radio"
                    name="action"
                    value={a}
                    checked={d.action === a}
                    onChange={() => set({ action: a })}
                  />
                  <span>
                    <strong>{t(`detection.actions.${a}`)}</strong>{' '}
                    <span className="muted">{t(`detection.actionHints.${a}`)}</span>
                  </span>
                </label>
              ))}
              <FieldMessage id="det-action-err" message={err('moderation.action')} />
            </fieldset>
            <fieldset className="choices">
              <legend>{t('detection.thresholds')}</legend>
              <p id="det-th-hint" className="hint">
                {t('detection.thresholdsHint')}
              </p>
              <div className="threshold-grid">
                {CLASSES.map((c) => {
                  const path = `moderation.thresholds.${c}`;
                  return (
                    <div key={c} className="field">
                      <label htmlFor={`det-th-${c}`}>{t(`detection.classes.${c}`)}</label>
                      <input
                        id={`det-th-${c}`}
                        type="number"
                        inputMode="decimal"
                        min={0}
                        max={1}
                        step={0.01}
                        placeholder={t('detection.never')}
                        value={d.thresholds[c]}
                        onChange={(e) => set({ thresholds: { ...d.thresholds, [c]: e.target.value } })}
                        {...(err(path)
                          ? { 'aria-invalid': true, 'aria-describedby': `det-th-${c}-err det-th-hint` }
                          : { 'aria-describedby': 'det-th-hint' })}
                      />
                      <FieldMessage id={`det-th-${c}-err`} message={err(path)} />
                    </div>
                  );
                })}
              </div>
            </fieldset>
            <div className="row">
              <NumberField
                id="det-interval"
                label={t('detection.intervalSec')}
                hint={t('detection.intervalHint')}
                value={d.intervalSec}
                onChange={(intervalSec) => set({ intervalSec })}
                error={err('moderation.intervalSec')}
                min={1}
                max={600}
              />
              <NumberField
                id="det-frames"
                label={t('detection.maxFrames')}
                hint={t('detection.maxFramesHint')}
                value={d.maxFrames}
                onChange={(maxFrames) => set({ maxFrames })}
                error={err('moderation.maxFrames')}
                min={1}
                max={300}
              />
            </div>
          </fieldset>
          <FormError error={save.error} />
          {editable && (
            <div className="form-actions">
              <button type="submit" className="button primary" disabled={save.isPending}>
                {t('save')}
              </button>
            </div>
          )}
        </fieldset>
      </form>
    </>
  );
}

function NumberField(props: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onChange: (v: string) => void;
  error: string | undefined;
  min: number;
  max: number;
}) {
  const hint = `${props.id}-hint`;
  const errId = `${props.id}-err`;
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        className="small-field"
        min={props.min}
        max={props.max}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${errId} ${hint}` : hint}
      />
      <span id={hint} className="hint">
        {props.hint}
      </span>
      <FieldMessage id={errId} message={props.error} />
    </div>
  );
}
