import { describe, expect, it } from 'vitest';
import { FetchError } from './fetch-errors';
import { parseAttributes, parsePlaylist, pickVariant } from './hls-playlist';

const BASE = new URL('http://cdn.test/live/stream/index.m3u8');

function refusal(text: string): FetchError {
  try {
    parsePlaylist(text, BASE);
  } catch (err) {
    expect(err).toBeInstanceOf(FetchError);
    return err as FetchError;
  }
  throw new Error('expected the playlist to be refused');
}

describe('parsePlaylist', () => {
  it('numbers segments from EXT-X-MEDIA-SEQUENCE and resolves them against the playlist URL', () => {
    const list = parsePlaylist(
      '#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MEDIA-SEQUENCE:41\r\n#EXTINF:3.96,title\r\n41.ts\r\n' +
        '#EXT-X-DISCONTINUITY\r\n#EXTINF:4,\r\n../other/42.ts?x=1\r\n',
      BASE,
    );
    expect(list).toMatchObject({ kind: 'media', targetDuration: 4, mediaSequence: 41, endList: false });
    if (list.kind !== 'media') throw new Error('not media');
    expect(list.segments.map((s) => [s.seq, s.url.href, s.duration, s.discontinuity])).toEqual([
      [41, 'http://cdn.test/live/stream/41.ts', 3.96, false],
      [42, 'http://cdn.test/live/other/42.ts?x=1', 4, true],
    ]);
  });

  it('reads quoted attribute values with commas, and picks the highest bandwidth', () => {
    expect(parseAttributes('BANDWIDTH=10,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720')).toEqual(
      new Map([
        ['BANDWIDTH', '10'],
        ['CODECS', 'avc1.4d401f,mp4a.40.2'],
        ['RESOLUTION', '1280x720'],
      ]),
    );
    const master = parsePlaylist(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300,CODECS="a,b"\nlow.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=900\nhigh.m3u8\n',
      BASE,
    );
    if (master.kind !== 'master') throw new Error('not master');
    expect(pickVariant(master.variants).url.href).toBe('http://cdn.test/live/stream/high.m3u8');
  });

  it('marks a variant whose audio is a separate rendition', () => {
    const master = parsePlaylist(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="a.m3u8"\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=900,AUDIO="aud"\nv.m3u8\n',
      BASE,
    );
    expect(master.kind === 'master' && master.variants[0]!.separateAudio).toBe(true);
  });

  it('refuses what it cannot import, with unsupported_playlist', () => {
    const head = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n';
    for (const [text, why] of [
      [`${head}#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"\n#EXTINF:2,\na.ts\n`, /SAMPLE-AES/],
      [`${head}#EXT-X-BYTERANGE:100@0\n#EXTINF:2,\na.ts\n`, /byte ranges/],
      [
        `${head}#EXT-X-MAP:URI="i1.mp4"\n#EXTINF:2,\na.m4s\n#EXT-X-MAP:URI="i2.mp4"\n#EXTINF:2,\nb.m4s\n`,
        /init/,
      ],
      ['#EXTM3U\n#EXTINF:2,\na.ts\n', /TARGETDURATION/],
      [`${head}#EXTINF:two,\na.ts\n`, /EXTINF/],
      [`${head}a.ts\n`, /without #EXTINF/],
    ] as const) {
      const err = refusal(text);
      expect(err.code).toBe('unsupported_playlist');
      expect(err.message).toMatch(why);
    }
    expect(parsePlaylist(`${head}#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\na.ts\n`, BASE).kind).toBe('media');
  });

  it('refuses a text without #EXTM3U (not_media) and an entry that is not http(s) (bad_url)', () => {
    expect(refusal('<html>').code).toBe('not_media');
    expect(refusal('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n').code).toBe(
      'bad_url',
    );
  });
});
