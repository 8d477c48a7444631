// <vod-player>: the vodcloud web component. hls.js where MSE exists, native HLS otherwise; a control bar
// in shadow DOM (play, seek with storyboard previews, time, quality, speed, captions, volume, fullscreen),
// keyboard control, screen-reader labels, and QoE beacons to POST {api-base}/v1/beacons (batches of events,
// one per heartbeat; at once on startup, an error, the view's end and page hide). The element has
// the media API of a <video> (properties, play()/pause()/load(), the media events re-dispatched on it) and
// is themed with CSS parts and --vod-player-* custom properties (THEMING.md).
import Hls, { type ErrorData } from 'hls.js';
import { fromHls, fromMedia, type VodPlayerError } from './errors';
import { cueAt, formatTime, parseStoryboard, type StoryboardCue, spokenTime } from './storyboard';
import { ICON, STYLE, TEMPLATE } from './ui';

export type { VodPlayerError, VodPlayerErrorCode } from './errors';
export type { StoryboardCue } from './storyboard';
export { cueAt, formatTime, parseStoryboard, parseVttTime, spokenTime } from './storyboard';

export type BeaconEvent =
  | 'view_start'
  | 'playing'
  | 'heartbeat'
  | 'rebuffer_start'
  | 'rebuffer_end'
  | 'rendition_change'
  | 'error'
  | 'view_end';

/** One QoE event: queued per view and sent in a batch `{playbackId, viewId, token?, sentAt, events}`. */
export interface BeaconData {
  event: BeaconEvent;
  /** Date.now() when it happened, and its number in the view (0, 1, 2…). */
  at: number;
  seq: number;
  /** The media position in seconds. */
  position: number;
  /** On `playing`: play intent (play(), autoplay, a click) → first frame. */
  startupMs?: number;
  /** On `heartbeat` and `view_end`: seconds played since the last report (seeks and pauses excluded). */
  watchedSec?: number;
  /** On `heartbeat` and `view_end`: seconds played since the view started (so a lost batch loses nothing). */
  playedSec?: number;
  /** On `rebuffer_end`: how long playback stalled. */
  rebufferMs?: number;
  /** The rendition playing ("720p"): on `rendition_change`, `playing` and `heartbeat`. */
  rendition?: string;
  /** On `error`: "<code>[ HTTP <status>] <details>: <message>". */
  error?: string;
}

/**
 * The <video> events re-dispatched on the element, as plain `Event`s that neither bubble nor cross a
 * shadow boundary (`bubbles: false, composed: false`), like the media element's own. `error` is separate:
 * a `CustomEvent` whose `detail` is `player.error`.
 */
export const MEDIA_EVENTS = [
  'loadstart',
  'emptied',
  'loadedmetadata',
  'loadeddata',
  'durationchange',
  'canplay',
  'canplaythrough',
  'play',
  'playing',
  'pause',
  'waiting',
  'seeking',
  'seeked',
  'timeupdate',
  'progress',
  'ratechange',
  'volumechange',
  'ended',
] as const;

/** The events of <vod-player>: the media events, `error` with its detail, and the player's own. */
export type VodPlayerEventMap = Omit<HTMLElementEventMap, 'error'> & {
  error: CustomEvent<VodPlayerError>;
  storyboardload: Event;
  /** One per QoE event, as it is queued (not when its batch is sent). */
  beacon: CustomEvent<BeaconData & { viewId: string; playbackId: string }>;
};

const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SEEK_STEP = 5;
/** Queued events sent at once when this many wait. */
const BATCH_MAX = 20;

const randomId = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : Array.from({ length: 4 }, () => Math.random().toString(36).slice(2, 10)).join('');

