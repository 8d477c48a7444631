// <vod-player>: the vodcloud web component. hls.js where MSE exists, native HLS otherwise; a control bar
// in shadow DOM (play, seek with storyboard previews, time, quality, speed, captions, volume, fullscreen),
// keyboard control, screen-reader labels, and QoE beacons to POST {api-base}/v1/beacons.
import Hls, { type ErrorData } from 'hls.js';
import { cueAt, formatTime, parseStoryboard, type StoryboardCue, spokenTime } from './storyboard';

export type { StoryboardCue } from './storyboard';
export { cueAt, formatTime, parseStoryboard, parseVttTime, spokenTime } from './storyboard';

export type BeaconEvent =
  | 'view_start'
  | 'playing'
  | 'heartbeat'
  | 'rebuffer_start'
  | 'rebuffer_end'
  | 'error'
  | 'view_end';

const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SEEK_STEP = 5;

const svg = (d: string) =>
  `<svg viewBox="0 0 24 24" width="18" height="18" fill="currentColor" aria-hidden="true" focusable="false">${d}</svg>`;
const ICON = {
  play: svg('<path d="M7 5v14l12-7z"/>'),
  pause: svg('<path d="M6 5h4v14H6zM14 5h4v14h-4z"/>'),
  volume: svg('<path d="M3 9v6h4l5 5V4L7 9H3z"/><path d="M14 7.5a5 5 0 0 1 0 9v-2a3 3 0 0 0 0-5z"/>'),
  muted: svg(
    '<path d="M3 9v6h4l5 5V4L7 9H3z"/><path d="M15 9l6 6M21 9l-6 6" stroke="currentColor" stroke-width="2"/>',
  ),
  fullscreen: svg('<path d="M4 4h6v2H6v4H4zM14 4h6v6h-2V6h-4zM4 14h2v4h4v2H4zM18 14h2v6h-6v-2h4z"/>'),
};

const STYLE = `
:host{display:inline-block;position:relative;width:640px;aspect-ratio:16/9;background:#000;color:#fff;
  font:13px/1.2 system-ui,sans-serif;outline:none;overflow:hidden}
:host(:focus-visible){box-shadow:0 0 0 2px #4af}
.root{position:absolute;inset:0}
video{width:100%;height:100%;display:block;background:#000;object-fit:contain}
.bar{position:absolute;left:0;right:0;bottom:0;display:flex;align-items:center;gap:6px;padding:6px 8px;
  background:linear-gradient(transparent,rgba(0,0,0,.8));}
button{background:none;border:0;color:inherit;font:inherit;cursor:pointer;padding:4px 6px;border-radius:3px;min-width:28px;display:inline-flex;align-items:center;justify-content:center}
button:focus-visible,[role=slider]:focus-visible,input:focus-visible,[role=menuitemradio]:focus-visible{outline:2px solid #4af}
.seek{flex:1;height:16px;position:relative;cursor:pointer;display:flex;align-items:center}
.track{position:relative;width:100%;height:4px;background:rgba(255,255,255,.3);border-radius:2px}
.buffered{position:absolute;left:0;top:0;bottom:0;background:rgba(255,255,255,.45);border-radius:2px}
.progress{position:absolute;left:0;top:0;bottom:0;background:#4af;border-radius:2px}
.time{font-variant-numeric:tabular-nums;white-space:nowrap}
.volume{width:70px}
.menuwrap{position:relative}
[role=menu]{position:absolute;bottom:32px;right:0;background:rgba(20,20,20,.95);border-radius:4px;padding:4px 0;
  min-width:90px;list-style:none;margin:0}
[role=menuitemradio]{display:block;padding:5px 12px;cursor:pointer;white-space:nowrap}
[role=menuitemradio][aria-checked=true]::before{content:"✓ "}
[role=menuitemradio]:hover{background:rgba(255,255,255,.15)}
.preview{position:absolute;bottom:44px;pointer-events:none;display:flex;flex-direction:column;align-items:center;
  transform:translateX(-50%)}
.tile{border:2px solid #fff;background-repeat:no-repeat;background-color:#222}
.ptime{margin-top:2px;background:rgba(0,0,0,.7);padding:1px 4px;border-radius:2px}
[hidden]{display:none!important}
`;

