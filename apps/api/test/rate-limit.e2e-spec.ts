import { randomBytes } from 'node:crypto';
import type { SystemHealthResponse } from '@agent-monitor/contracts';
import { client } from './support/http.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { insertKey } from './support/root-key.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fakeKey = () => ({ 'x-api-key': 'am_' + randomBytes(20).toString('hex') });

const LIMITS = {
  RATE_LIMIT_WINDOW: '2s',
  RATE_LIMIT_API_PER_KEY: '3',
  RATE_LIMIT_API_PER_IP: '5',
  RATE_LIMIT_INGEST_PER_KEY: '4',
  RATE_LIMIT_INGEST_PER_IP: '50',
};

async function untilState(t: TestApp, headers: Record<string, string>, want: string) {
  for (let i = 0; i < 60; i++) {
    const r = await client(t.baseUrl).get<SystemHealthResponse>('/api/v2/system/health', {
      headers,
    });
    if (r.status === 200 && r.body.current.redisStatus === want) return;
    await sleep(100);
  }
  throw new Error(`redis status never became ${want}`);
}

describe('rate limits (in-process store)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: LIMITS });
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('enforces the per-key then the per-IP api budget with 429, Retry-After and the error shape', async () => {
    const http = client(t.baseUrl);
    const a = fakeKey();
    for (let i = 0; i < 3; i++) {
      const r = await http.get('/api/v2/system/watchdog', { headers: a });
      expect(r.status).toBe(401); // counted before authentication: a made-up key still spends
      expect(r.headers.get('ratelimit-limit')).toBe('3');
    }
    const limited = await http.get<Record<string, unknown>>('/api/v2/system/watchdog', {
      headers: a,
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    expect(limited.body).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      details: { budget: 'api', scope: 'credential', limit: 3 },
    });
    // Another key from the same IP: the IP budget (5) has one request left.
    expect((await http.get('/api/v2/system/watchdog', { headers: fakeKey() })).status).toBe(401);
    const byIp = await http.get<{ details: { scope: string } }>('/api/v2/system/watchdog', {
      headers: fakeKey(),
    });
    expect(byIp.status).toBe(429);
    expect(byIp.body.details.scope).toBe('ip');
    // Liveness/readiness and /metrics are never limited.
    expect((await http.get('/api/v2/health')).status).toBe(200);
    expect((await http.get('/api/v2/health/ready')).status).toBe(200);
    const metrics = await http.get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/am_rate_limited_requests_total\{budget="api",scope="ip"\} 1/);
    expect(metrics.body).toMatch(
      /am_rate_limited_requests_total\{budget="api",scope="credential"\} 1/,
    );
    // The window passes: the budget is back.
    await sleep(Number(limited.headers.get('retry-after')) * 1000 + 100);
    expect((await http.get('/api/v2/system/watchdog', { headers: a })).status).toBe(401);
  });

  it('keeps a separate ingest budget that the api budget does not spend', async () => {
    await sleep(2100);
    const http = client(t.baseUrl);
    for (let i = 0; i < 6; i++) await http.get('/api/v2/system/watchdog', { headers: fakeKey() });
    expect((await http.get('/api/v2/system/watchdog')).status).toBe(429);
    const agentKey = fakeKey();
    const path = '/api/v2/agents/00000000-0000-4000-8000-000000000001/heartbeat';
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await http.post(path, {}, { headers: agentKey })).status);
    }
    // 4 per key: the first four reach the route (refused there: unknown key), the fifth is limited.
    expect(statuses.slice(0, 4)).not.toContain(429);
    expect(statuses[4]).toBe(429);
  });
});

describe('rate limits shared through Redis, with fallback and reconnect', () => {
  let redis: PrivateRedis;
  let a: TestApp;
  let b: TestApp;
  let admin: Record<string, string>;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    a = await startTestApp({ env: { ...LIMITS, REDIS_URL: redis.url } });
    b = await startTestApp({
      databaseUrl: a.databaseUrl,
      env: { ...LIMITS, REDIS_URL: redis.url },
    });
    admin = (await insertKey(a, ['admin'], 'Z')).headers;
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await a.dropDatabase();
    await redis.stop();
  });

  it('counts one budget across two instances', async () => {
    await sleep(2100);
    const key = fakeKey();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const t = i % 2 ? b : a;
      statuses.push(
        (await client(t.baseUrl).get('/api/v2/system/watchdog', { headers: key })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('keeps serving with in-process limits while Redis is down, and reconnects by itself', async () => {
    await sleep(2100);
    await redis.stop();
    await untilState(a, admin, 'down');
    const key = fakeKey();
    // Each instance now counts alone: 3 per key on each.
    const onA = [];
    const onB = [];
    for (let i = 0; i < 3; i++) {
      onA.push((await client(a.baseUrl).get('/api/v2/system/watchdog', { headers: key })).status);
      onB.push((await client(b.baseUrl).get('/api/v2/system/watchdog', { headers: key })).status);
    }
    expect(onA).toEqual([401, 401, 401]);
    expect(onB).toEqual([401, 401, 401]);
    const ok = await client(a.baseUrl).get<SystemHealthResponse>('/api/v2/system/health', {
      headers: admin,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('degraded');

    await redis.start();
    await untilState(a, admin, 'up');
    await untilState(b, admin, 'up');
    await sleep(2100);
    const again = fakeKey();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const t = i % 2 ? b : a;
      statuses.push(
        (await client(t.baseUrl).get('/api/v2/system/watchdog', { headers: again })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
