import { randomUUID } from 'node:crypto';
import type {
  AlertDetail,
  AlertInstance,
  AlertRule,
  CreateAlertRuleInput,
  Page,
} from '@agent-monitor/contracts';
import { client, type Client } from './support/http.js';
import {
  FAST_ALERTING_ENV,
  ingest,
  receiver,
  sleep,
  waitFor,
  startKeyedApp,
  stopKeyedApp,
} from './support/alerting.js';
import { insertKey } from './support/root-key.js';
import {
  createTestDatabase,
  dropTestDatabase,
  startTestApp,
  type TestApp,
} from './support/test-app.js';

/**
 * Alert rules and their evaluation over HTTP against real PostgreSQL: rule CRUD and
 * validation, every condition kind and operator, AND/OR, `for`, keepFiringFor, no-data (those
 * fed through the real ingest endpoint, POST /api/v2/metrics/batch), agent status, ack/resolve
 * with history, and two API instances on one database.
 */
describe('alert rules and evaluation', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin, reader } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  async function createRule(body: CreateAlertRuleInput): Promise<AlertRule> {
    const r = await http.post<AlertRule>('/api/v2/alerts/rules', body, { headers: admin });
    expect(r.status).toBe(201);
    return r.body;
  }

  async function openFor(ruleId: string, agentId: string): Promise<AlertInstance | undefined> {
    const r = await http.get<Page<AlertInstance>>(
      `/api/v2/alerts?ruleId=${ruleId}&agentId=${agentId}&state=pending,firing`,
      { headers: admin },
    );
    return r.body.items[0];
  }

  /** Registers an agent (HTTP ingest only accepts samples of registered agents). */
  async function newAgent(): Promise<string> {
    const r = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name: `eval-${randomUUID().slice(0, 8)}`, type: 'worker', host: 'eval-host' },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return r.body.id;
  }

  /** Real ingest: `POST /api/v2/metrics/batch`, answered after commit; the engine sees what was stored. */
  async function send(
    samples: Array<{ agentId: string; values: Record<string, number>; ts?: number }>,
  ) {
    const r = await http.post(
      '/api/v2/metrics/batch',
      {
        samples: samples.map((x) => ({
          agentId: x.agentId,
          metrics: x.values,
          ...(x.ts !== undefined ? { timestamp: x.ts } : {}),
        })),
      },
      { headers: admin },
    );
    expect(r.status).toBeLessThan(300);
  }

  const firing = (ruleId: string, agentId: string) =>
    waitFor(async () => {
      const a = await openFor(ruleId, agentId);
      return a?.state === 'firing' ? a : null;
    }, 'firing alert');
  const noneOpen = (ruleId: string, agentId: string) =>
    waitFor(async () => !(await openFor(ruleId, agentId)), 'no open alert');

  describe('rules CRUD', () => {
    it('creates, reads, lists, updates and deletes a rule with defaults filled in', async () => {
      const rule = await createRule({
        name: 'cpu high',
        condition: { kind: 'threshold', metric: 'cpu_usage', op: '>', value: 90 },
      });
      expect(rule).toMatchObject({
        enabled: true,
        severity: 'warning',
        forSec: 0,
        groupWindowSec: 10,
        scope: {},
      });
      expect(
        (await http.get<AlertRule>(`/api/v2/alerts/rules/${rule.id}`, { headers: reader })).body
          .name,
      ).toBe('cpu high');
      const list = await http.get<Page<AlertRule>>('/api/v2/alerts/rules?q=cpu', {
        headers: reader,
      });
      expect(list.body.items.map((r) => r.id)).toContain(rule.id);
      const upd = await http.patch<AlertRule>(
        `/api/v2/alerts/rules/${rule.id}`,
        { severity: 'critical', enabled: false },
        { headers: admin },
      );
      expect(upd.status).toBe(200);
      expect(upd.body).toMatchObject({ severity: 'critical', enabled: false });
      const audit = await t.sql<{ action: string }>(
        `SELECT action FROM audit_logs WHERE resource_id = $1 ORDER BY id`,
        [rule.id],
      );
      expect(audit.map((a) => a.action)).toEqual(['alert_rule.create', 'alert_rule.update']);
      expect(
        (await http.delete(`/api/v2/alerts/rules/${rule.id}`, { headers: admin })).status,
      ).toBe(204);
      expect((await http.get(`/api/v2/alerts/rules/${rule.id}`, { headers: admin })).status).toBe(
        404,
      );
    });

    it('names the wrong field, deep inside composite conditions too, and writes nothing', async () => {
      const before = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules`);
      const bad = await http.post<{ message: string; details: Array<{ field: string }> }>(
        '/api/v2/alerts/rules',
        {
          name: 'x',
          condition: {
            kind: 'and',
            conditions: [
              { kind: 'threshold', metric: 'cpu', op: '>', value: 1 },
              { kind: 'threshold', metric: 'mem', op: '=>', value: 1 },
            ],
          },
        },
        { headers: admin },
      );
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d) => d.field)).toContain('condition.conditions.1.op');
      const cases: Array<[unknown, string]> = [
        [{ name: '', condition: { kind: 'threshold', metric: 'c', op: '>', value: 1 } }, 'name'],
        [{ name: 'x', condition: { kind: 'bogus' } }, 'condition.kind'],
        [
          { name: 'x', condition: { kind: 'threshold', metric: 'c', op: '>', value: 'high' } },
          'condition.value',
        ],
        [
          {
            name: 'x',
            condition: { kind: 'threshold', metric: 'c', op: '>', value: 1, aggregate: 'median' },
          },
          'condition.aggregate',
        ],
        [{ name: 'x', severity: 'loud', condition: { kind: 'no_data', forSec: 5 } }, 'severity'],
        [
          { name: 'x', scope: { agentIds: ['nope'] }, condition: { kind: 'no_data', forSec: 5 } },
          'scope.agentIds.0',
        ],
        [{ name: 'x', extra: 1, condition: { kind: 'no_data', forSec: 5 } }, '(body)'],
        [
          { name: 'x', channelIds: [randomUUID()], condition: { kind: 'no_data', forSec: 5 } },
          'channelIds',
        ],
      ];
      for (const [body, field] of cases) {
        const r = await http.post<{ message: string; details?: Array<{ field: string }> }>(
          '/api/v2/alerts/rules',
          body,
          { headers: admin },
        );
        expect(r.status).toBe(400);
        const fields = r.body.details?.map((d) => d.field) ?? [];
        expect(fields.includes(field) || r.body.message.startsWith(field)).toBe(true);
      }
      let deep: object = { kind: 'threshold', metric: 'c', op: '>', value: 1 };
      for (let i = 0; i < 7; i++) deep = { kind: 'or', conditions: [deep] };
      expect(
        (
          await http.post(
            '/api/v2/alerts/rules',
            { name: 'deep', condition: deep },
            { headers: admin },
          )
        ).status,
      ).toBe(400);
      const huge = await http.post(
        '/api/v2/alerts/rules',
        { name: 'x'.repeat(2_000_000), condition: { kind: 'no_data', forSec: 1 } },
        { headers: admin },
      );
      expect(huge.status).toBe(413);
      expect((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules`))[0].n).toBe(
        before[0].n,
      );
    });

    it('refuses anonymous callers and read-only keys for writes', async () => {
      const body = { name: 'x', condition: { kind: 'no_data', forSec: 5 } };
      expect((await http.post('/api/v2/alerts/rules', body)).status).toBe(401);
      expect((await http.post('/api/v2/alerts/rules', body, { headers: reader })).status).toBe(403);
      expect((await http.get('/api/v2/alerts/rules')).status).toBe(401);
      expect((await http.get('/api/v2/alerts/active', { headers: reader })).status).toBe(200);
      expect(
        (await http.post(`/api/v2/alerts/${randomUUID()}/ack`, {}, { headers: reader })).status,
      ).toBe(403);
      expect((await http.get('/api/v2/alerts/not-a-uuid', { headers: reader })).status).toBe(400);
    });
  });

  describe('threshold operators', () => {
    const ops: Array<[string, number, number, number]> = [
      // op, threshold, a value that crosses, a value that does not
      ['>', 10, 11, 10],
      ['>=', 10, 10, 9],
      ['<', 10, 9, 10],
      ['<=', 10, 10, 11],
      ['==', 10, 10, 10.5],
      ['!=', 10, 3, 10],
    ];
    it.each(ops)('%s %d fires on %d and resolves on %d', async (op, threshold, hit, miss) => {
      const agentId = await newAgent();
      const metric = `m_${Math.random().toString(36).slice(2, 8)}`;
      const rule = await createRule({
        name: `op ${op}`,
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric, op: op as '>', value: threshold },
      });
      await send([{ agentId, values: { [metric]: miss } }]);
      await sleep(100);
      expect(await openFor(rule.id, agentId)).toBeUndefined();
      await send([{ agentId, values: { [metric]: hit } }]);
      const a = await firing(rule.id, agentId);
      expect(a.value).toBe(hit);
      await send([{ agentId, values: { [metric]: miss } }]);
      await noneOpen(rule.id, agentId);
    });
  });

  it('evaluates a series the engine already saw before a rule on it existed', async () => {
    // The engine caches, per stored series, which of its columns rules read; a rule created
    // later must still see the series' next samples.
    const agentId = await newAgent();
    const metric = `late_${Math.random().toString(36).slice(2, 8)}`;
    await send([{ agentId, values: { [metric]: 5, cpu_usage: 1 } }]);
    await send([{ agentId, values: { [metric]: 6, cpu_usage: 1 } }]);
    const rule = await createRule({
      name: 'rule after data',
      scope: { agentIds: [agentId] },
      condition: { kind: 'threshold', metric, op: '>', value: 50 },
    });
    await sleep(100);
    await send([{ agentId, values: { [metric]: 70, cpu_usage: 1 } }]);
    expect((await firing(rule.id, agentId)).value).toBe(70);
  });

  it('aggregates over a window: avg, min, max, p95', async () => {
    const agentId = await newAgent();
    const mk = (aggregate: 'avg' | 'min' | 'max' | 'p95', op: '>' | '<', value: number) =>
      createRule({
        name: `agg ${aggregate}`,
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric: 'lat', op, value, aggregate, windowSec: 30 },
      });
    const avg = await mk('avg', '>', 50);
    const min = await mk('min', '>', 15);
    const max = await mk('max', '>', 95);
    const p95 = await mk('p95', '>', 90);
    const now = Date.now();
    // 20 samples 10..200 step 10 → avg 105, min 10, max 200, p95 190
    ingest(
      t,
      Array.from({ length: 20 }, (_, i) => ({
        agentId,
        ts: now - 10_000 + i * 100,
        values: { lat: (i + 1) * 10 },
      })),
    );
    await firing(avg.id, agentId);
    await firing(max.id, agentId);
    const p = await firing(p95.id, agentId);
    expect(p.value).toBe(190);
    expect(await openFor(min.id, agentId)).toBeUndefined();
  });

  it('composite AND / OR, nested', async () => {
    const agentId = await newAgent();
    const rule = await createRule({
      name: 'cpu and (mem or disk)',
      scope: { agentIds: [agentId] },
      condition: {
        kind: 'and',
        conditions: [
          { kind: 'threshold', metric: 'cpu', op: '>', value: 80 },
          {
            kind: 'or',
            conditions: [
              { kind: 'threshold', metric: 'mem', op: '>', value: 90 },
              { kind: 'threshold', metric: 'disk', op: '>', value: 95 },
            ],
          },
        ],
      },
    });
    await send([{ agentId, values: { cpu: 85, mem: 50, disk: 50 } }]);
    await sleep(120);
    expect(await openFor(rule.id, agentId)).toBeUndefined();
    await send([{ agentId, values: { cpu: 85, mem: 50, disk: 99 } }]);
    await firing(rule.id, agentId);
    await send([{ agentId, values: { cpu: 10, mem: 99, disk: 99 } }]);
    await noneOpen(rule.id, agentId);
  });

  it('`for` keeps an alert pending, then fires; a short dip clears pending silently', async () => {
    const agentId = await newAgent();
    const rule = await createRule({
      name: 'for',
      forSec: 0.4,
      scope: { agentIds: [agentId] },
      condition: { kind: 'threshold', metric: 'q', op: '>', value: 1 },
    });
    await send([{ agentId, values: { q: 5 } }]);
    const pending = await waitFor(
      async () =>
        (await openFor(rule.id, agentId))?.state === 'pending' && (await openFor(rule.id, agentId)),
      'pending',
    );
    await send([{ agentId, values: { q: 0 } }]);
    await noneOpen(rule.id, agentId);
    const cleared = await http.get<AlertDetail>(`/api/v2/alerts/${pending.id}`, { headers: admin });
    expect(cleared.body.history.map((h) => h.type)).toEqual(['pending', 'cleared']);
    const t0 = Date.now();
    await send([{ agentId, values: { q: 5 } }]);
    await firing(rule.id, agentId);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  });

  it('keepFiringFor holds a firing alert through a brief recovery', async () => {
    const agentId = await newAgent();
    const rule = await createRule({
      name: 'hyst',
      keepFiringForSec: 0.6,
      scope: { agentIds: [agentId] },
      condition: { kind: 'threshold', metric: 'h', op: '>', value: 1 },
    });
    await send([{ agentId, values: { h: 5 } }]);
    await firing(rule.id, agentId);
    const t0 = Date.now();
    await send([{ agentId, values: { h: 0 } }]);
    await sleep(250);
    expect((await openFor(rule.id, agentId))?.state).toBe('firing');
    await noneOpen(rule.id, agentId);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });

  it('no-data fires when an agent goes silent and resolves when data returns', async () => {
    const agentId = await newAgent();
    const rule = await createRule({
      name: 'silent',
      scope: { agentIds: [agentId] },
      condition: { kind: 'no_data', metric: 'beat', forSec: 0.3 },
    });
    await send([{ agentId, values: { beat: 1 } }]);
    await sleep(100);
    expect(await openFor(rule.id, agentId)).toBeUndefined();
    await firing(rule.id, agentId);
    await send([{ agentId, values: { beat: 1 } }]);
    await noneOpen(rule.id, agentId);
  });

  it('agent status rules fire after the status held for N seconds', async () => {
    const name = `st-${Date.now()}`;
    const res = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name, type: 'web_server', host: 'h1' },
      { headers: admin },
    );
    expect(res.status).toBe(201);
    const agentId = res.body.id;
    const reg = { name };
    const rule = await createRule({
      name: 'offline',
      scope: { agentIds: [agentId] },
      condition: { kind: 'agent_status', statuses: ['offline', 'error'], forSec: 0.2 },
    });
    const { EventEmitter2 } = await import('@nestjs/event-emitter');
    const { InternalEvent } = await import('../src/common/events.js');
    const bus = t.app.get(EventEmitter2);
    bus.emit(InternalEvent.AgentStatusChanged, {
      agentId,
      name: reg.name,
      previousStatus: 'online',
      status: 'offline',
      at: new Date(),
      reason: 'missed_heartbeats',
    });
    await sleep(100);
    expect(await openFor(rule.id, agentId)).toBeUndefined();
    const a = await firing(rule.id, agentId);
    expect(a.agentName).toMatch(/^st-/);
    bus.emit(InternalEvent.AgentStatusChanged, {
      agentId,
      name: reg.name,
      previousStatus: 'offline',
      status: 'online',
      at: new Date(),
      reason: 'heartbeat',
    });
    await noneOpen(rule.id, agentId);
  });

  it('scopes by tag, type and environment of registered agents', async () => {
    const mk = (name: string, tags: Record<string, string>, environment: string) =>
      http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name, type: 'llm_agent', host: 'h2', environment, tags },
        { headers: admin },
      );
    const prod = (await mk(`p-${Date.now()}`, { team: 'core' }, 'prod')).body.id;
    const dev = (await mk(`d-${Date.now()}`, { team: 'core' }, 'dev')).body.id;
    const rule = await createRule({
      name: 'scoped',
      scope: { tags: { team: 'core' }, environment: 'prod', type: 'llm_agent' },
      condition: { kind: 'threshold', metric: 'tok', op: '>', value: 1 },
    });
    await send([
      { agentId: prod, values: { tok: 5 } },
      { agentId: dev, values: { tok: 5 } },
    ]);
    await firing(rule.id, prod);
    await sleep(100);
    expect(await openFor(rule.id, dev)).toBeUndefined();
  });

  it('ack records who/when/comment, resolve closes it, history lists every transition, a template cannot read files', async () => {
    const agentId = randomUUID();
    const rule = await createRule({
      name: 'life',
      scope: { agentIds: [agentId] },
      summaryTemplate:
        'cpu {{value}} > {{threshold}} on {{agent.name}} {{#include "/etc/passwd"}} {{ fs.readFileSync("/etc/passwd") }}',
      condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
    });
    ingest(t, [{ agentId, values: { cpu: 97.5 } }]);
    const a = await firing(rule.id, agentId);
    expect(a.summary).toBe(
      `cpu 97.5 > 90 on ${agentId} {{#include "/etc/passwd"}} {{ fs.readFileSync("/etc/passwd") }}`,
    );
    expect(a.summary).not.toContain('root:');
    const active = await http.get<AlertInstance[]>('/api/v2/alerts/active', { headers: reader });
    expect(active.body.map((x) => x.id)).toContain(a.id);
    const ack = await http.post<AlertDetail>(
      `/api/v2/alerts/${a.id}/ack`,
      { comment: 'on it', expiresInMinutes: 30 },
      { headers: admin },
    );
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({
      acknowledgedBy: 'key:test-admin-A',
      ackComment: 'on it',
      state: 'firing',
    });
    expect(ack.body.ackExpiresAt).toBeTruthy();
    expect(
      (await http.post(`/api/v2/alerts/${a.id}/ack`, { comment: 5 }, { headers: admin })).status,
    ).toBe(400);
    const res = await http.post<AlertDetail>(
      `/api/v2/alerts/${a.id}/resolve`,
      { comment: 'fixed' },
      { headers: admin },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'resolved', resolvedBy: 'key:test-admin-A' });
    expect(res.body.history.map((h) => h.type)).toEqual([
      'pending',
      'firing',
      'acknowledged',
      'resolved',
    ]);
    expect((await http.post(`/api/v2/alerts/${a.id}/resolve`, {}, { headers: admin })).status).toBe(
      409,
    );
    // Manually resolved while still true: no new alert until the condition clears once.
    ingest(t, [{ agentId, values: { cpu: 99 } }]);
    await sleep(150);
    expect(await openFor(rule.id, agentId)).toBeUndefined();
    ingest(t, [{ agentId, values: { cpu: 1 } }]);
    await sleep(100);
    ingest(t, [{ agentId, values: { cpu: 99 } }]);
    await firing(rule.id, agentId);
    const hist = await http.get<Page<AlertInstance>>(
      `/api/v2/alerts?ruleId=${rule.id}&state=resolved`,
      { headers: reader },
    );
    expect(hist.body.total).toBe(1);
  });

  it('backtests a rule draft over stored samples and sends a test notification', async () => {
    const reg = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name: `bt-${Date.now()}`, type: 'web_server', host: 'bt' },
      { headers: admin },
    );
    expect(reg.status).toBe(201);
    const now = Date.now();
    // 20 minutes of one sample a minute: above 90 from minute 5 to 9, then below.
    for (let i = 20; i >= 1; i--) {
      const v = i <= 15 && i >= 11 ? 95 : 20;
      const r = await http.post(
        `/api/v2/agents/${reg.body.id}/metrics`,
        { timestamp: now - i * 60_000, metrics: { bt_cpu: v } },
        { headers: { authorization: `Bearer ${reg.body.agentKey}` } },
      );
      expect(r.status).toBe(200);
    }
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'bt', config: { url: rx.url } },
        { headers: admin },
      );
      const r = await http.post<{
        backtest: {
          events: Array<{ agentId: string; firedAt: string; resolvedAt: string | null }>;
          points: number;
        };
        channel: { ok: boolean };
      }>(
        '/api/v2/alerts/test',
        {
          channelId: ch.body.id,
          from: new Date(now - 30 * 60_000).toISOString(),
          to: new Date(now).toISOString(),
          rule: {
            scope: { agentIds: [reg.body.id] },
            forSec: 90,
            condition: { kind: 'threshold', metric: 'bt_cpu', op: '>', value: 90 },
          },
        },
        { headers: admin },
      );
      expect(r.status).toBe(200);
      expect(r.body.channel.ok).toBe(true);
      expect(rx.received).toHaveLength(1);
      expect(r.body.backtest.points).toBeGreaterThanOrEqual(20);
      expect(r.body.backtest.events).toHaveLength(1);
      const e = r.body.backtest.events[0];
      // Crossed at minute -15, held for 90 s → fires at the third point (minute -13); clears at -10.
      expect(Math.abs(Date.parse(e.firedAt) - (now - 13 * 60_000))).toBeLessThan(61_000);
      expect(Math.abs(Date.parse(e.resolvedAt!) - (now - 10 * 60_000))).toBeLessThan(61_000);
    } finally {
      await rx.close();
    }
    const tooLong = await http.post(
      '/api/v2/alerts/test',
      {
        from: new Date(now - 8 * 86_400_000).toISOString(),
        to: new Date(now).toISOString(),
        rule: { condition: { kind: 'threshold', metric: 'x', op: '>', value: 1 } },
      },
      { headers: admin },
    );
    expect(tooLong.status).toBe(400);
    expect((await http.post('/api/v2/alerts/test', {}, { headers: admin })).status).toBe(400);
    expect(
      (await http.post('/api/v2/alerts/test', { channelId: randomUUID() }, { headers: reader }))
        .status,
    ).toBe(403);
  });

  it('sends alert_triggered, alert_acknowledged and alert_resolved to dashboard sockets', async () => {
    const { io } = await import('socket.io-client');
    const { DASHBOARD_NAMESPACE } = await import('@agent-monitor/contracts');
    const { ADMIN_EMAIL, ADMIN_PASSWORD } = await import('./support/test-app.js');
    const login = await http.post<{ accessToken: string }>('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    expect(login.status).toBe(200);
    const s = io(t.baseUrl + DASHBOARD_NAMESPACE, {
      auth: { token: login.body.accessToken },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const got: Array<{
      event: string;
      alertId: string;
      status: string;
      summary: string;
      by?: string;
    }> = [];
    for (const ev of ['alert_triggered', 'alert_acknowledged', 'alert_resolved'] as const) {
      s.on(ev, (e) =>
        got.push({ event: ev, alertId: e.alertId, status: e.status, summary: e.summary, by: e.by }),
      );
    }
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      const agentId = await newAgent();
      const rule = await createRule({
        name: 'sock',
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric: 's', op: '>', value: 1 },
      });
      await send([{ agentId, values: { s: 7 } }]);
      const a = await firing(rule.id, agentId);
      await waitFor(async () => got.length === 1, 'alert_triggered');
      expect(got[0]).toMatchObject({ event: 'alert_triggered', alertId: a.id, status: 'firing' });
      await http.post(`/api/v2/alerts/${a.id}/ack`, { comment: 'mine' }, { headers: admin });
      await send([{ agentId, values: { s: 0 } }]);
      await waitFor(async () => got.length === 3, 'ack and resolve events');
      expect(got.map((g) => g.event)).toEqual([
        'alert_triggered',
        'alert_acknowledged',
        'alert_resolved',
      ]);
      expect(got[1]).toMatchObject({ status: 'acknowledged', by: 'key:test-admin-A' });
      expect(got[2]).toMatchObject({ status: 'resolved', alertId: a.id });
    } finally {
      s.disconnect();
    }
  });

  it('escalates an unacknowledged firing alert step by step; ack stops it', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'esc', config: { url: rx.url } },
        { headers: admin },
      );
      const agentId = randomUUID();
      const rule = await createRule({
        name: 'esc',
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric: 'e', op: '>', value: 1 },
        escalation: [
          { afterMinutes: 0.005, channelIds: [ch.body.id] },
          { afterMinutes: 0.01, channelIds: [ch.body.id] },
          { afterMinutes: 0.05, channelIds: [ch.body.id] },
        ],
      });
      ingest(t, [{ agentId, values: { e: 5 } }]);
      const a = await firing(rule.id, agentId);
      await waitFor(async () => rx.received.length >= 2, 'two escalations');
      expect(rx.received.map((r) => (r.body as { event: string }).event)).toEqual([
        'escalated',
        'escalated',
      ]);
      await http.post(`/api/v2/alerts/${a.id}/ack`, {}, { headers: admin });
      await sleep(3500);
      expect(rx.received).toHaveLength(2);
      const d = await http.get<AlertDetail>(`/api/v2/alerts/${a.id}`, { headers: admin });
      expect(d.body.escalationStep).toBe(2);
    } finally {
      await rx.close();
    }
  });
});

