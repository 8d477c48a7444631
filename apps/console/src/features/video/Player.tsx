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
  const { playbackId, token, thumbToken, storyboardToken, poster, label } = props;
  useEffect(() => {
    const el = document.createElement('vod-player');
    el.setAttribute('playback-id', playbackId);
    el.setAttribute('api-base', location.origin);
    el.setAttribute('aria-label', label);
    // The console's own plays are not viewers' plays.
    el.setAttribute('no-beacons', '');
    if (token) el.setAttribute('token', token);
    if (thumbToken) el.setAttribute('thumb-token', thumbToken);
    if (storyboardToken) el.setAttribute('storyboard-token', storyboardToken);
    if (poster) el.setAttribute('poster', poster);
    box.current?.append(el);
    return () => el.remove();
  }, [playbackId, token, thumbToken, storyboardToken, poster, label]);
  return <div ref={box} className="player-box" />;
}