const TEMPLATE = `
<div class="root" part="root">
  <video part="video" playsinline preload="metadata"></video>
  <div class="preview" part="preview" hidden><div class="tile"></div><span class="ptime"></span></div>
  <div class="bar" part="controls" role="group" aria-label="Video controls">
    <button class="play" type="button" aria-label="Play">${ICON.play}</button>
    <div class="seek" role="slider" tabindex="0" aria-label="Seek" aria-valuemin="0" aria-valuemax="0"
      aria-valuenow="0" aria-valuetext="0 seconds of 0 seconds">
      <div class="track"><div class="buffered"></div><div class="progress"></div></div>
    </div>
    <span class="time" aria-hidden="true">0:00 / 0:00</span>
    <button class="mute" type="button" aria-label="Mute" aria-pressed="false">${ICON.volume}</button>
    <input class="volume" type="range" min="0" max="1" step="0.05" value="1" aria-label="Volume">
    <button class="cc" type="button" aria-label="Captions" aria-pressed="false" hidden>CC</button>
    <div class="menuwrap">
      <button class="rate-btn" type="button" aria-label="Playback speed" aria-haspopup="menu" aria-expanded="false">1×</button>
      <ul class="rate-menu" role="menu" aria-label="Playback speed" hidden></ul>
    </div>
    <div class="menuwrap quality" hidden>
      <button class="quality-btn" type="button" aria-label="Quality" aria-haspopup="menu" aria-expanded="false">Auto</button>
      <ul class="quality-menu" role="menu" aria-label="Quality" hidden></ul>
    </div>
    <button class="fs" type="button" aria-label="Fullscreen" aria-pressed="false">${ICON.fullscreen}</button>
  </div>
</div>`;

const randomId = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : Array.from({ length: 4 }, () => Math.random().toString(36).slice(2, 10)).join('');

/**
 * `<vod-player playback-id="…" [src] [token] [thumb-token] [storyboard-token] [api-base] [stream-base]
 * [poster] [autoplay] [muted] [heartbeat-interval] [no-beacons]>`
 *
 * - `stream-base` (default: `api-base`, else the page's origin) is where `/hls`, `/thumb`, `/storyboard` live.
 * - `token` (aud v) is appended to the master playlist URL and sent with beacons; the poster uses
 *   `thumb-token` (aud t) and the storyboard `storyboard-token` (aud s), each falling back to `token`
 *   (a token has one audience, so a signed video needs three tokens for poster and previews).
 * - `heartbeat-interval` in seconds (default 10).
 */
export class VodPlayer extends HTMLElement {
  static observedAttributes = ['playback-id', 'src', 'token', 'poster', 'muted'];

  readonly video: HTMLVideoElement;
  /** The hls.js instance while one is used (undefined with native HLS). */
  hls: Hls | undefined;
  /** Storyboard cues, once loaded. */
  storyboard: StoryboardCue[] = [];
  readonly viewId = randomId();

