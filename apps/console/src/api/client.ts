// The console's one way to the API: @vodcloud/sdk's typed client, authenticated by the session cookie
// (same origin) and the session's CSRF token on writes. Any 401 sends the user back to sign-in.
import { VodCloud } from '@vodcloud/sdk';

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Paths whose 401 is an answer, not a lost session (a wrong password, no session yet). */
const SESSION_PATHS = /\/v1\/(sessions(\/current)?|invitations\/[^/]+(\/accept)?)$/;

export const vc = new VodCloud({
  baseUrl: typeof location === 'undefined' ? 'http://localhost' : location.origin,
  credentials: 'same-origin',
  // A lockout's Retry-After (minutes) is shown at once; short waits of a loaded server are retried.
  maxRetryDelayMs: 5_000,
  fetch: async (request) => {
    const response = await globalThis.fetch(request);
    if (response.status === 401 && !SESSION_PATHS.test(new URL(request.url).pathname))
      for (const listener of unauthorizedListeners) listener();
    return response;
  },
});

/** The typed client of every API path (types generated from /openapi.json). */
export const api = vc.api;

/** Called on any 401 of a request that needed the session; returns the unsubscribe. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export { unwrap, VodCloudError } from '@vodcloud/sdk';
