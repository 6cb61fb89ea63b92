import type { ErrorResponse, LoginResponse, TokenPair } from '@agent-monitor/contracts';
import { session } from './session';

/** Every non-2xx answer, in the API's `{statusCode, error, message, details}` shape. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly error: string = '',
    readonly details?: unknown,
    /** From `Retry-After` on 429/503, in seconds. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }

  /** Field errors from a 400, `{ field: message }`, when the API named fields. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    const d = this.details as unknown;
    const list = Array.isArray(d)
      ? d
      : d && typeof d === 'object' && Array.isArray((d as { issues?: unknown }).issues)
        ? (d as { issues: unknown[] }).issues
        : [];
    for (const item of list) {
      if (!item || typeof item !== 'object') continue;
      const { path, field, message } = item as {
        path?: unknown;
        field?: unknown;
        message?: unknown;
      };
      const key = typeof field === 'string' ? field : Array.isArray(path) ? path.join('.') : '';
      if (key && typeof message === 'string' && !(key in out)) {
        // The API prefixes messages with the field ("email: must be …"); the form names it already.
        out[key] = message.startsWith(`${key}: `) ? message.slice(key.length + 2) : message;
      }
    }
    return out;
  }
}

/** Network failure (server down, offline): no HTTP answer at all. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** A human sentence for any error thrown by the client (or anything else). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.statusCode === 429 && err.retryAfterSec !== undefined) {
      return `${err.message.replace(/\.?$/, '.')} Try again in ${err.retryAfterSec} s.`;
    }
    return err.message;
  }
  if (err instanceof NetworkError) return 'Cannot reach the server. Check your connection.';
  if (err instanceof Error) return err.message;
  return String(err);
}

export const API_BASE = '/api/v2';

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Record<string, QueryValue | QueryValue[]>;
  signal?: AbortSignal;
  /** false: send no token and never try a refresh (login, refresh itself). */
  auth?: boolean;
  headers?: Record<string, string>;
}

type ExpiredHandler = () => void;
let onSessionExpired: ExpiredHandler = () => {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
};

/** The auth provider routes to /login itself (keeping the intended path) instead of reloading. */
export function setSessionExpiredHandler(h: ExpiredHandler): void {
  onSessionExpired = h;
}

/** Forget the tokens and send the user to log in again (keeping where they were). */
export function endSession(): void {
  session.clear();
  onSessionExpired();
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== undefined && item !== null && item !== '') qs.append(k, String(item));
    }
  }
  const s = qs.toString();
  return `${API_BASE}${path}${s ? `?${s}` : ''}`;
}

async function send(path: string, opts: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new NetworkError(err instanceof Error ? err.message : 'network error');
  }
}

async function toError(res: Response): Promise<ApiError> {
  let body: Partial<ErrorResponse> = {};
  try {
    body = (await res.json()) as Partial<ErrorResponse>;
  } catch {
    /* not JSON (a proxy's HTML page): fall back to the status text */
  }
  const retry = res.headers.get('Retry-After');
  const retryAfterSec = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  return new ApiError(
    body.statusCode ?? res.status,
    body.message ?? (res.statusText || `Request failed (${res.status})`),
    body.error ?? res.statusText,
    body.details,
    retryAfterSec,
  );
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

let refreshing: Promise<boolean> | null = null;

/**
 * Trade the refresh token for a new pair. Single-flight: concurrent callers share one request
 * (the server rotates the token and treats a second use as theft). Across tabs a Web Lock
 * serialises refreshes and each reads the latest stored token, so two tabs never replay one.
 * Resolves false when the session is gone (the tokens are then cleared).
 */
export function refreshSession(): Promise<boolean> {
  refreshing ??= withRefreshLock(doRefresh).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function withRefreshLock(fn: () => Promise<boolean>): Promise<boolean> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return fn();
  return locks.request('am-token-refresh', fn);
}

async function doRefresh(): Promise<boolean> {
  // Read inside the lock: if another tab rotated the pair meanwhile, this is its new token.
  const refreshToken = session.getRefreshToken();
  if (!refreshToken) return false;
  // A network failure throws (offline is not a logout); only a refusal ends the session.
  const res = await send('/auth/refresh', { method: 'POST', body: { refreshToken } }, null);
  if (!res.ok) {
    if (res.status === 401 || res.status === 400 || res.status === 403) {
      // Drop the session only if nobody replaced it meanwhile (a login in another tab).
      if (session.getRefreshToken() === refreshToken) session.clear();
      return false;
    }
    throw await toError(res);
  }
  const pair = await parse<TokenPair>(res);
  session.setTokens(pair.accessToken, pair.refreshToken);
  return true;
}

/**
 * The one way the dashboard talks to the API. JSON in and out; a non-2xx throws ApiError.
 * A 401 on an authenticated call refreshes the session once (shared with concurrent calls) and
 * retries; if that fails the session is cleared and the user sent to /login.
 */
export async function apiRequest<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const auth = opts.auth ?? true;
  if (!auth) {
    const res = await send(path, opts, null);
    if (!res.ok) throw await toError(res);
    return parse<T>(res);
  }

  let token = session.getAccessToken();
  if (!token && session.getRefreshToken()) {
    // A reload keeps only the refresh token: get an access token before the first call.
    if (await refreshSession()) token = session.getAccessToken();
  }
  let res = await send(path, opts, token);
  if (res.status === 401) {
    const sentWith = token;
    // If another request already refreshed while this one was in flight, just retry.
    const current = session.getAccessToken();
    const ok = current && current !== sentWith ? true : await refreshSession();
    if (ok) res = await send(path, opts, session.getAccessToken());
    if (!ok || res.status === 401) {
      const err = await toError(res);
      endSession();
      throw err;
    }
  }
  if (!res.ok) throw await toError(res);
  return parse<T>(res);
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal) =>
    apiRequest<T>(path, { method: 'GET', query, signal }),
  post: <T>(path: string, body?: unknown) =>
    apiRequest<T>(path, { method: 'POST', body: body ?? {} }),
  put: <T>(path: string, body: unknown) => apiRequest<T>(path, { method: 'PUT', body }),
  patch: <T>(path: string, body: unknown) => apiRequest<T>(path, { method: 'PATCH', body }),
  delete: <T = void>(path: string) => apiRequest<T>(path, { method: 'DELETE' }),
};

/** Login is the one call that neither sends nor refreshes a token. */
export async function login(email: string, password: string): Promise<LoginResponse> {
  const res = await apiRequest<LoginResponse>('/auth/login', {
    method: 'POST',
    body: { email, password },
    auth: false,
  });
  session.setTokens(res.accessToken, res.refreshToken);
  return res;
}

/** Revoke the session server-side (best effort) and forget the tokens. */
export async function logout(): Promise<void> {
  const refreshToken = session.getRefreshToken();
  const token = session.getAccessToken();
  session.clear();
  if (!refreshToken && !token) return;
  try {
    await fetch(buildUrl('/auth/logout'), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(refreshToken ? { refreshToken } : {}),
    });
  } catch {
    /* offline: the tokens are gone locally; the refresh token expires on its own */
  }
}