describe('two API instances on one database', () => {
  it('open each transition once and write one notification per transition and channel', async () => {
    const databaseUrl = await createTestDatabase();
    // Instances share ENCRYPTION_KEY (channel secrets) as a real deployment must.
    const env = { ...FAST_ALERTING_ENV, ENCRYPTION_KEY: 'k'.repeat(48) };
    const a = await startTestApp({ databaseUrl, env });
    const b = await startTestApp({ databaseUrl, env });
    const rx = await receiver();
    try {
      const admin = (await insertKey(a, ['admin'], 'C')).headers;
      const http = client(a.baseUrl);
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'dup', config: { url: rx.url } },
        { headers: admin },
      );
      const agentId = randomUUID();
      const rule = await http.post<AlertRule>(
        '/api/v2/alerts/rules',
        {
          name: 'dup',
          forSec: 0.2,
          channelIds: [ch.body.id],
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'x', op: '>', value: 1 },
        },
        { headers: admin },
      );
      // B learns about the rule by polling the rule fingerprint.
      await sleep(2300);
      for (let i = 0; i < 5; i++) {
        ingest(a, [{ agentId, values: { x: 5 } }]);
        ingest(b, [{ agentId, values: { x: 5 } }]);
        await sleep(100);
      }
      await waitFor(async () => rx.received.length >= 1, 'firing notification');
      for (let i = 0; i < 3; i++) {
        ingest(a, [{ agentId, values: { x: 0 } }]);
        ingest(b, [{ agentId, values: { x: 0 } }]);
        await sleep(50);
      }
      await waitFor(async () => rx.received.length >= 2, 'resolved notification');
      await sleep(500);
      expect(rx.received.map((r) => (r.body as { event: string }).event)).toEqual([
        'firing',
        'resolved',
      ]);
      const inst = await a.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM alert_instances WHERE rule_id = $1`,
        [rule.body.id],
      );
      expect(inst[0].n).toBe(1);
      const tr = await a.sql<{ type: string }>(`SELECT type FROM alert_transitions ORDER BY id`);
      expect(tr.map((x) => x.type)).toEqual(['pending', 'firing', 'resolved']);
    } finally {
      await rx.close();
      await a.close();
      await b.close();
      await dropTestDatabase(databaseUrl);
    }
  });
});
