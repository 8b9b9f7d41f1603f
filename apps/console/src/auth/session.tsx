import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiClient, ApiError } from '../api/api-client';

/** Where the key lives: this tab's session only, gone when the browser session ends. */
const STORAGE_KEY = 'trellis.apiKey';

interface Session {
  api: ApiClient | null;
  /** Why the browser was signed out, when it was not the user's doing. */
  notice: string | null;
  signIn(key: string): Promise<void>;
  signOut(notice?: string): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState<string | null>(() => sessionStorage.getItem(STORAGE_KEY));
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback(
    (why?: string) => {
      sessionStorage.removeItem(STORAGE_KEY);
      queryClient.clear();
      setKey(null);
      setNotice(why ?? null);
    },
    [queryClient],
  );

  const api = useMemo(() => (key ? new ApiClient(key, () => signOut('The gateway no longer accepts this API key. Sign in again.')) : null), [key, signOut]);

  const signIn = useCallback(async (candidate: string) => {
    const trimmed = candidate.trim();
    if (!trimmed) throw new SignInError('Enter an API key.');
    try {
      // Any authenticated read tells a valid key from a wrong one; this one is the cheapest.
      await new ApiClient(trimmed).get('/v1/runs?limit=1');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw new SignInError('That API key is not valid.');
      if (err instanceof ApiError) throw new SignInError(`The gateway answered ${err.status}: ${err.message}`);
      throw new SignInError('The gateway could not be reached.');
    }
    sessionStorage.setItem(STORAGE_KEY, trimmed);
    setNotice(null);
    setKey(trimmed);
  }, []);

  const value = useMemo<Session>(() => ({ api, notice, signIn, signOut }), [api, notice, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export class SignInError extends Error {}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in client; the pages that use it render only when signed in. */
export function useApi(): ApiClient {
  const { api } = useSession();
  if (!api) throw new Error('useApi while signed out');
  return api;
}
