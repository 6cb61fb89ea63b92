import type { LoginResponse, User } from '@agent-monitor/contracts';
import { DataSource } from 'typeorm';
import { LoginThrottle } from '../src/modules/auth/login-throttle.service.js';
import { client, type Client } from './support/http.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { login } from './support/login.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, type TestApp } from './support/test-app.js';

const THROTTLE = {
  LOGIN_RATE_PER_IP: '6',
  LOGIN_RATE_PER_ACCOUNT: '3',
  LOGIN_RATE_WINDOW: '3s',
  RATE_LIMIT_ENABLED: 'false',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attempt(http: Client, email: string, password: string, xff?: string) {
  return http.post<{ message: string }>(
    '/api/v2/auth/login',
    { email, password },
    xff ? { headers: { 'x-forwarded-for': xff } } : undefined,
  );
}

describe('login throttling (real PostgreSQL over HTTP)', () => {
  describe('in-process, no proxy trusted', () => {
    let t: TestApp;
    let http: Client;
    let admin: LoginResponse;
    const mkUser = async (email: string) => {
      const r = await http.post<User>(
        '/api/v2/users',
        { email, name: email, role: 'viewer', password: 'Quiet-River-81' },
        { token: admin.accessToken },
      );
      expect(r.status).toBe(201);
    };

    beforeAll(async () => {
      t = await startTestApp({ env: THROTTLE });
      http = client(t.baseUrl);
      admin = await login(http);
      for (const u of ['acct@example.test', 'reset@example.test', 'ip1@example.test'])
        await mkUser(u);
    });
    afterAll(async () => {
      await t.close();
      await t.dropDatabase();
    });

    it('limits failed attempts per account with 429 and Retry-After, then lets the owner in', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await attempt(http, 'acct@example.test', 'Wrong-Guess-000')).status).toBe(401);
      }
      const limited = await attempt(http, 'ACCT@example.test', 'Quiet-River-81'); // even the right one
      expect(limited.status).toBe(429);
      const retry = Number(limited.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(3);
      expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      // Other accounts from the same IP are not locked out by one account's counter.
      await login(http);
      await sleep(retry * 1000 + 100);
      expect((await attempt(http, 'acct@example.test', 'Quiet-River-81')).status).toBe(200);
    });

    it('resets the account counter on success', async () => {
      for (let i = 0; i < 2; i++) await attempt(http, 'reset@example.test', 'Wrong-Guess-000');
      expect((await attempt(http, 'reset@example.test', 'Quiet-River-81')).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        expect((await attempt(http, 'reset@example.test', 'Wrong-Guess-000')).status).toBe(401);
      }
      expect((await attempt(http, 'reset@example.test', 'Wrong-Guess-000')).status).toBe(429);
    });

    it('counts parallel guesses before checking them (no burst slips past the limit)', async () => {
      await sleep(3_100); // a fresh window for the IP
      const burst = await Promise.all(
        Array.from({ length: 10 }, () => attempt(http, 'ip1@example.test', 'Wrong-Guess-000')),
      );
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    });

    it('limits failures per IP across accounts and ignores X-Forwarded-For from an untrusted peer', async () => {
      await sleep(3_100);
      for (let i = 0; i < 6; i++) {
        const r = await attempt(
          http,
          `nobody${i}@example.test`,
          'Wrong-Guess-000',
          `203.0.113.${i}`,
        );
        expect(r.status).toBe(401);
      }
      const r = await attempt(http, 'someone-else@example.test', 'Wrong-Guess-000', '198.51.100.7');
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      const rows = await t.sql<{ ip: string }>(
        `SELECT DISTINCT ip FROM audit_logs WHERE action = 'auth.login' AND outcome = 'failure'`,
      );
      expect(rows.map((x) => x.ip)).toEqual(['127.0.0.1']);
    });

    it('does not count successful logins against the IP', async () => {
      await sleep(3_100);
      for (let i = 0; i < 10; i++) {
        expect((await attempt(http, ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
      }
    });
  });

  describe('behind a trusted proxy', () => {
    let t: TestApp;
    let http: Client;
    beforeAll(async () => {
      t = await startTestApp({ env: { ...THROTTLE, TRUST_PROXY: '127.0.0.1' } });
      http = client(t.baseUrl);
    });
    afterAll(async () => {
      await t.close();
      await t.dropDatabase();
    });

    it('throttles the client address from X-Forwarded-For, one client at a time', async () => {
      for (let i = 0; i < 6; i++) {
        expect(
          (await attempt(http, `p${i}@example.test`, 'Wrong-Guess-000', '203.0.113.9')).status,
        ).toBe(401);
      }
      expect(
        (await attempt(http, 'p9@example.test', 'Wrong-Guess-000', '203.0.113.9')).status,
      ).toBe(429);
      expect(
        (await attempt(http, 'p9@example.test', 'Wrong-Guess-000', '203.0.113.10')).status,
      ).toBe(401);
      expect((await attempt(http, ADMIN_EMAIL, ADMIN_PASSWORD, '203.0.113.11')).status).toBe(200);
      const rows = await t.sql<{ ip: string }>(
        `SELECT DISTINCT ip FROM audit_logs WHERE action = 'auth.login' ORDER BY ip`,
      );
      expect(rows.map((x) => x.ip)).toEqual(['203.0.113.10', '203.0.113.11', '203.0.113.9']);
    });
  });

  describe('shared through Redis', () => {
    let redis: PrivateRedis;
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      redis = await startPrivateRedis();
      const env = { ...THROTTLE, REDIS_URL: redis.url };
      a = await startTestApp({ env });
      b = await startTestApp({ env, databaseUrl: a.databaseUrl });
      await sleep(300); // let both clients connect
    });
    afterAll(async () => {
      await b.close();
      await a.close();
      await a.dropDatabase();
      await redis.stop();
    });

    it('counts an account’s failures on every instance against one budget', async () => {
      const ha = client(a.baseUrl);
      const hb = client(b.baseUrl);
      expect((await attempt(ha, ADMIN_EMAIL, 'Wrong-Guess-000')).status).toBe(401);
      expect((await attempt(hb, ADMIN_EMAIL, 'Wrong-Guess-000')).status).toBe(401);
      expect((await attempt(ha, ADMIN_EMAIL, 'Wrong-Guess-000')).status).toBe(401);
      const r = await attempt(hb, ADMIN_EMAIL, ADMIN_PASSWORD);
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });

    it('falls back to in-process counting while Redis is down, without waiting on it', async () => {
      // A throttle of its own on a Redis of its own, so stopping that Redis disturbs nothing else.
      const own = await startPrivateRedis();
      const mk = () =>
        new LoginThrottle({ ...a.config, REDIS_URL: own.url }, a.app.get(DataSource));
      const t1 = mk();
      const t2 = mk();
      t1.onModuleInit();
      t2.onModuleInit();
      try {
        await sleep(300);
        // Shared while Redis is up: three failures on t1 and t2 together exhaust the account.
        await t1.attempt('10.0.0.1', 'x@example.test');
        await t2.attempt('10.0.0.2', 'x@example.test');
        await t1.attempt('10.0.0.3', 'x@example.test');
        await expect(t2.attempt('10.0.0.4', 'x@example.test')).rejects.toMatchObject({
          code: 'RATE_LIMITED',
        });
        await own.stop();
        await sleep(100);
        const start = Date.now();
        for (let i = 0; i < 3; i++) await t1.attempt('10.0.0.5', 'y@example.test');
        await expect(t1.attempt('10.0.0.5', 'y@example.test')).rejects.toMatchObject({
          code: 'RATE_LIMITED',
          retryAfterSec: expect.any(Number),
        });
        expect(Date.now() - start).toBeLessThan(1_000);
      } finally {
        await t1.onModuleDestroy();
        await t2.onModuleDestroy();
        await own.stop();
      }
    });
  });
});

