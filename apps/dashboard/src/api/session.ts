/**
 * Where the tokens live: the access token only in memory (never persisted, so an XSS-free page
 * reload costs one refresh), the refresh token in localStorage so a reload or a new tab stays
 * logged in. Listeners hear every change (the socket reconnects, other tabs log out).
 */
export const REFRESH_TOKEN_STORAGE_KEY = 'am-refresh-token';

type Listener = () => void;

let accessToken: string | null = null;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage disabled (privacy mode): the session lasts as long as the tab
  }
}

let memoryRefreshToken: string | null = null;

export const session = {
  getAccessToken(): string | null {
    return accessToken;
  },
  getRefreshToken(): string | null {
    const s = storage();
    return s ? s.getItem(REFRESH_TOKEN_STORAGE_KEY) : memoryRefreshToken;
  },
  setTokens(access: string, refresh: string): void {
    accessToken = access;
    const s = storage();
    if (s) s.setItem(REFRESH_TOKEN_STORAGE_KEY, refresh);
    else memoryRefreshToken = refresh;
    emit();
  },
  clear(): void {
    const had = accessToken !== null || session.getRefreshToken() !== null;
    accessToken = null;
    memoryRefreshToken = null;
    storage()?.removeItem(REFRESH_TOKEN_STORAGE_KEY);
    if (had) emit();
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

function emit(): void {
  for (const l of [...listeners]) l();
}
