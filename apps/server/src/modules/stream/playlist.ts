/** Appends `name=value` to a URI, before any fragment. */
export function withQuery(uri: string, name: string, value: string): string {
  const hash = uri.indexOf('#');
  const base = hash < 0 ? uri : uri.slice(0, hash);
  const frag = hash < 0 ? '' : uri.slice(hash);
  return `${base}${base.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}${frag}`;
}

/**
 * Carries a playback token into every URI an HLS playlist names: URI lines (child playlists, segments)
 * and `URI="…"` attributes of tags (EXT-X-KEY, EXT-X-MEDIA, EXT-X-MAP, EXT-X-I-FRAME-STREAM-INF, …).
 */
export function addTokenToPlaylist(text: string, token: string): string {
  return text
    .split('\n')
    .map((line) => {
      const bare = line.replace(/\r$/, '');
      if (bare.trim() === '') return line;
      if (bare.startsWith('#'))
        return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${withQuery(uri, 'token', token)}"`);
      return line.replace(bare, withQuery(bare.trim(), 'token', token));
    })
    .join('\n');
}