describe('request limits', () => {
  let t: TestApp;
  let http: Client;
  let admin: LoginResponse;
  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await login(http);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('answers a JSON body over 1 MiB with 413 and writes nothing', async () => {
    const big = JSON.stringify({
      email: 'big@example.test',
      name: 'Big',
      role: 'viewer',
      password: 'Quiet-River-81',
      padding: 'x'.repeat(1024 * 1024 + 10),
    });
    for (const path of ['/api/v2/users', '/api/v2/auth/login']) {
      const r = await http.request<Record<string, unknown>>('POST', path, {
        raw: big,
        token: admin.accessToken,
        headers: { 'content-type': 'application/json' },
      });
      expect({ path, status: r.status }).toEqual({ path, status: 413 });
      expect(r.body).toEqual({
        statusCode: 413,
        error: 'Payload Too Large',
        message: expect.any(String),
      });
    }
    expect(await t.sql(`SELECT 1 FROM users WHERE email = 'big@example.test'`)).toHaveLength(0);
  });

  it('answers malformed JSON with 400 in the standard shape', async () => {
    for (const raw of ['{"email": ', '{email: 1}', '[1,', 'nul']) {
      const r = await http.request<Record<string, unknown>>('POST', '/api/v2/users', {
        raw,
        token: admin.accessToken,
        headers: { 'content-type': 'application/json' },
      });
      expect({ raw, status: r.status }).toEqual({ raw, status: 400 });
      expect(r.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.any(String),
      });
    }
  });
});
