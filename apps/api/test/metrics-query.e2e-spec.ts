import type {
  AgentSeriesList,
  AggregateResult,
  AgentsSummary,
  DashboardMetrics,
  DashboardOverview,
  HistoricalSeries,
  RegisterAgentResponse,
} from '@agent-monitor/contracts';
import { RollupService } from '../src/modules/metrics/rollup.service.js';
import { createApiKey, createUser, type TestUser } from './agents-fixtures.js';
import { registerAgents } from './metrics-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('metrics queries (history, aggregates, series, dashboard)', () => {
  let t: TestApp;
  let http: Client;
  let agents: Map<string, RegisterAgentResponse>;
  let web: RegisterAgentResponse;
  let viewer: TestUser;
  let readKey: string;
  let writeKey: string;
  const now = Date.now();
  const base = Math.floor((now - 2 * HOUR) / HOUR) * HOUR;

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms' } });
    http = client(t.baseUrl);
    agents = await registerAgents(t, http, [
      { name: 'q-web', type: 'web_server', environment: 'prod', tags: { team: 'a' } },
      { name: 'q-llm', type: 'llm_agent', environment: 'prod', tags: { team: 'b' } },
      { name: 'q-dev', type: 'web_server', environment: 'dev', tags: { team: 'a' } },
    ]);
    web = agents.get('q-web')!;
    viewer = await createUser(t, 'viewer');
    readKey = await createApiKey(t, ['read'], 'rd');
    writeKey = await createApiKey(t, ['metrics:write'], 'mw');
    // 2 hours, one sample per 10 s, cpu = minute index % 10 for q-web; constant per other agent.
    const samples = [];
    for (let i = 0; i < 720; i++) {
      const ts = base + i * 10_000;
      const minute = Math.floor(i / 6);
      samples.push({
        agentId: web.id,
        timestamp: ts,
        metrics: { cpu_usage: minute % 10, memory_usage: 50 },
      });
      samples.push({ agentId: agents.get('q-llm')!.id, timestamp: ts, metrics: { cpu_usage: 80 } });
      samples.push({ agentId: agents.get('q-dev')!.id, timestamp: ts, metrics: { cpu_usage: 20 } });
    }
    const r = await http.post(
      '/api/v2/metrics/batch',
      { samples },
      { headers: { authorization: `Bearer ${writeKey}` } },
    );
    expect(r.status).toBe(200);
    await t.app.get(RollupService).runOnce();
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const hist = (q: string, token = viewer.token) =>
    http.get<HistoricalSeries>(`/api/v2/metrics/historical/${web.id}?${q}`, { token });

  it('raw history at an explicit step returns the stored values', async () => {
    const r = await hist(`metric=cpu_usage&from=${base}&to=${base + 5 * MIN}&step=1m&agg=avg`);
    expect(r.status).toBe(200);
    expect(r.body.resolution).toBe('1m');
    expect(r.body.points).toEqual([0, 1, 2, 3, 4].map((v, i) => ({ t: base + i * MIN, v })));
    const raw = await hist(`metric=cpu_usage&from=${base}&to=${base + MIN}&step=10s&agg=max`);
    expect(raw.body.resolution).toBe('raw');
    expect(raw.body.points).toHaveLength(6);
    expect(raw.body.unit).toBe('%');
  });

  it.each([
    ['avg', 4.5],
    ['min', 0],
    ['max', 9],
    ['sum', 4.5 * 60],
    ['count', 60],
    ['last', 9],
  ])('agg=%s over 10 minutes from the rollups', async (agg, expected) => {
    const r = await hist(`metric=cpu_usage&from=${base}&to=${base + 10 * MIN}&step=10m&agg=${agg}`);
    expect(r.status).toBe(200);
    expect(r.body.points).toEqual([{ t: base, v: expected }]);
  });

  it('step=auto keeps at most ~1,000 points and picks raw or the coarsest fitting rollup', async () => {
    const cases: Array<[number, string, number]> = [
      [15 * MIN, 'raw', 1],
      [HOUR, 'raw', 5],
      [24 * HOUR, '1m', 120],
      [7 * DAY, '1m', 900],
      [30 * DAY, '1h', 3600],
      [400 * DAY, '1d', 86400],
    ];
    for (const [span, resolution, stepSec] of cases) {
      const r = await hist(`metric=cpu_usage&from=${now - span}&to=${now}&step=auto`);
      expect(r.status).toBe(200);
      expect([span, r.body.resolution, r.body.stepSec]).toEqual([span, resolution, stepSec]);
      expect(r.body.points.length).toBeLessThanOrEqual(1000);
    }
    // 24 h at auto: 2 hours of data in 2-minute buckets.
    const day = await hist(`metric=cpu_usage&from=${now - DAY}&to=${now}`);
    expect(day.body.points.length).toBeGreaterThanOrEqual(59);
    expect(day.body.points.length).toBeLessThanOrEqual(61);
  });

  it('a range older than the raw retention is answered from a rollup', async () => {
    const r = await hist(`metric=cpu_usage&from=${now - 40 * DAY}&to=${now - 39 * DAY}&step=10s`);
    expect(r.status).toBe(200);
    expect(r.body.resolution).toBe('1m');
  });

  it('an unknown series answers an empty list; a read key may query', async () => {
    const r = await http.get(`/api/v2/metrics/historical/${web.id}?metric=nope_metric`);
    expect(r.status).toBe(401);
    const k = await http.get<HistoricalSeries>(
      `/api/v2/metrics/historical/${web.id}?metric=nope_metric`,
      {
        headers: { authorization: `Bearer ${readKey}` },
      },
    );
    expect(k.status).toBe(200);
    expect(k.body.points).toEqual([]);
  });

  it('refuses bad input with 4xx', async () => {
    expect((await hist('metric=bad name!')).status).toBe(400);
    expect((await hist(`from=${now}&to=${now - 1000}`)).status).toBe(400);
    expect((await hist('step=5parsecs')).status).toBe(400);
    expect((await hist('agg=median')).status).toBe(400);
    expect((await hist('from=yesterday')).status).toBe(400);
    expect(
      (await http.get(`/api/v2/metrics/historical/not-a-uuid`, { token: viewer.token })).status,
    ).toBe(404);
    expect(
      (
        await http.get(`/api/v2/metrics/historical/${web.id}`, {
          headers: { authorization: `Bearer ${writeKey}` },
        })
      ).status,
    ).toBe(403);
    expect(
      (await http.get(`/api/v2/metrics/aggregate/2w?metric=cpu_usage`, { token: viewer.token }))
        .status,
    ).toBe(400);
    expect(
      (
        await http.get(`/api/v2/metrics/aggregate/1h?metric=cpu_usage&groupBy=color`, {
          token: viewer.token,
        })
      ).status,
    ).toBe(400);
  });

  it('fleet aggregate groups by type, environment and tag', async () => {
    const byType = await http.get<AggregateResult>(
      `/api/v2/metrics/aggregate/6h?metric=cpu_usage&groupBy=type`,
      {
        token: viewer.token,
      },
    );
    expect(byType.status).toBe(200);
    const types = Object.fromEntries(
      byType.body.groups.map((g) => [g.key, [g.agentCount, g.value]]),
    );
    expect(types).toEqual({ llm_agent: [1, 80], web_server: [2, (4.5 + 20) / 2] });
    const env = await http.get<AggregateResult>(
      `/api/v2/metrics/aggregate/6h?metric=cpu_usage&groupBy=environment&agg=max`,
      {
        token: viewer.token,
      },
    );
    expect(Object.fromEntries(env.body.groups.map((g) => [g.key, g.value]))).toEqual({
      dev: 20,
      prod: 80,
    });
    const tag = await http.get<AggregateResult>(
      `/api/v2/metrics/aggregate/6h?metric=cpu_usage&groupBy=tag:team`,
      {
        token: viewer.token,
      },
    );
    expect(tag.body.groups.map((g) => g.key)).toEqual(['a', 'b']);
    expect(tag.body.groups[0].points.length).toBeGreaterThan(10);
  });

  it('lists the known series of an agent with latest values', async () => {
    const r = await http.get<AgentSeriesList>(`/api/v2/metrics/series/${web.id}`, {
      token: viewer.token,
    });
    expect(r.status).toBe(200);
    expect(r.body.items.map((s) => [s.name, s.lastValue])).toEqual([
      ['cpu_usage', 9],
      ['memory_usage', 50],
    ]);
  });

  it('dashboard page data: overview, fleet metrics, agents summary', async () => {
    // The seeded history ends up to an hour ago depending on the wall clock; one fresh sample
    // (same value as the last stored one) keeps the last-hour ingest-rate chart non-empty.
    const fresh = await http.post(
      '/api/v2/metrics/batch',
      { samples: [{ agentId: web.id, timestamp: Date.now(), metrics: { memory_usage: 50 } }] },
      { headers: { authorization: `Bearer ${writeKey}` } },
    );
    expect(fresh.status).toBe(200);
    await t.app.get(RollupService).runOnce();
    const o = await http.get<DashboardOverview>('/api/v2/dashboard/overview', {
      token: viewer.token,
    });
    expect(o.status).toBe(200);
    expect(o.body.agents.total).toBe(3);
    expect(o.body.ingest.series).toBe(4);
    expect(o.body.ingest.valuesPerSec).toBeGreaterThan(0);
    expect(o.body.byType.map((g) => [g.key, g.agents, g.cpuAvg])).toEqual([
      ['llm_agent', 1, 80],
      ['web_server', 2, (9 + 20) / 2],
    ]);
    expect(o.body.ingestRate.length).toBeGreaterThan(0);
    const m = await http.get<DashboardMetrics>('/api/v2/dashboard/metrics/6h', {
      token: viewer.token,
    });
    expect(m.status).toBe(200);
    expect(m.body.charts.map((c) => c.metric)).toEqual(['cpu_usage', 'memory_usage', 'disk_usage']);
    expect(m.body.charts[0].byEnvironment.groups.map((g) => g.key)).toEqual(['dev', 'prod']);
    const s = await http.get<AgentsSummary>('/api/v2/dashboard/agents/summary', {
      headers: { authorization: `Bearer ${readKey}` },
    });
    expect(s.status).toBe(200);
    expect(s.body.items.find((a) => a.name === 'q-web')?.latest.values).toEqual({
      cpu_usage: 9,
      memory_usage: 50,
    });
    expect((await http.get('/api/v2/dashboard/metrics/5y', { token: viewer.token })).status).toBe(
      400,
    );
    expect((await http.get('/api/v2/dashboard/overview')).status).toBe(401);
    expect(
      (
        await http.get('/api/v2/dashboard/overview', {
          headers: { authorization: `Bearer ${writeKey}` },
        })
      ).status,
    ).toBe(403);
  });
});
