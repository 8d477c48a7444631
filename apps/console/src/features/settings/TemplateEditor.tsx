// The template editor: the renditions ladder, audio and packaging, HLS encryption and the watermark, as
// packages/contracts/src/templates.ts has them; the API's field errors are shown next to their fields.
import { useMutation } from '@tanstack/react-query';
import type { components } from '@vodcloud/sdk';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { FieldMessage, FormError, fieldErrors, invalid } from './shared';

export type Template = components['schemas']['Template'];
const POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'] as const;

/** The editor's state: numbers as typed (bitrates in kbit/s, watermark sizes in %), sent as the API's units. */
interface Draft {
  name: string;
  isDefault: boolean;
  renditions: Array<{ name: string; height: string; kbps: string; maxFps: string }>;
  audioKbps: string;
  segmentDuration: string;
  encryption: 'none' | 'aes-128';
  mp4: 'none' | 'highest' | 'list';
  mp4List: string[];
  watermark: boolean;
  wm: {
    imageUrl: string;
    position: (typeof POSITIONS)[number];
    margin: string;
    opacity: string;
    width: string;
  };
}

const num = (v: number) => String(v);
function draftOf(t: Template | null): Draft {
  const wm = (t?.watermark ?? null) as {
    imageUrl?: string;
    position?: (typeof POSITIONS)[number];
    margin?: number;
    opacity?: number;
    width?: number;
  } | null;
  return {
    name: t?.name ?? '',
    isDefault: t?.isDefault ?? false,
    renditions: (
      t?.renditions ?? [
        { name: '720p', height: 720, videoBitrate: 3_000_000 },
        { name: '360p', height: 360, videoBitrate: 800_000 },
      ]
    ).map((r) => ({
      name: r.name,
      height: num(r.height),
      kbps: num(r.videoBitrate / 1000),
      maxFps: r.maxFps ? num(r.maxFps) : '',
    })),
    audioKbps: num((t?.audio.bitrate ?? 128_000) / 1000),
    segmentDuration: num(t?.hls.segmentDuration ?? 4),
    encryption: t?.hls.encryption ?? 'none',
    mp4: Array.isArray(t?.mp4) ? 'list' : ((t?.mp4 as 'none' | 'highest' | undefined) ?? 'highest'),
    mp4List: Array.isArray(t?.mp4) ? t.mp4 : [],
    watermark: !!wm,
    wm: {
      imageUrl: wm?.imageUrl ?? '',
      position: wm?.position ?? 'top-right',
      margin: num(Math.round((wm?.margin ?? 0.02) * 1000) / 10),
      opacity: num(Math.round((wm?.opacity ?? 1) * 1000) / 10),
      width: num(Math.round((wm?.width ?? 0.1) * 1000) / 10),
    },
  };
}

/** A number field: '' and text are sent as null, which the API refuses next to the field. */
const n = (v: string) => (v.trim() === '' || Number.isNaN(Number(v)) ? null : Number(v));
const times = (v: string, k: number) => {
  const x = n(v);
  return x === null ? null : Math.round(x * k * 1000) / 1000;
};

function bodyOf(d: Draft) {
  return {
    name: d.name,
    renditions: d.renditions.map((r) => ({
      name: r.name.trim(),
      height: n(r.height),
      videoBitrate: times(r.kbps, 1000),
      ...(r.maxFps.trim() ? { maxFps: n(r.maxFps) } : {}),
    })),
    audio: { bitrate: times(d.audioKbps, 1000) },
    hls: { segmentDuration: n(d.segmentDuration), encryption: d.encryption },
    mp4: d.mp4 === 'list' ? d.mp4List.filter((x) => d.renditions.some((r) => r.name.trim() === x)) : d.mp4,
    watermark: d.watermark
      ? {
          imageUrl: d.wm.imageUrl.trim(),
          position: d.wm.position,
          margin: times(d.wm.margin, 0.01),
          opacity: times(d.wm.opacity, 0.01),
          width: times(d.wm.width, 0.01),
        }
      : null,
  };
}

