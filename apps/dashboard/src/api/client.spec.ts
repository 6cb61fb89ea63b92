import { jest, test, expect, beforeEach, afterEach } from '@jest/globals';
import {
  ApiError,
  api,
  endSession,
  errorMessage,
  login,
  refreshSession,
  setSessionExpiredHandler,
} from './client';
import { REFRESH_TOKEN_STORAGE_KEY, session } from './session';

interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
}

function reply(status: number, body?: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: `status ${status}`,
    headers: { get: (k: string) => headers[k] ?? headers[k.toLowerCase()] ?? null },
    json: async () => JSON.parse(text),
    text: async () => text,
  };
}

/**
 * A tiny fake of the API's token rules: access tokens `A<n>`, refresh tokens `R<n>`; only the
 * newest of each is valid and a refresh token works once (as the server rotates them).
 */
function fakeServer() {
  const calls: Call[] = [];
  let gen = 1;
  let validAccess = 'A1';
  let validRefresh: string | null = 'R1';
  const server = {
    calls,
    refreshWorks: true,
    /** Delay refresh answers so concurrent requests overlap. */
    refreshDelayMs: 20,
    expireAccess() {
      validAccess = 'expired';
    },
    fetch: async (url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      const call: Call = {
        url,
        method: init.method ?? 'GET',
        auth: headers.Authorization ?? null,
        body: init.body ? JSON.parse(init.body as string) : undefined,
      };
      calls.push(call);
      if (url.endsWith('/auth/refresh')) {
        await new Promise((r) => setTimeout(r, server.refreshDelayMs));
        const { refreshToken } = call.body as { refreshToken: string };
        if (!server.refreshWorks || refreshToken !== validRefresh) {
          validRefresh = null; // reuse revokes the family
          return reply(401, { statusCode: 401, error: 'Unauthorized', message: 'Session expired' });
        }
        gen += 1;
        validAccess = `A${gen}`;
        validRefresh = `R${gen}`;
        return reply(200, { accessToken: validAccess, refreshToken: validRefresh, expiresIn: 900 });
      }
      if (url.endsWith('/auth/login')) {
        return reply(200, {
          accessToken: validAccess,
          refreshToken: validRefresh,
          expiresIn: 900,
          user: { id: 'u1', email: 'a@b.c', role: 'admin' },
        });
      }
      if (call.auth !== `Bearer ${validAccess}`) {
        return reply(401, { statusCode: 401, error: 'Unauthorized', message: 'Token expired' });
      }
      if (url.includes('/boom')) {
        return reply(400, {
          statusCode: 400,
          error: 'Bad Request',
          message: 'name: must not be empty',
          details: [{ path: ['name'], message: 'must not be empty' }],
        });
      }
      if (url.includes('/slow-down')) {
        return reply(
          429,
          { statusCode: 429, error: 'Too Many Requests', message: 'Too many login attempts' },
          { 'Retry-After': '17' },
        );
      }
      return reply(200, { ok: true, url });
    },
  };
  return server;
}

let server: ReturnType<typeof fakeServer>;
let expired: ReturnType<typeof jest.fn>;

beforeEach(() => {
  server = fakeServer();
  (globalThis as { fetch: unknown }).fetch = jest.fn(server.fetch);
  localStorage.clear();
  session.setTokens('A1', 'R1');
  expired = jest.fn();
  setSessionExpiredHandler(expired);
});

afterEach(() => {
  session.clear();
});

const refreshCalls = () => server.calls.filter((c) => c.url.endsWith('/auth/refresh'));

test('sends the access token and parses JSON', async () => {
  await expect(api.get('/things', { q: 'x', empty: '', none: undefined })).resolves.toEqual({
    ok: true,
    url: '/api/v2/things?q=x',
  });
  expect(server.calls[0]!.auth).toBe('Bearer A1');
});