  private readonly root: ShadowRoot;
  private readonly $ = <T extends Element = HTMLElement>(sel: string) => this.root.querySelector(sel) as T;
  private loadedFor: string | undefined;
  private abort: AbortController | undefined;
  // QoE state
  private viewStarted = false;
  private playRequestedAt: number | undefined;
  private startupSent = false;
  private rebuffering = false;
  private watched = 0;
  private lastTick: number | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private ended = false;
  private readonly onPageHide = () => this.endView();

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    this.video = this.$<HTMLVideoElement>('video');
    this.wire();
  }

  // ---- attributes ----

  get playbackId() {
    return this.getAttribute('playback-id') ?? '';
  }
  private get token() {
    return this.getAttribute('token') ?? undefined;
  }
  private get apiBase() {
    return (this.getAttribute('api-base') ?? '').replace(/\/+$/, '');
  }
  private get streamBase() {
    return (this.getAttribute('stream-base') ?? this.getAttribute('api-base') ?? '').replace(/\/+$/, '');
  }
  private withToken(url: string, token: string | undefined) {
    if (!token) return url;
    const u = new URL(url, location.href);
    u.searchParams.set('token', token);
    return u.href;
  }
  /** The master playlist URL (the `src` attribute, else {stream-base}/hls/{id}/master.m3u8), with the token. */
  get masterUrl() {
    const src = this.getAttribute('src') ?? `${this.streamBase}/hls/${this.playbackId}/master.m3u8`;
    return this.withToken(src, this.token);
  }
  get posterUrl() {
    const p = this.getAttribute('poster');
    if (p !== null) return p;
    if (!this.playbackId) return '';
    return this.withToken(
      `${this.streamBase}/thumb/${this.playbackId}.jpg`,
      this.getAttribute('thumb-token') ?? this.token,
    );
  }
  get storyboardUrl() {
    return this.withToken(
      `${this.streamBase}/storyboard/${this.playbackId}.vtt`,
      this.getAttribute('storyboard-token') ?? this.token,
    );
  }

  connectedCallback() {
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    if (!this.hasAttribute('aria-label')) this.setAttribute('aria-label', 'Video player');
    this.ended = false;
    addEventListener('pagehide', this.onPageHide);
    this.load();
  }

  disconnectedCallback() {
    removeEventListener('pagehide', this.onPageHide);
    this.endView();
    this.teardown();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null) {
    if (old === value) return;
    if (name === 'muted') {
      this.video.muted = value !== null;
      this.syncVolume();
    } else if (name === 'poster') this.video.poster = this.posterUrl;
    else if (this.isConnected) this.load();
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

  private load() {
    if (!this.playbackId && !this.getAttribute('src')) return;
    const master = this.masterUrl;
    if (this.loadedFor === master) return;
    this.teardown();
    this.loadedFor = master;
    this.abort = new AbortController();
    const v = this.video;
    v.muted = this.hasAttribute('muted');
    this.syncVolume();
    v.poster = this.posterUrl;
    this.buildRateMenu();
    this.$('.quality').hidden = true;
    if (Hls.isSupported()) {
      const hls = new Hls({ enableWorker: true });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, () => this.buildQualityMenu());
      hls.on(Hls.Events.LEVEL_SWITCHED, () => this.updateQualityChecks());
      hls.on(Hls.Events.ERROR, (_e, d: ErrorData) => {
        if (!d.fatal) return;
        this.beacon('error', { error: `${d.type}: ${d.details}` });
        if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      });
      hls.loadSource(master);
      hls.attachMedia(v);
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      v.src = master;
    } else {
      this.beacon('error', { error: 'This browser can play neither MSE nor native HLS' });
    }
    if (this.playbackId) void this.loadStoryboard(this.abort.signal);
    if (this.hasAttribute('autoplay')) void this.play();
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

  // ---- public API ----

  /** Starts playback (and the view); resolves false when the browser refused (e.g. autoplay policy). */
  async play(): Promise<boolean> {
    this.requestedPlay();
    try {
      await this.video.play();
      return true;
    } catch {
      return false;
    }
  }
  pause() {
    this.video.pause();
  }
  get currentTime() {
    return this.video.currentTime;
  }
  set currentTime(t: number) {
    this.seekTo(t);
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

  private wire() {
    const v = this.video;
    const playBtn = this.$<HTMLButtonElement>('.play');
    const seek = this.$('.seek');
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

    // mute / volume
    muteBtn.addEventListener('click', () => {
      v.muted = !v.muted;
    });
    volume.addEventListener('input', () => {
      v.volume = Number(volume.value);
      if (v.volume > 0 && v.muted) v.muted = false;
    });
    v.addEventListener('volumechange', () => this.syncVolume());

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

    // seek bar: click/drag, hover previews, keyboard
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

    // menus
    this.wireMenu('.rate-btn', '.rate-menu');
    this.wireMenu('.quality-btn', '.quality-menu');

    // keyboard on the player
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

    // QoE
    v.addEventListener('play', () => this.requestedPlay());
    v.addEventListener('playing', () => {
      if (!this.startupSent && this.playRequestedAt !== undefined) {
        this.startupSent = true;
        const startupMs = Math.max(1, Math.round(performance.now() - this.playRequestedAt));
        this.beacon('playing', { startupMs });
        this.startHeartbeat();
      }
      if (this.rebuffering) {
        this.rebuffering = false;
        this.beacon('rebuffer_end');
      }
    });
    v.addEventListener('waiting', () => {
      if (this.startupSent && !v.seeking && !this.rebuffering) {
        this.rebuffering = true;
        this.beacon('rebuffer_start');
      }
    });
    v.addEventListener('timeupdate', () => {
      const now = v.currentTime;
      if (this.lastTick !== undefined && !v.seeking && !v.paused) {
        const d = now - this.lastTick;
        if (d > 0 && d < 2) this.watched += d;
      }
      this.lastTick = now;
    });
    v.addEventListener('seeking', () => {
      this.lastTick = undefined;
    });
    v.addEventListener('error', () => {
      const e = v.error;
      if (e) this.beacon('error', { error: `media error ${e.code}: ${e.message}`.slice(0, 1000) });
    });
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
    if (this.video.paused || this.video.ended) void this.play();
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
    li.setAttribute('aria-checked', String(checked));
    li.tabIndex = -1;
    li.dataset.value = data;
    li.textContent = label;
    li.addEventListener('select', onSelect);
    return li;
  }

  private buildRateMenu() {
    const menu = this.$('.rate-menu');
    const btn = this.$('.rate-btn');
    menu.replaceChildren(
      ...RATES.map((r) =>
        this.menuItem(
          r === 1 ? 'Normal' : `${r}×`,
          r === this.video.playbackRate,
          () => {
            this.setRate(r);
            for (const li of menu.children)
              li.setAttribute('aria-checked', String(li === menu.children[RATES.indexOf(r)]));
            btn.textContent = `${r}×`;
          },
          String(r),
        ),
      ),
    );
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
    this.$('.quality-btn').textContent =
      manual === -1 ? `Auto${label ? ` (${label})` : ''}` : label || 'Quality';
  }

  // ---- QoE beacons ----

  private requestedPlay() {
    if (this.playRequestedAt === undefined) this.playRequestedAt = performance.now();
    if (!this.viewStarted) {
      this.viewStarted = true;
      this.beacon('view_start');
    }
  }

  private startHeartbeat() {
    if (this.heartbeat) return;
    const s = Number(this.getAttribute('heartbeat-interval') ?? 10);
    const ms = Math.max(1, Number.isFinite(s) && s > 0 ? s : 10) * 1000;
    this.heartbeat = setInterval(() => this.beacon('heartbeat', { watchedSec: this.takeWatched() }), ms);
  }

  private takeWatched() {
    const w = Math.round(this.watched * 1000) / 1000;
    this.watched = 0;
    return w;
  }

  private endView() {
    if (!this.viewStarted || this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.beacon('view_end', { watchedSec: this.takeWatched() });
  }

  /** Sends one beacon; view_end with navigator.sendBeacon when available. Never throws. */
  beacon(event: BeaconEvent, extra: { startupMs?: number; watchedSec?: number; error?: string } = {}) {
    if (this.hasAttribute('no-beacons') || !this.playbackId) return;
    const pos = this.video.currentTime;
    const body = JSON.stringify({
      event,
      viewId: this.viewId,
      playbackId: this.playbackId,
      position: Number.isFinite(pos) ? Math.round(pos * 1000) / 1000 : 0,
      ...extra,
      ...(this.token ? { token: this.token } : {}),
    });
    const url = `${this.apiBase}/v1/beacons`;
    this.dispatchEvent(new CustomEvent('beacon', { detail: JSON.parse(body) }));
    try {
      // text/plain: a CORS-safelisted type, so no preflight and sendBeacon accepts it.
      if (
        event === 'view_end' &&
        typeof navigator.sendBeacon === 'function' &&
        navigator.sendBeacon(url, body)
      )
        return;
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

declare global {
  interface HTMLElementTagNameMap {
    'vod-player': VodPlayer;
  }
}
