// The signed-in user: GET /v1/sessions/current once, kept in the query cache under SESSION_KEY; sign-in and
// invitation accept put the new session there, sign-out and any 401 clear it (the routes then go to sign-in).
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect } from 'react';
import { api, onUnauthorized, unwrap, VodCloudError, vc } from '../api/client';
import type { Session } from '../api/types';

export const SESSION_KEY = ['session'] as const;

async function currentSession(): Promise<Session | null> {
  try {
    const session = unwrap(await api.GET('/v1/sessions/current'));
    vc.csrfToken = session.csrfToken;
    return session;
  } catch (err) {
    // 404: a server without accounts yet answers no session either.
    if (err instanceof VodCloudError && (err.status === 401 || err.status === 404)) {
      vc.csrfToken = undefined;
      return null;
    }
    throw err;
  }
}

export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: currentSession,
    staleTime: Number.POSITIVE_INFINITY,
    retry: 1,
  });
}

/** Stores a session just made (sign-in, invitation accept). */
export function useSetSession(): (session: Session | null) => void {
  const client = useQueryClient();
  return useCallback(
    (session) => {
      vc.csrfToken = session?.csrfToken;
      if (!session) client.clear();
      client.setQueryData(SESSION_KEY, session);
    },
    [client],
  );
}

export function useSignOut(): () => Promise<void> {
  const setSession = useSetSession();
  return async () => {
    try {
      await api.DELETE('/v1/sessions/current');
    } finally {
      setSession(null);
    }
  };
}

/** Clears the session on any 401 of a request that needed it. */
export function useUnauthorizedRedirect(): void {
  const setSession = useSetSession();
  useEffect(() => onUnauthorized(() => setSession(null)), [setSession]);
}