test('concurrent 401s share ONE refresh, then each request is retried once with the new token', async () => {
  server.expireAccess();
  const results = await Promise.all([api.get('/a'), api.get('/b'), api.get('/c'), api.post('/d')]);
  expect(results).toHaveLength(4);
  expect(refreshCalls()).toHaveLength(1);
  expect(refreshCalls()[0]!.body).toEqual({ refreshToken: 'R1' });
  expect(session.getAccessToken()).toBe('A2');
  expect(localStorage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe('R2');
  const retried = server.calls.filter(
    (c) => !c.url.endsWith('/auth/refresh') && c.auth === 'Bearer A2',
  );
  expect(retried.map((c) => c.url).sort()).toEqual([
    '/api/v2/a',
    '/api/v2/b',
    '/api/v2/c',
    '/api/v2/d',
  ]);
  expect(expired).not.toHaveBeenCalled();
});

test('a 401 after a failed refresh clears the session and calls the expired handler', async () => {
  server.expireAccess();
  server.refreshWorks = false;
  const err = await api.get('/a').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).statusCode).toBe(401);
  expect(refreshCalls()).toHaveLength(1);
  expect(session.getAccessToken()).toBeNull();
  expect(session.getRefreshToken()).toBeNull();
  expect(expired).toHaveBeenCalledTimes(1);
});

test('after a reload (refresh token only) the first call refreshes before sending', async () => {
  session.clear();
  localStorage.setItem(REFRESH_TOKEN_STORAGE_KEY, 'R1');
  await api.get('/a');
  expect(server.calls.map((c) => c.url)).toEqual(['/api/v2/auth/refresh', '/api/v2/a']);
  expect(server.calls[1]!.auth).toBe('Bearer A2');
});

test('refreshSession is single-flight and a second, later refresh uses the rotated token', async () => {
  const [a, b] = await Promise.all([refreshSession(), refreshSession()]);
  expect([a, b]).toEqual([true, true]);
  expect(refreshCalls()).toHaveLength(1);
  await expect(refreshSession()).resolves.toBe(true);
  expect(refreshCalls().map((c) => c.body)).toEqual([
    { refreshToken: 'R1' },
    { refreshToken: 'R2' },
  ]);
});

test('API errors keep statusCode, message and details; field errors are indexed by path', async () => {
  const err = (await api.post('/boom', {}).catch((e: unknown) => e)) as ApiError;
  expect(err).toBeInstanceOf(ApiError);
  expect(err.statusCode).toBe(400);
  expect(err.message).toBe('name: must not be empty');
  expect(err.error).toBe('Bad Request');
  expect(err.fieldErrors).toEqual({ name: 'must not be empty' });
  expect(expired).not.toHaveBeenCalled();
});

test('429 carries Retry-After and the message tells when to try again', async () => {
  const err = (await api.get('/slow-down').catch((e: unknown) => e)) as ApiError;
  expect(err.statusCode).toBe(429);
  expect(err.retryAfterSec).toBe(17);
  expect(errorMessage(err)).toBe('Too many login attempts. Try again in 17 s.');
});

test('login stores the pair without sending a token; endSession forgets it', async () => {
  session.clear();
  const res = await login('a@b.c', 'secret-password');
  expect(res.user.email).toBe('a@b.c');
  expect(server.calls[0]!.auth).toBeNull();
  expect(session.getRefreshToken()).toBe('R1');
  endSession();
  expect(session.getAccessToken()).toBeNull();
  expect(localStorage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBeNull();
  expect(expired).toHaveBeenCalledTimes(1);
});

test('a network failure is a NetworkError, not a logout', async () => {
  (globalThis as { fetch: unknown }).fetch = jest.fn(async () => {
    throw new TypeError('Failed to fetch');
  });
  const err = await api.get('/a').catch((e: unknown) => e);
  expect((err as Error).name).toBe('NetworkError');
  expect(errorMessage(err)).toMatch(/Cannot reach the server/);
  expect(session.getRefreshToken()).toBe('R1');
  expect(expired).not.toHaveBeenCalled();
});
