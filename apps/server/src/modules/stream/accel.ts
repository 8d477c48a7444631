import type { IncomingHttpHeaders } from 'node:http';

/**
 * nginx in front of the stream role (deploy/nginx/vodcloud.conf, `VOD_STREAM_ACCEL=nginx`) asks before it
 * sends a segment, MP4 or sprite itself: the same request with `X-Vod-Accel: 1` (auth_request). Once the
 * request is authorised here the answer is an empty 200 naming the object (`X-Vod-Key`) with the type and
 * caching the bytes are sent with, and nginx sends them from the file store; its delivery log then counts
 * them (delivery-log.ts), not this process. A refusal is answered as always.
 *
 * A request without the header (reaching the node directly, or passed on by nginx after a refusal) is
 * served here as always. One that forged it gets only the key of an object it was authorised to get.
 */
export const ACCEL_HEADER = 'x-vod-accel';

/**
 * How long the front may reuse an authorisation for the same URL, token and Referer (X-Accel-Expires,
 * seconds): as long as this node trusts a verified token without verifying it again (playback/gate.ts).
 */
export const ACCEL_EXPIRES = '1';

/** Whether nginx will send the bytes: accel is on and the request is the front's authorisation request. */
export const viaFront = (enabled: boolean, headers: IncomingHttpHeaders) =>
  enabled && headers[ACCEL_HEADER] === '1';

/** The headers of an authorisation: nginx sends `key`'s bytes with this type and caching. */
export const accelHeaders = (key: string, contentType: string, cacheControl: string) => ({
  'x-vod-key': key,
  'x-accel-expires': ACCEL_EXPIRES,
  'content-type': contentType,
  'cache-control': cacheControl,
});