export function TemplateEditor({
  template,
  onDone,
}: {
  template: Template | null;
  onDone: (saved?: string) => void;
}) {
  const { t } = useTranslation('settings');
  const [d, setD] = useState<Draft>(() => draftOf(template));
  const save = useMutation({
    mutationFn: async (draft: Draft) => {
      const body = bodyOf(draft) as unknown as components['schemas']['Template'];
      if (template) {
        const patch = { ...body, ...(draft.isDefault && !template.isDefault ? { isDefault: true } : {}) };
        return unwrap(
          await api.PATCH('/v1/templates/{id}', {
            params: { path: { id: template.id } },
            body: patch as never,
          }),
        );
      }
      return unwrap(
        await api.POST('/v1/templates', { body: { ...body, isDefault: draft.isDefault } as never }),
      );
    },
    onSuccess: (saved) => onDone(saved.name),
  });
  const errors = fieldErrors(save.error);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  const setR = (i: number, patch: Partial<Draft['renditions'][number]>) =>
    setD((x) => ({ ...x, renditions: x.renditions.map((r, j) => (j === i ? { ...r, ...patch } : r)) }));
  const setWm = (patch: Partial<Draft['wm']>) => setD((x) => ({ ...x, wm: { ...x.wm, ...patch } }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(d);
  };
  const err = (path: string) => errors[path];
  /** Fields typed in other units than the API's: the range in the field's units instead of the API's text. */
  const rangeErr = (path: string, key: string) => (errors[path] ? t(`templates.range.${key}`) : undefined);
  const renditionNames = d.renditions.map((r) => r.name.trim()).filter(Boolean);
  const mp4Error = Object.entries(errors)
    .filter(([p]) => p === 'mp4' || p.startsWith('mp4.'))
    .map(([, m]) => m)
    .join('; ');
  const wmError = err('watermark') ?? err('watermark.imageUrl');

  return (
    <form onSubmit={submit} noValidate className="template-editor">
      <h2>{template ? t('templates.editTitle', { name: template.name }) : t('templates.newTitle')}</h2>
      <div className="card form-card">
        <div className="row">
          <div className="field grow">
            <label htmlFor="tpl-name">{t('name')}</label>
            <input
              id="tpl-name"
              value={d.name}
              onChange={(e) => set({ name: e.target.value })}
              {...invalid('tpl-name-err', err('name'))}
            />
            <FieldMessage id="tpl-name-err" message={err('name')} />
          </div>
          <div className="check-field">
            <input
              id="tpl-default"
              type="checkbox"
              checked={d.isDefault}
              disabled={template?.isDefault}
              onChange={(e) => set({ isDefault: e.target.checked })}
            />
            <label htmlFor="tpl-default">{t('templates.makeDefault')}</label>
          </div>
        </div>
      </div>

      <fieldset className="card form-card">
        <legend>{t('templates.ladder')}</legend>
        <p className="hint">{t('templates.ladderHint')}</p>
        {err('renditions') && (
          <p className="field-error" id="tpl-ladder-err">
            {err('renditions')}
          </p>
        )}
        <ol className="ladder">
          {d.renditions.map((r, i) => {
            const p = `renditions.${i}`;
            const id = `tpl-r${i}`;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place; the index is the identity
              <li key={i} className="ladder-row">
                <div className="field">
                  <label htmlFor={`${id}-name`}>
                    <span className="visually-hidden">{t('templates.rPrefix', { n: i + 1 })} </span>
                    {t('templates.rName')}
                  </label>
                  <input
                    id={`${id}-name`}
                    value={r.name}
                    onChange={(e) => setR(i, { name: e.target.value })}
                    {...invalid(`${id}-name-err`, err(`${p}.name`))}
                  />
                  <FieldMessage id={`${id}-name-err`} message={err(`${p}.name`)} />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-height`}>
                    <span className="visually-hidden">{t('templates.rPrefix', { n: i + 1 })} </span>
                    {t('templates.rHeight')}
                  </label>
                  <input
                    id={`${id}-height`}
                    inputMode="numeric"
                    value={r.height}
                    onChange={(e) => setR(i, { height: e.target.value })}
                    {...invalid(`${id}-height-err`, err(`${p}.height`))}
                  />
                  <FieldMessage id={`${id}-height-err`} message={err(`${p}.height`)} />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-kbps`}>
                    <span className="visually-hidden">{t('templates.rPrefix', { n: i + 1 })} </span>
                    {t('templates.rBitrate')}
                  </label>
                  <input
                    id={`${id}-kbps`}
                    inputMode="numeric"
                    value={r.kbps}
                    onChange={(e) => setR(i, { kbps: e.target.value })}
                    {...invalid(`${id}-kbps-err`, rangeErr(`${p}.videoBitrate`, 'video'))}
                  />
                  <FieldMessage id={`${id}-kbps-err`} message={rangeErr(`${p}.videoBitrate`, 'video')} />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-fps`}>
                    <span className="visually-hidden">{t('templates.rPrefix', { n: i + 1 })} </span>
                    {t('templates.rFps')}
                  </label>
                  <input
                    id={`${id}-fps`}
                    inputMode="decimal"
                    value={r.maxFps}
                    placeholder={t('templates.source')}
                    onChange={(e) => setR(i, { maxFps: e.target.value })}
                    {...invalid(`${id}-fps-err`, err(`${p}.maxFps`))}
                  />
                  <FieldMessage id={`${id}-fps-err`} message={err(`${p}.maxFps`)} />
                </div>
                <button
                  type="button"
                  className="button small danger-outline"
                  disabled={d.renditions.length <= 1}
                  aria-label={t('templates.removeRendition', { n: i + 1 })}
                  onClick={() => set({ renditions: d.renditions.filter((_, j) => j !== i) })}
                >
                  {t('remove')}
                </button>
              </li>
            );
          })}
        </ol>
        <button
          type="button"
          className="button"
          disabled={d.renditions.length >= 10}
          onClick={() =>
            set({ renditions: [...d.renditions, { name: '', height: '', kbps: '', maxFps: '' }] })
          }
        >
          {t('templates.addRendition')}
        </button>
        <p className="hint">{t('templates.codec')}</p>
      </fieldset>

      <fieldset className="card form-card">
        <legend>{t('templates.output')}</legend>
        <div className="row">
          <div className="field">
            <label htmlFor="tpl-audio">{t('templates.audio')}</label>
            <input
              id="tpl-audio"
              inputMode="numeric"
              value={d.audioKbps}
              onChange={(e) => set({ audioKbps: e.target.value })}
              {...invalid('tpl-audio-err', rangeErr('audio.bitrate', 'audio'))}
            />
            <FieldMessage id="tpl-audio-err" message={rangeErr('audio.bitrate', 'audio')} />
          </div>
          <div className="field">
            <label htmlFor="tpl-seg">{t('templates.segment')}</label>
            <input
              id="tpl-seg"
              inputMode="decimal"
              value={d.segmentDuration}
              onChange={(e) => set({ segmentDuration: e.target.value })}
              {...invalid('tpl-seg-err', err('hls.segmentDuration'))}
            />
            <FieldMessage id="tpl-seg-err" message={err('hls.segmentDuration')} />
          </div>
          <div className="field">
            <label htmlFor="tpl-enc">{t('templates.encryption')}</label>
            <select
              id="tpl-enc"
              value={d.encryption}
              onChange={(e) => set({ encryption: e.target.value as Draft['encryption'] })}
            >
              <option value="none">{t('templates.enc.none')}</option>
              <option value="aes-128">{t('templates.enc.aes-128')}</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="tpl-mp4">{t('templates.mp4')}</label>
            <select
              id="tpl-mp4"
              value={d.mp4}
              onChange={(e) => set({ mp4: e.target.value as Draft['mp4'] })}
              {...invalid('tpl-mp4-err', mp4Error || undefined)}
            >
              <option value="none">{t('templates.mp4None')}</option>
              <option value="highest">{t('templates.mp4Highest')}</option>
              <option value="list">{t('templates.mp4List')}</option>
            </select>
            <FieldMessage id="tpl-mp4-err" message={mp4Error || undefined} />
          </div>
        </div>
        {d.mp4 === 'list' && (
          <fieldset className="inline-choices">
            <legend>{t('templates.mp4Which')}</legend>
            {renditionNames.map((name) => (
              <label key={name}>
                <input
                  type="checkbox"
                  checked={d.mp4List.includes(name)}
                  onChange={(e) =>
                    set({
                      mp4List: e.target.checked ? [...d.mp4List, name] : d.mp4List.filter((x) => x !== name),
                    })
                  }
                />{' '}
                {name}
              </label>
            ))}
          </fieldset>
        )}
      </fieldset>

      <fieldset className="card form-card">
        <legend>{t('templates.watermark')}</legend>
        <div className="check-field">
          <input
            id="tpl-wm"
            type="checkbox"
            checked={d.watermark}
            onChange={(e) => set({ watermark: e.target.checked })}
          />
          <label htmlFor="tpl-wm">{t('templates.wmOn')}</label>
        </div>
        {d.watermark && (
          <div className="row">
            <div className="field grow">
              <label htmlFor="tpl-wm-url">{t('templates.wmUrl')}</label>
              <input
                id="tpl-wm-url"
                type="url"
                value={d.wm.imageUrl}
                placeholder="https://example.com/logo.png"
                onChange={(e) => setWm({ imageUrl: e.target.value })}
                {...invalid('tpl-wm-url-err', wmError)}
              />
              <FieldMessage id="tpl-wm-url-err" message={wmError} />
            </div>
            <div className="field">
              <label htmlFor="tpl-wm-pos">{t('templates.wmPosition')}</label>
              <select
                id="tpl-wm-pos"
                value={d.wm.position}
                onChange={(e) => setWm({ position: e.target.value as Draft['wm']['position'] })}
              >
                {POSITIONS.map((p) => (
                  <option key={p} value={p}>
                    {t(`templates.pos.${p}`)}
                  </option>
                ))}
              </select>
            </div>
            {(['width', 'margin', 'opacity'] as const).map((k) => (
              <div className="field small-field" key={k}>
                <label htmlFor={`tpl-wm-${k}`}>{t(`templates.wm_${k}`)}</label>
                <input
                  id={`tpl-wm-${k}`}
                  inputMode="decimal"
                  value={d.wm[k]}
                  onChange={(e) => setWm({ [k]: e.target.value })}
                  {...invalid(`tpl-wm-${k}-err`, rangeErr(`watermark.${k}`, k))}
                />
                <FieldMessage id={`tpl-wm-${k}-err`} message={rangeErr(`watermark.${k}`, k)} />
              </div>
            ))}
          </div>
        )}
      </fieldset>

      <FormError error={save.error} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {template ? t('save') : t('templates.create')}
        </button>
        <button type="button" className="button" onClick={() => onDone()}>
          {t('common:cancel')}
        </button>
      </div>
    </form>
  );
}
