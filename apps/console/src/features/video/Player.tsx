// <vod-player> on the video page: @vodcloud/player (hls.js) is imported here only, in this page's chunk.
import '@vodcloud/player';
import { useEffect, useRef } from 'react';

export function Player(props: {
  playbackId: string;
  token?: string;
  thumbToken?: string;
  storyboardToken?: string;
  poster?: string;
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const el = useRef<HTMLElement | null>(null);
  const { playbackId, token, thumbToken, storyboardToken, poster, label } = props;
  /** The latest label and poster, for a new element (the effects below keep the current one up to date). */
  const latest = useRef({ label, poster });
  latest.current = { label, poster };
  // One element per source: a new title or poster does not restart playback.
  useEffect(() => {
    const player = document.createElement('vod-player');
    player.setAttribute('playback-id', playbackId);
    player.setAttribute('api-base', location.origin);
    // The console's own plays are not viewers' plays.
    player.setAttribute('no-beacons', '');
    player.setAttribute('aria-label', latest.current.label);
    if (latest.current.poster) player.setAttribute('poster', latest.current.poster);
    if (token) player.setAttribute('token', token);
    if (thumbToken) player.setAttribute('thumbnail-token', thumbToken);
    if (storyboardToken) player.setAttribute('storyboard-token', storyboardToken);
    el.current = player;
    box.current?.append(player);
    return () => {
      player.remove();
      el.current = null;
    };
  }, [playbackId, token, thumbToken, storyboardToken]);
  useEffect(() => {
    el.current?.setAttribute('aria-label', label);
  }, [label]);
  useEffect(() => {
    if (poster) el.current?.setAttribute('poster', poster);
    else el.current?.removeAttribute('poster');
  }, [poster]);
  return <div ref={box} className="player-box" />;
}
