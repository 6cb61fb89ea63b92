import { spawnSync } from 'node:child_process';
import { io } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type SystemHealthResponse,
  type WatchdogResponse,
} from '@agent-monitor/contracts';
import { randomUUID } from 'node:crypto';
import { client, type Client } from './support/http.js';
import { ingest, receiver, waitFor, startKeyedApp, stopKeyedApp } from './support/alerting.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, type TestApp } from './support/test-app.js';

/** Debian's `prometheus` package ships promtool; CI installs it (.ci). */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) {
    throw new Error(
      `promtool not found (${r.error.message}): apt-get install -y prometheus provides it`,
    );
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('self-monitoring: /metrics, system health, watchdog', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin, reader } = await startKeyedApp({
      SYSTEM_HEALTH_INTERVAL: '200ms',
      // Loopback webhook receivers; quick first retry, Retry-After honoured up to a minute.
      ALLOW_PRIVATE_WEBHOOK_TARGETS: 'true',
      NOTIFY_RETRY_BASE: '100ms',
      NOTIFY_RETRY_MAX: '60s',
    }));
  });
  afterAll(() => stopKeyedApp(t));

  it('serves Prometheus text with route-pattern latency, process, event loop and pool metrics', async () => {
    await http.get('/api/v2/health');
    await http.get('/api/v2/no-such-thing/12345');
    await http.get('/api/v2/system/health', { headers: admin });
    const r = await http.get<string>('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.headers.get('content-type')).toContain('version=0.0.4');
    const text = r.body;
    expect(text).toMatch(
      /am_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/v2\/health",status_code="200"\} \d+/,
    );
    expect(text).toContain('route="/api/v2/system/health"');
    // Unmatched URLs share one label: raw paths never become label values.
    expect(text).toContain('route="unmatched",status_code="404"');
    expect(text).not.toContain('12345');
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'process_resident_memory_bytes',
      'am_db_pool_connections{state="total"}',
      'am_db_pool_connections{state="max"} 5',
      'am_ingest_values_total',
      'am_ingest_rejected_samples_total',
      'am_alert_evaluations_total',
      'am_alert_evaluation_duration_seconds_bucket',
      'am_notification_deliveries_total',
      'am_job_queue_depth',
      'am_socket_connections',
      'am_ingest_in_flight',
      'am_rate_limited_requests_total',
      'am_watchdog 1',
      'am_socket_connections 0',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('counts committed ingest (values and requests) and shows it as the ingest rate', async () => {
    const reg = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name: 'prom-agent', type: 'worker', host: 'prom-host' },
      { headers: admin },
    );
    expect(reg.status).toBe(201);
    const agent = { authorization: `Bearer ${reg.body.agentKey}` };
    const r = await http.post(
      '/api/v2/metrics/batch',
      {
        samples: [0, 1, 2].map((i) => ({
          agentId: reg.body.id,
          timestamp: Date.now() - 1000 * (i + 1),
          metrics: { cpu_usage: i, memory_usage: 2 * i },
        })),
      },
      { headers: agent },
    );
    expect(r.status).toBeLessThan(300);
    expect(
      (await http.post(`/api/v2/agents/${reg.body.id}/heartbeat`, {}, { headers: agent })).status,
    ).toBeLessThan(300);
    const text = (await http.get<string>('/metrics')).body;
    expect(text).toMatch(/am_ingest_values_total\{kind="metrics"\} 6\b/);
    expect(text).toMatch(/am_ingest_requests_total\{kind="metrics"\} 1\b/);
    expect(text).toMatch(/am_ingest_values_total\{kind="heartbeat"\} 1\b/);
    await sleep(500);
    const h = await http.get<SystemHealthResponse>('/api/v2/system/health?minutes=5', {
      headers: admin,
    });
    expect(h.body.history.some((s) => s.ingestRate > 0)).toBe(true);
  });

  it('reports live queue depth, socket connections, event loop lag and pool usage', async () => {
    const scrape = async () => (await http.get<string>('/metrics')).body;
    const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const outboxDepth = /am_job_queue_depth\{queue="notification_outbox"\} (\d+)/;

    // Queue depth is read from the outbox at scrape: rows not yet delivered count, until done.
    const before = value(await scrape(), outboxDepth);
    expect(before).toBe(0);
    expect(await scrape()).toMatch(/am_job_queue_depth\{queue="rollup"\} \d+/);
    expect(await scrape()).toContain('am_job_queue_depth_up 1');
    const [channel] = await t.sql<{ id: string }>(
      `INSERT INTO notification_channels (name, type, enabled) VALUES ('depth', 'webhook', false)
       RETURNING id`,
    );
    // Not due for a day: the delivery worker leaves them alone while we look.
    await t.sql(
      `INSERT INTO notification_outbox (dedup_key, channel_id, event, payload, next_attempt_at)
       SELECT 'depth-' || i, $1, 'firing', '{}', now() + interval '1 day'
         FROM generate_series(1, 7) AS i`,
      [channel.id],
    );
    expect(value(await scrape(), outboxDepth)).toBe(7);
    await t.sql(
      `UPDATE notification_outbox SET status = 'delivered' WHERE dedup_key LIKE 'depth-%'`,
    );
    expect(value(await scrape(), outboxDepth)).toBe(0);
    await t.sql(`DELETE FROM notification_channels WHERE id = $1`, [channel.id]);

    // Socket connections: one dashboard socket opens and closes.
    const login = await http.post<{ accessToken: string }>('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    const socket = io(t.baseUrl + DASHBOARD_NAMESPACE, {
      auth: { token: login.body.accessToken },
      transports: ['websocket'],
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    expect(value(await scrape(), /am_socket_connections (\d+)/)).toBe(1);
    socket.disconnect();
    let open = 1;
    for (let i = 0; i < 50 && open !== 0; i++) {
      await sleep(50);
      open = value(await scrape(), /am_socket_connections (\d+)/);
    }
    expect(open).toBe(0);

    // Event loop lag: the app shares this process, so blocking it here shows up at the next scrape.
    // (A scrape resets the delay histogram, whose next sample only sets its baseline: let the
    // monitor tick a few times before blocking.)
    await scrape();
    await sleep(200);
    const blockedUntil = Date.now() + 600;
    while (Date.now() < blockedUntil) {
      // busy: the event loop cannot turn
    }
    await sleep(100);
    expect(value(await scrape(), /nodejs_eventloop_lag_max_seconds ([\d.e+-]+)/)).toBeGreaterThan(
      0.5,
    );

    // Pool usage: connections in use while requests that query the database are in flight.
    let maxInUse = 0;
    for (let round = 0; round < 10 && maxInUse === 0; round++) {
      const load = Array.from({ length: 30 }, () => http.get('/api/v2/agents', { headers: admin }));
      const scrapes = Array.from({ length: 5 }, () => scrape());
      const texts = await Promise.all(scrapes);
      await Promise.all(load);
      for (const text of texts) {
        maxInUse = Math.max(
          maxInUse,
          value(text, /am_db_pool_connections\{state="in_use"\} (\d+)/),
        );
      }
    }
    expect(maxInUse).toBeGreaterThan(0);
    expect(
      value(await scrape(), /am_db_pool_connections\{state="total"\} (\d+)/),
    ).toBeLessThanOrEqual(5);
  });

  it('counts alert evaluations by outcome and observes their latency, fed by real ingest', async () => {
    const metricValue = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const before = (await http.get<string>('/metrics')).body;
    const reg = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name: 'prom-alert-agent', type: 'worker', host: 'prom-host' },
      { headers: admin },
    );
    const rule = await http.post(
      '/api/v2/alerts/rules',
      {
        name: 'prom eval',
        scope: { agentIds: [reg.body.id] },
        condition: { kind: 'threshold', metric: 'queue_len', op: '>', value: 5 },
      },
      { headers: admin },
    );
    expect(rule.status).toBe(201);
    for (const v of [9, 10, 11]) {
      const r = await http.post(
        '/api/v2/metrics/batch',
        { samples: [{ agentId: reg.body.id, metrics: { queue_len: v } }] },
        { headers: admin },
      );
      expect(r.status).toBeLessThan(300);
    }
    const r = await http.post(
      '/api/v2/metrics/batch',
      { samples: [{ agentId: reg.body.id, metrics: { queue_len: 1 } }] },
      { headers: admin },
    );
    expect(r.status).toBeLessThan(300);
    await sleep(300);
    const after = (await http.get<string>('/metrics')).body;
    const firing = 'am_alert_evaluations_total{outcome="firing"}';
    const ok = 'am_alert_evaluations_total{outcome="ok"}';
    const count = 'am_alert_evaluation_duration_seconds_count';
    expect(metricValue(after, firing) - metricValue(before, firing)).toBeGreaterThanOrEqual(3);
    expect(metricValue(after, ok) - metricValue(before, ok)).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, count) - metricValue(before, count)).toBeGreaterThanOrEqual(4);
  });

  it('counts notification deliveries by channel type and outcome, and shows the outbox depth', async () => {
    const ok = await receiver((n) => ({ status: n === 1 ? 500 : 200 }));
    const bad = await receiver(() => ({ status: 400 }));
    const slow = await receiver(() => ({ status: 429, headers: { 'Retry-After': '60' } }));
    try {
      const channelIds: string[] = [];
      for (const [name, rx] of [
        ['ok', ok],
        ['bad', bad],
        ['slow', slow],
      ] as const) {
        const ch = await http.post<{ id: string }>(
          '/api/v2/notification-channels',
          { type: 'webhook', name: `prom-${name}`, config: { url: rx.url } },
          { headers: admin },
        );
        expect(ch.status).toBe(201);
        channelIds.push(ch.body.id);
      }
      const agentId = randomUUID();
      const rule = await http.post(
        '/api/v2/alerts/rules',
        {
          name: 'prom-deliveries',
          channelIds,
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'prom_x', op: '>', value: 1 },
        },
        { headers: admin },
      );
      expect(rule.status).toBe(201);
      ingest(t, [{ agentId, values: { prom_x: 5 } }]);
      await waitFor(
        async () =>
          ok.received.length >= 2 && bad.received.length >= 1 && slow.received.length >= 1,
        'attempts at all three receivers',
      );
      const text = await waitFor(async () => {
        const r = await http.get<string>('/metrics');
        return r.body.includes('outcome="delivered"} 1') ? r.body : null;
      }, 'delivered counted');
      const count = (outcome: string) =>
        Number(
          new RegExp(
            `am_notification_deliveries_total\\{channel_type="webhook",outcome="${outcome}"\\} (\\d+)`,
          ).exec(text)?.[1] ?? -1,
        );
      // ok: 500 (retrying) then 200 (delivered); bad: 400 (failed, no retry); slow: 429 (retrying).
      expect(count('delivered')).toBe(1);
      expect(count('failed')).toBe(1);
      expect(count('retrying')).toBe(2);
      // The 429'd row waits a minute in the outbox: scheduled, not due, not sending.
      expect(text).toMatch(/am_notification_outbox_depth\{state="scheduled"\} 1\b/);
      expect(text).toMatch(/am_notification_outbox_depth\{state="due"\} 0\b/);
      expect(text).toMatch(/am_notification_outbox_depth\{state="sending"\} 0\b/);
    } finally {
      await Promise.all([ok.close(), bad.close(), slow.close()]);
    }
  });

  it('passes promtool check metrics', async () => {
    const r = await http.get<string>('/metrics');
    const check = promtoolCheck(r.body);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('promtool itself rejects malformed exposition text (the check can fail)', () => {
    const check = promtoolCheck('bad metric name{ 1\n');
    expect(check.status).not.toBe(0);
  });

  it('stores system health snapshots and reports current figures, instances and history', async () => {
    for (let i = 0; i < 20; i++) await http.get('/api/v2/health');
    await sleep(700);
    const rows = await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM system_health');
    expect(Number(rows[0].n)).toBeGreaterThanOrEqual(2);
    const r = await http.get<SystemHealthResponse>('/api/v2/system/health?minutes=5', {
      headers: admin,
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
    expect(r.body.current).toMatchObject({ dbStatus: 'up', redisStatus: 'disabled' });
    expect(r.body.current.dbLatencyMs).toEqual(expect.any(Number));
    expect(r.body.current.rssMb).toBeGreaterThan(10);
    expect(r.body.history.length).toBeGreaterThanOrEqual(2);
    expect(r.body.instances).toHaveLength(1);
    expect(r.body.intervalSec).toBeCloseTo(0.2);
    expect(r.body.history.reduce((n, s) => n + s.requests, 0)).toBeGreaterThanOrEqual(20);
    const withRequests = r.body.history.find((s) => s.requests > 0);
    expect(withRequests?.p95LatencyMs).toEqual(expect.any(Number));
    expect(withRequests?.avgLatencyMs).toEqual(expect.any(Number));
  });

  it('refuses system health to anonymous callers, read-only keys and bad queries', async () => {
    expect((await http.get('/api/v2/system/health')).status).toBe(401);
    expect((await http.get('/api/v2/system/health', { headers: reader })).status).toBe(403);
    for (const q of ['minutes=abc', 'minutes=0', 'minutes=99999999', 'extra=1']) {
      const r = await http.get<{ statusCode: number }>(`/api/v2/system/health?${q}`, {
        headers: admin,
      });
      expect(r.status).toBe(400);
    }
  });

  it('answers the watchdog as always firing for a read key, and refuses anonymous callers', async () => {
    expect((await http.get('/api/v2/system/watchdog')).status).toBe(401);
    const r = await http.get<WatchdogResponse>('/api/v2/system/watchdog', { headers: reader });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'firing', database: 'up' });
    expect(r.body.lastSnapshotAt).not.toBeNull();
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  let http: Client;
  const token = 'scrape-token-0123456789abcdef';

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: token } });
    http = client(t.baseUrl);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('requires the bearer token and accepts nothing else', async () => {
    const none = await http.get<{ statusCode: number }>('/metrics');
    expect(none.status).toBe(401);
    expect(none.body.statusCode).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await http.get('/metrics', { token: 'wrong-token-0123456789abcdef' })).status).toBe(
      401,
    );
    expect((await http.get('/metrics', { headers: { authorization: token } })).status).toBe(401);
    const ok = await http.get<string>('/metrics', { token });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('am_http_request_duration_seconds');
  });
});
