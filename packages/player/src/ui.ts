// The shadow DOM of <vod-player>: icons, style and markup. Every main piece has a `part` name (styled from
// the page with `vod-player::part(name)`) and the colours, fonts and sizes come from `--vod-player-*`
// custom properties with the defaults below; THEMING.md lists both.

const svg = (d: string) =>
  `<svg viewBox="0 0 24 24" width="18" height="18" fill="currentColor" aria-hidden="true" focusable="false">${d}</svg>`;
export const ICON = {
  play: svg('<path d="M7 5v14l12-7z"/>'),
  pause: svg('<path d="M6 5h4v14H6zM14 5h4v14h-4z"/>'),
  volume: svg('<path d="M3 9v6h4l5 5V4L7 9H3z"/><path d="M14 7.5a5 5 0 0 1 0 9v-2a3 3 0 0 0 0-5z"/>'),
  muted: svg(
    '<path d="M3 9v6h4l5 5V4L7 9H3z"/><path d="M15 9l6 6M21 9l-6 6" stroke="currentColor" stroke-width="2"/>',
  ),
  fullscreen: svg('<path d="M4 4h6v2H6v4H4zM14 4h6v6h-2V6h-4zM4 14h2v4h4v2H4zM18 14h2v6h-6v-2h4z"/>'),
};

// var(--vod-player-x, default) everywhere, so a property set on the element or any ancestor wins.
const ACCENT = 'var(--vod-player-accent-color,#4af)';

export const STYLE = `
:host{display:inline-block;position:relative;width:640px;aspect-ratio:16/9;overflow:hidden;outline:none;
  background:var(--vod-player-background,#000);color:var(--vod-player-primary-color,#fff);
  font-family:var(--vod-player-font-family,system-ui,sans-serif);font-size:var(--vod-player-font-size,13px);
  line-height:1.2;border-radius:var(--vod-player-border-radius,0)}
:host(:focus-visible){box-shadow:0 0 0 2px ${ACCENT}}
.root{position:absolute;inset:0}
video{width:100%;height:100%;display:block;background:var(--vod-player-background,#000);object-fit:contain}
.bar{position:absolute;left:0;right:0;bottom:0;display:flex;align-items:center;gap:6px;padding:6px 8px;
  background:var(--vod-player-controls-background,linear-gradient(transparent,rgba(0,0,0,.8)))}
button{background:none;border:0;color:inherit;font:inherit;cursor:pointer;padding:4px 6px;border-radius:3px;min-width:28px;display:inline-flex;align-items:center;justify-content:center}
button:focus-visible,[role=slider]:focus-visible,input:focus-visible,[role=menuitemradio]:focus-visible{outline:2px solid ${ACCENT}}
.seek{flex:1;height:16px;position:relative;cursor:pointer;display:flex;align-items:center}
.track{position:relative;width:100%;height:var(--vod-player-seek-height,4px);border-radius:2px;
  background:var(--vod-player-track-color,rgba(255,255,255,.3))}
.buffered{position:absolute;left:0;top:0;bottom:0;border-radius:2px;background:var(--vod-player-buffered-color,rgba(255,255,255,.45))}
.progress{position:absolute;left:0;top:0;bottom:0;background:${ACCENT};border-radius:2px}
.time{font-variant-numeric:tabular-nums;white-space:nowrap}
.volume{width:70px;accent-color:${ACCENT}}
.menuwrap{position:relative}
[role=menu]{position:absolute;bottom:32px;right:0;background:var(--vod-player-menu-background,rgba(20,20,20,.95));
  border-radius:4px;padding:4px 0;min-width:90px;list-style:none;margin:0}
[role=menuitemradio]{display:block;padding:5px 12px;cursor:pointer;white-space:nowrap}
[role=menuitemradio][aria-checked=true]{color:${ACCENT}}
[role=menuitemradio][aria-checked=true]::before{content:"✓ "}
[role=menuitemradio]:hover{background:rgba(255,255,255,.15)}
.preview{position:absolute;bottom:44px;pointer-events:none;display:flex;flex-direction:column;align-items:center;
  transform:translateX(-50%)}
.tile{border:2px solid var(--vod-player-primary-color,#fff);background-repeat:no-repeat;background-color:#222}
.ptime{margin-top:2px;background:rgba(0,0,0,.7);padding:1px 4px;border-radius:2px}
.error{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;padding:24px;
  text-align:center;background:var(--vod-player-error-background,rgba(0,0,0,.85))}
.error p{margin:0;max-width:32em}
[hidden]{display:none!important}
`;

export const TEMPLATE = `
<div class="root" part="root">
  <video part="video" playsinline preload="metadata"></video>
  <div class="preview" part="preview" hidden><div class="tile" part="preview-image"></div><span class="ptime" part="preview-time"></span></div>
  <div class="bar" part="controls" role="group" aria-label="Video controls">
    <button class="play" part="button play-button" type="button" aria-label="Play">${ICON.play}</button>
    <div class="seek" part="seek" role="slider" tabindex="0" aria-label="Seek" aria-valuemin="0" aria-valuemax="0"
      aria-valuenow="0" aria-valuetext="0 seconds of 0 seconds">
      <div class="track" part="seek-track"><div class="buffered" part="seek-buffered"></div><div class="progress" part="seek-progress"></div></div>
    </div>
    <span class="time" part="time" aria-hidden="true">0:00 / 0:00</span>
    <button class="mute" part="button mute-button" type="button" aria-label="Mute" aria-pressed="false">${ICON.volume}</button>
    <input class="volume" part="volume" type="range" min="0" max="1" step="0.05" value="1" aria-label="Volume">
    <button class="cc" part="button captions-button" type="button" aria-label="Captions" aria-pressed="false" hidden>CC</button>
    <div class="menuwrap">
      <button class="rate-btn" part="button rate-button" type="button" aria-label="Playback speed: 1×" aria-haspopup="menu" aria-expanded="false">1×</button>
      <ul class="rate-menu" part="menu rate-menu" role="menu" aria-label="Playback speed" hidden></ul>
    </div>
    <div class="menuwrap quality" hidden>
      <button class="quality-btn" part="button quality-button" type="button" aria-label="Quality: Auto" aria-haspopup="menu" aria-expanded="false">Auto</button>
      <ul class="quality-menu" part="menu quality-menu" role="menu" aria-label="Quality" hidden></ul>
    </div>
    <button class="fs" part="button fullscreen-button" type="button" aria-label="Fullscreen" aria-pressed="false">${ICON.fullscreen}</button>
  </div>
  <div class="error" part="error" role="alert" hidden><p part="error-message"></p></div>
</div>`;