/**
 * `<vod-player playback-id="…" [src] [playback-token] [thumbnail-token] [storyboard-token] [token]
 * [api-base] [stream-base] [poster] [start-time] [autoplay] [muted] [loop] [preload] [playsinline]
 * [heartbeat-interval] [no-beacons]>`
 *
 * - `stream-base` (default: `api-base`, else the page's origin) is where `/hls`, `/thumb`, `/storyboard` live.
 * - Tokens of a `signed` video, one audience each: `playback-token` (aud v) goes on the master playlist URL
 *   (the server carries it into every playlist, segment and key URL) and with the beacons;
 *   `thumbnail-token` (aud t) on the poster (`/thumb`); `storyboard-token` (aud s) on the storyboard VTT
 *   (its sprite URLs carry it). Each falls back to `token` (`thumb-token` is an older name of
 *   `thumbnail-token`); a token whose `aud` lists several audiences may serve as `token` for all.
 * - `start-time` (seconds): where the first load starts (hls.js loads from there, no segment before it).
 * - `preload="none"`: nothing but the master playlist is loaded until play. The player always plays
 *   inline; `playsinline` is accepted for <video> markup compatibility.
 * - `heartbeat-interval` in seconds (default 10): the period of the beacon batches.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below adds listener overloads only
export class VodPlayer extends HTMLElement {
  static observedAttributes = [
    'playback-id',
    'src',
    'token',
    'playback-token',
    'thumbnail-token',
    'thumb-token',
    'storyboard-token',
    'poster',
    'muted',
    'loop',
    'preload',
  ];

  readonly video: HTMLVideoElement;
  /** The hls.js instance while one is used (undefined with native HLS). */
  hls: Hls | undefined;
  /** Storyboard cues, once loaded. */
  storyboard: StoryboardCue[] = [];
  /** The current view's id: a new one when the element is given another video. */
  get viewId() {
    return this.view.id;
  }

  private readonly root: ShadowRoot;
  private readonly $ = <T extends Element = HTMLElement>(sel: string) => this.root.querySelector(sel) as T;
  private loadedFor: string | undefined;
  private abort: AbortController | undefined;
  private lastError: VodPlayerError | null = null;
  private mediaRecoveries = 0;
  // QoE state
  private viewStarted = false;
  private playRequestedAt: number | undefined;
  private startupSent = false;
  private rebufferedAt: number | undefined; // performance.now() at rebuffer_start
  private rebufferPos = 0;
  private rendition: string | undefined;
  private watched = 0;
  private playedTotal = 0;
  private lastTick: number | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private viewEnded = false;
  private queue: BeaconData[] = [];
  private seq = 0;
  /** The view the queue belongs to: its id, and the playback id and token it started with. */
  private view: { id: string; playbackId?: string; token?: string } = { id: randomId() };
  private readonly onPageHide = () => this.endView();
  private readonly onVisibility = () => document.visibilityState === 'hidden' && this.flush(true);

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    this.video = this.$<HTMLVideoElement>('video');
    this.wireControls();
    this.wireSeekBar();
    this.wireKeyboard();
    this.wireMedia();
  }

  // ---- attributes ----

  private attr(name: string) {
    return this.getAttribute(name) ?? undefined;
  }
  private reflect(name: string, value: string | boolean | undefined | null) {
    if (value === true) this.setAttribute(name, '');
    else if (value === false || value == null) this.removeAttribute(name);
    else this.setAttribute(name, value);
  }

  get playbackId() {
    return this.attr('playback-id') ?? '';
  }
  set playbackId(v: string) {
    this.reflect('playback-id', v);
  }
  /** The token on HLS URLs and beacons (aud v): `playback-token`, else `token`. */
  get playbackToken() {
    return this.attr('playback-token') ?? this.attr('token');
  }
  set playbackToken(v: string | undefined) {
    this.reflect('playback-token', v);
  }
  /** The token on the poster (aud t): `thumbnail-token`, else `thumb-token`, else `token`. */
  get thumbnailToken() {
    return this.attr('thumbnail-token') ?? this.attr('thumb-token') ?? this.attr('token');
  }
  set thumbnailToken(v: string | undefined) {
    this.reflect('thumbnail-token', v);
  }
  /** The token on the storyboard (aud s): `storyboard-token`, else `token`. */
  get storyboardToken() {
    return this.attr('storyboard-token') ?? this.attr('token');
  }
  set storyboardToken(v: string | undefined) {
    this.reflect('storyboard-token', v);
  }
  /** `start-time` in seconds, or undefined. */
  get startTime() {
    const t = Number(this.attr('start-time') ?? Number.NaN);
    return Number.isFinite(t) && t >= 0 ? t : undefined;
  }
  set startTime(v: number | undefined) {
    this.reflect('start-time', v === undefined ? v : String(v));
  }
  get loop() {
    return this.hasAttribute('loop');
  }
  set loop(v: boolean) {
    this.reflect('loop', !!v);
  }
  /** `none` (nothing but the master playlist until play), `metadata` (the default) or `auto`. */
  get preload(): 'none' | 'metadata' | 'auto' {
    const p = this.attr('preload');
    return p === 'none' || p === 'auto' ? p : 'metadata';
  }
  set preload(v: string) {
    this.reflect('preload', v);
  }
  get autoplay() {
    return this.hasAttribute('autoplay');
  }
  set autoplay(v: boolean) {
    this.reflect('autoplay', !!v);
  }
  private get apiBase() {
    return (this.attr('api-base') ?? '').replace(/\/+$/, '');
  }
  private get streamBase() {
    return (this.attr('stream-base') ?? this.attr('api-base') ?? '').replace(/\/+$/, '');
  }
  private withToken(url: string, token: string | undefined) {
    if (!token) return url;
    const u = new URL(url, location.href);
    u.searchParams.set('token', token);
    return u.href;
  }
  /** The master playlist URL (the `src` attribute, else {stream-base}/hls/{id}/master.m3u8), with the token. */
  get masterUrl() {
    const src = this.attr('src') ?? `${this.streamBase}/hls/${this.playbackId}/master.m3u8`;
    return this.withToken(src, this.playbackToken);
  }
  get posterUrl() {
    const p = this.attr('poster');
    if (p !== undefined) return p;
    if (!this.playbackId) return '';
    return this.withToken(`${this.streamBase}/thumb/${this.playbackId}.jpg`, this.thumbnailToken);
  }
  get storyboardUrl() {
    return this.withToken(`${this.streamBase}/storyboard/${this.playbackId}.vtt`, this.storyboardToken);
  }

  connectedCallback() {
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    if (!this.hasAttribute('aria-label')) this.setAttribute('aria-label', 'Video player');
    if (this.viewEnded) this.newView(); // attached again after its view ended: a new view
    addEventListener('pagehide', this.onPageHide);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.setup();
  }

  disconnectedCallback() {
    removeEventListener('pagehide', this.onPageHide);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.endView();
    this.teardown();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null) {
    if (old === value) return;
    const v = this.video;
    if (name === 'muted') {
      v.muted = value !== null;
      this.syncVolume();
    } else if (name === 'loop') v.loop = value !== null;
    else if (name === 'preload') v.preload = this.preload;
    else if (name === 'poster' || name === 'thumbnail-token' || name === 'thumb-token')
      v.poster = this.posterUrl;
    else if (name === 'storyboard-token') {
      if (this.abort && this.playbackId) void this.loadStoryboard(this.abort.signal);
    } else {
      // Another video is another view: the current one ends (under its own playback id) first.
      if ((name === 'playback-id' || name === 'src') && this.viewStarted) {
        const playing = !this.video.paused;
        this.newView();
        if (playing) this.requestedPlay(); // it plays on: the switch is the new view's play intent
      }
      if (this.isConnected) this.setup(); // a new source or playback token: reloads when the URL changed
    }
  }

  // ---- loading ----

  private teardown() {
    this.abort?.abort();
    this.abort = undefined;
    this.hls?.destroy();
    this.hls = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.loadedFor = undefined;
  }

  private setup() {
    if (!this.playbackId && !this.attr('src')) return;
    const master = this.masterUrl;
    if (this.loadedFor === master) return;
    this.teardown();
    this.loadedFor = master;
    this.abort = new AbortController();
    this.showError(null);
    this.mediaRecoveries = 0;
    const v = this.video;
    v.muted = this.hasAttribute('muted');
    v.loop = this.loop;
    v.preload = this.preload;
    this.syncVolume();
    v.poster = this.posterUrl;
    this.buildRateMenu();
    this.$('.quality').hidden = true;
    const start = this.startTime;
    if (Hls.isSupported()) {
      // preload="none": the manifest only; fragments from the first play (wireMedia).
      const hls = new Hls({
        enableWorker: true,
        startPosition: start ?? -1,
        autoStartLoad: v.preload !== 'none' || this.autoplay,
      });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, () => this.buildQualityMenu());
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
        this.updateQualityChecks();
        this.renditionIs(hls.levels[d.level]?.height);
      });
      hls.on(Hls.Events.ERROR, (_e, d: ErrorData) => {
        if (!d.fatal || this.hls !== hls) return; // a load replaced since (a new source or token) says nothing
        // A fatal media error is recovered from once per load (hls.js's recoverMediaError); a second one,
        // or any other fatal error, stops playback and is reported.
        if (d.type === Hls.ErrorTypes.MEDIA_ERROR && this.mediaRecoveries++ === 0) hls.recoverMediaError();
        else this.fail(fromHls(d));
      });
      hls.loadSource(master);
      hls.attachMedia(v);
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      v.src = master;
      if (start !== undefined)
        v.addEventListener('loadedmetadata', () => (v.currentTime = start), {
          once: true,
          signal: this.abort.signal,
        });
    } else {
      this.fail({ code: 4, message: 'This browser can play neither MSE nor native HLS.' });
    }
    if (this.playbackId) void this.loadStoryboard(this.abort.signal);
    if (this.autoplay) this.play().catch(() => {});
  }

  private async loadStoryboard(signal: AbortSignal) {
    try {
      const url = this.storyboardUrl;
      const r = await fetch(url, { signal });
      if (!r.ok) return;
      this.storyboard = parseStoryboard(await r.text(), r.url || url);
      this.dispatchEvent(new Event('storyboardload'));
    } catch {
      // no previews
    }
  }

  /** Shows the error overlay, sets `error`, sends an error beacon and dispatches `error` on the element. */
  private fail(err: VodPlayerError) {
    this.showError(err);
    const http = err.status ? ` HTTP ${err.status}` : '';
    this.beacon('error', { error: `${err.code}${http} ${err.details ?? ''}: ${err.message}`.slice(0, 1000) });
    this.dispatchEvent(new CustomEvent('error', { detail: err }));
  }

  private showError(err: VodPlayerError | null) {
    this.lastError = err;
    const box = this.$('.error');
    box.hidden = !err;
    this.$('.error p').textContent = err?.message ?? '';
  }

  // ---- media API (as HTMLMediaElement) ----

  /** Starts playback (and the view): the media element's play() promise (rejected, e.g., by autoplay policy). */
  play(): Promise<void> {
    this.requestedPlay();
    return this.video.play();
  }
  pause() {
    this.video.pause();
  }
  /** Reloads the source (a new hls.js instance) and clears `error`, as a media element's load() restarts. */
  load() {
    this.loadedFor = undefined;
    this.setup();
  }
  /** The last fatal error of this load, or null: { code, message, status?, details? }. */
  get error(): VodPlayerError | null {
    return this.lastError;
  }
  get currentTime() {
    return this.video.currentTime;
  }
  set currentTime(t: number) {
    this.seekTo(t);
  }
  get duration() {
    return this.video.duration;
  }
  get paused() {
    return this.video.paused;
  }
  get ended() {
    return this.video.ended;
  }
  get seeking() {
    return this.video.seeking;
  }
  get readyState() {
    return this.video.readyState;
  }
  get buffered() {
    return this.video.buffered;
  }
  get seekable() {
    return this.video.seekable;
  }
  get volume() {
    return this.video.volume;
  }
  set volume(v: number) {
    this.video.volume = v;
  }
  /** The `muted` property and attribute reflect each other (the mute button and the `m` key included). */
  get muted() {
    return this.video.muted;
  }
  set muted(m: boolean) {
    this.reflect('muted', !!m);
  }
  get playbackRate() {
    return this.video.playbackRate;
  }
  set playbackRate(r: number) {
    this.video.playbackRate = r;
  }
  get videoWidth() {
    return this.video.videoWidth;
  }
  get videoHeight() {
    return this.video.videoHeight;
  }

  seekTo(t: number) {
    const d = this.video.duration;
    this.video.currentTime = Math.max(0, Number.isFinite(d) ? Math.min(t, d - 0.05) : t);
  }
  /** -1: automatic (ABR); otherwise an index into hls.levels. */
  setQuality(level: number) {
    if (!this.hls) return;
    this.hls.currentLevel = level;
    this.updateQualityChecks(level);
  }
  setRate(rate: number) {
    this.video.playbackRate = rate;
  }
  toggleFullscreen() {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else void this.requestFullscreen?.().catch(() => {});
  }

  // ---- controls ----

  private wireControls() {
    const v = this.video;
    const playBtn = this.$<HTMLButtonElement>('.play');
    const muteBtn = this.$<HTMLButtonElement>('.mute');
    const volume = this.$<HTMLInputElement>('.volume');
    const cc = this.$<HTMLButtonElement>('.cc');
    const fs = this.$<HTMLButtonElement>('.fs');

    playBtn.addEventListener('click', () => this.togglePlay());
    v.addEventListener('click', () => this.togglePlay());
    const syncPlay = () => {
      playBtn.innerHTML = v.paused ? ICON.play : ICON.pause;
      playBtn.setAttribute('aria-label', v.paused ? 'Play' : 'Pause');
    };
    v.addEventListener('play', syncPlay);
    v.addEventListener('pause', syncPlay);
    for (const ev of ['timeupdate', 'durationchange', 'progress', 'seeked', 'loadedmetadata'])
      v.addEventListener(ev, () => this.updateTime());

    // mute / volume; the muted attribute follows the media's muted state
    muteBtn.addEventListener('click', () => {
      v.muted = !v.muted;
    });
    volume.addEventListener('input', () => {
      v.volume = Number(volume.value);
      if (v.volume > 0 && v.muted) v.muted = false;
    });
    v.addEventListener('volumechange', () => {
      if (this.hasAttribute('muted') !== v.muted) this.reflect('muted', v.muted);
      this.syncVolume();
    });
    v.addEventListener('ratechange', () => this.syncRate());

    // captions
    const syncCc = () => {
      const tracks = Array.from(v.textTracks).filter((t) => t.kind === 'subtitles' || t.kind === 'captions');
      cc.hidden = tracks.length === 0;
      cc.setAttribute('aria-pressed', String(tracks.some((t) => t.mode === 'showing')));
    };
    v.textTracks.addEventListener('addtrack', syncCc);
    v.textTracks.addEventListener('removetrack', syncCc);
    v.textTracks.addEventListener('change', syncCc);
    cc.addEventListener('click', () => {
      const tracks = Array.from(v.textTracks).filter((t) => t.kind === 'subtitles' || t.kind === 'captions');
      const on = tracks.some((t) => t.mode === 'showing');
      tracks.forEach((t, i) => {
        t.mode = !on && i === 0 ? 'showing' : 'disabled';
      });
      if (this.hls) this.hls.subtitleDisplay = !on;
      syncCc();
    });

    // fullscreen
    fs.addEventListener('click', () => this.toggleFullscreen());
    document.addEventListener('fullscreenchange', () => {
      const on = document.fullscreenElement === this;
      fs.setAttribute('aria-pressed', String(on));
      fs.setAttribute('aria-label', on ? 'Exit fullscreen' : 'Fullscreen');
    });

    // menus
    this.wireMenu('.rate-btn', '.rate-menu');
    this.wireMenu('.quality-btn', '.quality-menu');
  }

  // seek bar: click/drag, hover previews, keyboard
  private wireSeekBar() {
    const v = this.video;
    const seek = this.$('.seek');
    const timeAtX = (clientX: number) => {
      const r = seek.getBoundingClientRect();
      const f = Math.min(1, Math.max(0, (clientX - r.left) / (r.width || 1)));
      return {
        t: f * (Number.isFinite(v.duration) ? v.duration : 0),
        x: clientX - this.getBoundingClientRect().left,
      };
    };
    let dragging = false;
    seek.addEventListener('pointerdown', (e) => {
      dragging = true;
      seek.setPointerCapture?.(e.pointerId);
      this.seekTo(timeAtX(e.clientX).t);
    });
    seek.addEventListener('pointermove', (e) => {
      const { t, x } = timeAtX(e.clientX);
      this.showPreview(t, x);
      if (dragging) this.seekTo(t);
    });
    seek.addEventListener('pointerup', () => {
      dragging = false;
    });
    seek.addEventListener('pointerleave', () => {
      if (!dragging) this.$('.preview').hidden = true;
    });
    seek.addEventListener('keydown', (e) => {
      const d = Number.isFinite(v.duration) ? v.duration : 0;
      const step: Record<string, number> = {
        ArrowRight: SEEK_STEP,
        ArrowUp: SEEK_STEP,
        ArrowLeft: -SEEK_STEP,
        ArrowDown: -SEEK_STEP,
        PageUp: d / 10,
        PageDown: -d / 10,
      };
      if (e.key in step) this.seekTo(v.currentTime + step[e.key]!);
      else if (e.key === 'Home') this.seekTo(0);
      else if (e.key === 'End') this.seekTo(d);
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
  }

  // keyboard on the player
  private wireKeyboard() {
    const v = this.video;
    this.addEventListener('keydown', (e) => {
      const path = e.composedPath();
      const inMenu = path.some((n) => n instanceof HTMLElement && n.getAttribute('role') === 'menu');
      const onInput = path.some((n) => n instanceof HTMLInputElement);
      if (inMenu || e.ctrlKey || e.metaKey || e.altKey) return;
      const onButton = path.some((n) => n instanceof HTMLButtonElement);
      switch (e.key) {
        case ' ':
        case 'Spacebar':
          if (onButton) return; // the button's own activation
          this.togglePlay();
          break;
        case 'k':
          this.togglePlay();
          break;
        case 'ArrowRight':
          if (onInput) return;
          this.seekTo(v.currentTime + SEEK_STEP);
          break;
        case 'ArrowLeft':
          if (onInput) return;
          this.seekTo(v.currentTime - SEEK_STEP);
          break;
        case 'm':
          v.muted = !v.muted;
          break;
        case 'f':
          this.toggleFullscreen();
          break;
        default:
          return;
      }
      e.preventDefault();
    });
  }

  // QoE, errors and the media events re-dispatched on the element
  private wireMedia() {
    const v = this.video;
    v.addEventListener('play', () => {
      this.requestedPlay();
      // preload="none": hls.js starts loading fragments now
      if (this.hls && !this.hls.config.autoStartLoad && !this.hls.loadingEnabled)
        this.hls.startLoad(this.startTime ?? -1);
    });
    v.addEventListener('playing', () => {
      this.endRebuffer();
      if (this.startupSent || this.playRequestedAt === undefined) return;
      // Startup ends at the first frame presented (requestVideoFrameCallback), else at `playing`; a frame
      // callback that does not come (a hidden page renders none) falls back to `playing` after 1 s.
      const t = performance.now();
      if (!('requestVideoFrameCallback' in v)) return this.started(t);
      v.requestVideoFrameCallback((now) => this.started(now));
      setTimeout(() => this.started(t), 1000);
    });
    // A rebuffer: playback stops for want of data after startup, not a seek's own wait nor while paused.
    const stall = (e: Event) => {
      if (!this.startupSent || v.seeking || v.paused || this.rebufferedAt !== undefined) return;
      if (e.type === 'stalled' && v.readyState > 2) return; // stalled (no data for 3 s) with frames ahead
      this.rebufferedAt = performance.now();
      this.rebufferPos = v.currentTime;
      this.beacon('rebuffer_start');
    };
    v.addEventListener('waiting', stall);
    v.addEventListener('stalled', stall);
    v.addEventListener('pause', () => this.endRebuffer());
    v.addEventListener('timeupdate', () => {
      const now = v.currentTime;
      if (this.lastTick !== undefined && !v.seeking && !v.paused) {
        const d = now - this.lastTick;
        if (d > 0 && d < 2) this.watched += d;
      }
      this.lastTick = now;
      if (now > this.rebufferPos && !v.seeking) this.endRebuffer();
    });
    v.addEventListener('seeking', () => {
      this.lastTick = undefined;
      this.endRebuffer();
    });
    // Native HLS (Safari): the rendition is the picture's height.
    v.addEventListener('resize', () => this.hls || this.renditionIs(v.videoHeight));
    v.addEventListener('error', () => void this.onMediaError());
    for (const type of MEDIA_EVENTS) v.addEventListener(type, () => this.dispatchEvent(new Event(type)));
  }

  /**
   * The <video> element's own error. Under hls.js a decode error is hls.js's to report (it recovers once);
   * with native HLS the master playlist is fetched again to learn the HTTP status (a 403 is an error 4 in
   * the media element, without the reason).
   */
  private async onMediaError() {
    const e = this.video.error;
    if (!e || (this.hls && e.code === MediaError.MEDIA_ERR_DECODE)) return;
    let status: number | undefined;
    if (!this.hls && this.loadedFor)
      status = await fetch(this.loadedFor, { signal: this.abort?.signal }).then(
        (r) => r.status,
        () => undefined,
      );
    if (this.video.error === e) this.fail(fromMedia(e, status));
  }

  private syncVolume() {
    const v = this.video;
    const muteBtn = this.$<HTMLButtonElement>('.mute');
    muteBtn.setAttribute('aria-pressed', String(v.muted));
    muteBtn.setAttribute('aria-label', v.muted ? 'Unmute' : 'Mute');
    muteBtn.innerHTML = v.muted || v.volume === 0 ? ICON.muted : ICON.volume;
    this.$<HTMLInputElement>('.volume').value = String(v.muted ? 0 : v.volume);
  }

  private togglePlay() {
    if (this.video.paused || this.video.ended) this.play().catch(() => {});
    else this.video.pause();
  }

  private updateTime() {
    const v = this.video;
    const d = Number.isFinite(v.duration) ? v.duration : 0;
    const t = v.currentTime;
    const seek = this.$('.seek');
    seek.setAttribute('aria-valuemax', String(Math.round(d)));
    seek.setAttribute('aria-valuenow', String(Math.round(t)));
    seek.setAttribute('aria-valuetext', `${spokenTime(t)} of ${spokenTime(d)}`);
    this.$('.progress').style.width = `${d ? (t / d) * 100 : 0}%`;
    const b = v.buffered;
    const end = b.length ? b.end(b.length - 1) : 0;
    this.$('.buffered').style.width = `${d ? Math.min(100, (end / d) * 100) : 0}%`;
    this.$('.time').textContent = `${formatTime(t)} / ${formatTime(d)}`;
  }

  private showPreview(t: number, x: number) {
    const preview = this.$('.preview');
    const cue = cueAt(this.storyboard, t);
    const tile = this.$('.tile');
    if (cue) {
      tile.hidden = false;
      tile.style.width = `${cue.w}px`;
      tile.style.height = `${cue.h}px`;
      tile.style.backgroundImage = `url("${cue.url.replace(/"/g, '%22')}")`;
      tile.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    } else tile.hidden = true;
    this.$('.ptime').textContent = formatTime(t);
    const half = (cue?.w ?? 40) / 2 + 4;
    const w = this.getBoundingClientRect().width;
    preview.style.left = `${Math.min(Math.max(x, half), Math.max(half, w - half))}px`;
    preview.hidden = false;
  }

  private wireMenu(btnSel: string, menuSel: string) {
    const btn = this.$<HTMLButtonElement>(btnSel);
    const menu = this.$(menuSel);
    const items = () => Array.from(menu.querySelectorAll<HTMLElement>('[role=menuitemradio]'));
    const open = (focus: boolean) => {
      for (const m of this.root.querySelectorAll<HTMLElement>('[role=menu]')) if (m !== menu) m.hidden = true;
      menu.hidden = false;
      btn.setAttribute('aria-expanded', 'true');
      if (focus) (items().find((i) => i.getAttribute('aria-checked') === 'true') ?? items()[0])?.focus();
    };
    const close = (refocus: boolean) => {
      menu.hidden = true;
      btn.setAttribute('aria-expanded', 'false');
      if (refocus) btn.focus();
    };
    btn.addEventListener('click', (e) => (menu.hidden ? open(e.detail === 0) : close(false)));
    menu.addEventListener('click', (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>('[role=menuitemradio]');
      if (!item) return;
      item.dispatchEvent(new CustomEvent('select'));
      close(true);
    });
    menu.addEventListener('keydown', (e) => {
      const list = items();
      const i = list.indexOf(this.root.activeElement as HTMLElement);
      if (e.key === 'ArrowDown') list[(i + 1) % list.length]?.focus();
      else if (e.key === 'ArrowUp') list[(i - 1 + list.length) % list.length]?.focus();
      else if (e.key === 'Home') list[0]?.focus();
      else if (e.key === 'End') list.at(-1)?.focus();
      else if (e.key === 'Escape') close(true);
      else if (e.key === 'Enter' || e.key === ' ') {
        list[i]?.dispatchEvent(new CustomEvent('select'));
        close(true);
      } else return;
      e.preventDefault();
      e.stopPropagation();
    });
  }

  private menuItem(label: string, checked: boolean, onSelect: () => void, data: string) {
    const li = document.createElement('li');
    li.setAttribute('role', 'menuitemradio');
    li.setAttribute('part', 'menu-item');
    li.setAttribute('aria-checked', String(checked));
    li.tabIndex = -1;
    li.dataset.value = data;
    li.textContent = label;
    li.addEventListener('select', onSelect);
    return li;
  }

  private buildRateMenu() {
    this.$('.rate-menu').replaceChildren(
      ...RATES.map((r) =>
        this.menuItem(
          r === 1 ? 'Normal' : `${r}×`,
          r === this.video.playbackRate,
          () => this.setRate(r),
          String(r),
        ),
      ),
    );
    this.syncRate();
  }

  /** The speed menu's checked item and button follow the media's rate (the menu or `playbackRate`). */
  private syncRate() {
    const r = this.video.playbackRate;
    for (const li of this.$('.rate-menu').children)
      li.setAttribute('aria-checked', String(Number((li as HTMLElement).dataset.value) === r));
    const btn = this.$('.rate-btn');
    btn.textContent = `${r}×`;
    // The accessible name contains the visible text (WCAG 2.5.3, "label in name").
    btn.setAttribute('aria-label', `Playback speed: ${r}×`);
  }

  private buildQualityMenu() {
    const hls = this.hls;
    if (!hls) return;
    const menu = this.$('.quality-menu');
    const order = hls.levels
      .map((l, i) => ({ i, height: l.height, bitrate: l.bitrate }))
      .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
    menu.replaceChildren(
      this.menuItem('Auto', true, () => this.setQuality(-1), '-1'),
      ...order.map((l) =>
        this.menuItem(
          l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kb/s`,
          false,
          () => this.setQuality(l.i),
          String(l.i),
        ),
      ),
    );
    this.$('.quality').hidden = hls.levels.length < 1;
    this.updateQualityChecks();
  }

  private updateQualityChecks(chosen?: number) {
    const hls = this.hls;
    if (!hls) return;
    const manual = chosen ?? (hls.autoLevelEnabled ? -1 : hls.currentLevel);
    for (const li of this.$('.quality-menu').children)
      li.setAttribute('aria-checked', String(Number((li as HTMLElement).dataset.value) === manual));
    const playing = hls.levels[hls.currentLevel];
    const label = playing?.height ? `${playing.height}p` : '';
    const text = manual === -1 ? `Auto${label ? ` (${label})` : ''}` : label || 'Quality';
    const btn = this.$('.quality-btn');
    btn.textContent = text;
    btn.setAttribute('aria-label', text === 'Quality' ? text : `Quality: ${text}`);
  }

  // ---- QoE beacons ----

  private requestedPlay() {
    if (this.playRequestedAt === undefined) this.playRequestedAt = performance.now();
    if (!this.viewStarted) {
      this.viewStarted = true;
      this.view.playbackId = this.playbackId;
      this.view.token = this.playbackToken;
      this.beacon('view_start');
    }
  }

  /** The first frame: the `playing` event with startupMs (sent at once), then a batch per heartbeat. */
  private started(t: number) {
    if (this.startupSent) return;
    this.startupSent = true;
    const startupMs = Math.max(1, Math.round(t - (this.playRequestedAt ?? t)));
    this.beacon('playing', { startupMs, rendition: this.rendition });
    this.flush();
    const s = Number(this.getAttribute('heartbeat-interval') ?? 10);
    const ms = Math.max(1, Number.isFinite(s) && s > 0 ? s : 10) * 1000;
    this.heartbeat ??= setInterval(() => {
      this.beacon('heartbeat', { ...this.played(), rendition: this.rendition });
      this.flush();
    }, ms);
  }

  private endRebuffer() {
    if (this.rebufferedAt === undefined) return;
    const rebufferMs = Math.round(performance.now() - this.rebufferedAt);
    this.rebufferedAt = undefined;
    this.beacon('rebuffer_end', { rebufferMs });
  }

  /** A rendition of this height plays now: `rendition_change` once playback started, when it differs. */
  private renditionIs(height: number | undefined) {
    const r = height ? `${height}p` : undefined;
    if (!r || r === this.rendition) return;
    this.rendition = r;
    if (this.startupSent) this.beacon('rendition_change', { rendition: r });
  }

  private takeWatched() {
    const w = Math.round(this.watched * 1000) / 1000;
    this.playedTotal += this.watched;
    this.watched = 0;
    return w;
  }

  /** The played seconds to report: the delta since the last report, and the view's total. */
  private played() {
    const watchedSec = this.takeWatched();
    return { watchedSec, playedSec: Math.round(this.playedTotal * 1000) / 1000 };
  }

  /** Ends the current view and starts counting a new one (a new id, seq from 0, no startup yet). */
  private newView() {
    this.endView();
    this.view = { id: randomId() };
    this.seq = 0;
    this.viewStarted = false;
    this.viewEnded = false;
    this.playRequestedAt = undefined;
    this.startupSent = false;
    this.rebufferedAt = undefined;
    this.watched = 0;
    this.playedTotal = 0;
    this.lastTick = undefined;
  }

  private endView() {
    if (!this.viewStarted || this.viewEnded) return;
    this.viewEnded = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.endRebuffer();
    this.beacon('view_end', this.played());
  }

  /**
   * Queues one QoE event (and dispatches `beacon` with it). The queue is sent as one batch per heartbeat,
   * and at once on `playing`'s caller, `error`, `view_end` and when BATCH_MAX events wait. Never throws.
   */
  beacon(event: BeaconEvent, extra: Omit<Partial<BeaconData>, 'event' | 'at' | 'seq' | 'position'> = {}) {
    const playbackId = this.view.playbackId ?? this.playbackId;
    if (this.hasAttribute('no-beacons') || !playbackId) return;
    const pos = this.video.currentTime;
    const e: BeaconData = {
      event,
      at: Date.now(),
      seq: this.seq++,
      position: Number.isFinite(pos) ? Math.round(pos * 1000) / 1000 : 0,
      ...extra,
    };
    this.queue.push(e);
    try {
      this.dispatchEvent(new CustomEvent('beacon', { detail: { ...e, viewId: this.view.id, playbackId } }));
    } catch {
      // a listener's error is not ours
    }
    if (event === 'error' || event === 'view_end' || this.queue.length >= BATCH_MAX)
      this.flush(event === 'view_end');
  }

  /**
   * Sends the queued events as one batch: with navigator.sendBeacon when the page is going away (`unload`),
   * else (or when sendBeacon refuses) fetch with keepalive. Never throws; a lost batch is not sent again.
   */
  private flush(unload = false) {
    const events = this.queue.splice(0);
    if (!events.length) return;
    try {
      // The view's playback id; its token, or the current one while it is the same video (a refreshed token).
      const playbackId = this.view.playbackId ?? this.playbackId;
      const token = playbackId === this.playbackId ? this.playbackToken : this.view.token;
      const body = JSON.stringify({
        playbackId,
        viewId: this.view.id,
        ...(token ? { token } : {}),
        sentAt: Date.now(),
        events,
      });
      const url = `${this.apiBase}/v1/beacons`;
      // text/plain: a CORS-safelisted type, so no preflight and sendBeacon sends it as is.
      if (unload && typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(url, body)) return;
      void fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        keepalive: true,
        credentials: 'omit',
      }).catch(() => {});
    } catch {
      // beacons never break playback
    }
  }
}

if (typeof customElements !== 'undefined' && !customElements.get('vod-player'))
  customElements.define('vod-player', VodPlayer);

// Typed listeners: player.addEventListener('error', (e) => e.detail.code), and the media events.
export interface VodPlayer {
  addEventListener<K extends keyof VodPlayerEventMap>(
    type: K,
    listener: (this: VodPlayer, ev: VodPlayerEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof VodPlayerEventMap>(
    type: K,
    listener: (this: VodPlayer, ev: VodPlayerEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'vod-player': VodPlayer;
  }
}
