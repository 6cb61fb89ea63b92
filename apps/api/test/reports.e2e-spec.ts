import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '@agent-monitor/contracts';
import { createApiKey } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const H = 3_600_000;

/**
 * The data is laid out by hand so every figure has a known answer:
 * period [T0, T0+10h), two days ago.
 * - A: online from T0-1h, offline at T0+6h, online at T0+8h → 8h of 10h = 80 %.
 * - B: offline from T0-1h, online at T0+5h → 5h of 10h = 50 %.
 * - A: critical fired T0+1h (acked +5 min, resolved +30 min), warning fired T0+2h (resolved
 *   +10 min, never acked); B: critical fired T0+3h (acked +15 min, still firing); an alert of
 *   A fired before the period is not counted.
 */
describe('reports (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let reader: string;
  let a: string;
  let b: string;
  let group: string;
  const T0 = Math.floor((Date.now() - 2 * 24 * H) / H) * H;
  const at = (h: number) => new Date(T0 + h * H).toISOString();
  const period = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(10))}`;

  async function register(name: string, environment: string, region: string): Promise<string> {
    const r = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name, type: 'llm_agent', host: 'h', environment, metadata: { region } },
      { token: admin },
    );
    expect(r.status).toBe(201);
    return r.body.id;
  }

  async function history(agentId: string, rows: Array<[number, string]>) {
    await t.sql(`DELETE FROM agent_status_history WHERE agent_id = $1`, [agentId]);
    for (const [h, status] of rows) {
      await t.sql(
        `INSERT INTO agent_status_history (agent_id, previous_status, status, reason, at)
         VALUES ($1, NULL, $2, 'heartbeat', $3)`,
        [agentId, status, at(h)],
      );
    }
  }

  async function alert(
    agentId: string,
    severity: string,
    firedH: number,
    ackMin: number | null,
    resolveMin: number | null,
  ) {
    const fired = T0 + firedH * H;
    const plus = (m: number | null) => (m === null ? null : new Date(fired + m * 60_000));
    await t.sql(
      `INSERT INTO alert_instances (rule_id, agent_id, agent_name, severity, state, group_key,
                                    started_at, fired_at, acked_at, resolved_at, label_key)
       VALUES ($1, $2, 'x', $3, $4, 'g', $5, $5, $6, $7, $8)`,
      [
        ruleId,
        agentId,
        severity,
        resolveMin === null ? 'firing' : 'resolved',
        new Date(fired),
        plus(ackMin),
        plus(resolveMin),
        `${severity}-${firedH}`,
      ],
    );
  }
  let ruleId: string;

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await createApiKey(t, ['admin']);
    reader = await createApiKey(t, ['read']);
    a = await register('agent-a', 'production', 'eu-west-1');
    b = await register('agent-b', 'staging', 'us-east-1');
    await history(a, [
      [-1, 'online'],
      [6, 'offline'],
      [8, 'online'],
    ]);
    await history(b, [
      [-1, 'offline'],
      [5, 'online'],
    ]);
    [{ id: ruleId }] = await t.sql<{ id: string }>(
      `INSERT INTO alert_rules (name, severity, condition, summary_template)
       VALUES ('r', 'critical', '{}', 's') RETURNING id`,
    );
    await alert(a, 'critical', 1, 5, 30);
    await alert(a, 'warning', 2, null, 10);
    await alert(b, 'critical', 3, 15, null);
    await alert(a, 'critical', -1, 1, 2);
    // Activity in the period: A completes two tasks and commits once.
    await http.post(
      `/api/v2/agents/${a}/events`,
      {
        events: [
          { type: 'completed', taskId: 'R-1', at: at(4) },
          { type: 'completed', taskId: 'R-2', at: at(4.5) },
          { type: 'completed', taskId: 'R-3', at: at(11) },
        ],
      },
      { token: admin },
    );
    await http.post(
      `/api/v2/agents/${a}/commits`,
      {
        hash: 'abc1234',
        branch: 'main',
        author: 'a',
        message: 'm',
        committedAt: at(3),
      },
      { token: admin },
    );
    // Metrics in the period: cpu 10, 20, 30, 40 (avg 25, p95 38.5, max 40); LLM usage per model.
    for (const [i, cpu] of [10, 20, 30, 40].entries()) {
      const r = await http.post(
        `/api/v2/agents/${a}/metrics`,
        {
          timestamp: at(1 + i),
          metrics: {
            cpu_usage: cpu,
            'ai_metrics.tokens{model=gpt-4}': 1000 + i,
            'ai_metrics.cost{model=gpt-4}': 0.25,
          },
        },
        { token: admin },
      );
      expect(r.status).toBeLessThan(300);
    }
    await http.post(
      `/api/v2/agents/${b}/metrics`,
      { timestamp: at(2), metrics: { 'ai_metrics.tokens{model=llama}': 500, cpu_usage: 99 } },
      { token: admin },
    );
    // Outside the period: not counted.
    await http.post(
      `/api/v2/agents/${a}/metrics`,
      { timestamp: at(12), metrics: { cpu_usage: 1000 } },
      { token: admin },
    );
    const g = await http.post<{ id: string }>(
      '/api/v2/agent-groups',
      { name: 'only-a', agentIds: [a] },
      { token: admin },
    );
    group = g.body.id;
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('JSON: availability, alerts, MTTA/MTTR and activity equal the hand count', async () => {
    const r = await http.get<Report>(`/api/v2/reports/generate?${period}`, { token: reader });
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.body.agents.map((x) => [x.name, x]));
    expect(byName['agent-a']).toMatchObject({
      availabilityPct: 80,
      onlineSec: 8 * 3600,
      observedSec: 10 * 3600,
      alerts: {
        total: 2,
        bySeverity: { critical: 1, warning: 1, error: 0, info: 0 },
        mttaSec: 300,
        mttrSec: 1200,
      },
      tasksCompleted: 2,
      commits: 1,
    });
    expect(byName['agent-b']).toMatchObject({
      availabilityPct: 50,
      alerts: { total: 1, bySeverity: { critical: 1 }, mttaSec: 900, mttrSec: null },
      tasksCompleted: 0,
    });
    expect(r.body.fleet).toMatchObject({
      agentCount: 2,
      availabilityPct: 65,
      alerts: { total: 3, mttaSec: 600, mttrSec: 1200 },
    });
    expect(r.body.metrics.find((m) => m.metric === 'cpu_usage')).toEqual({
      metric: 'cpu_usage',
      samples: 5,
      avg: 39.8,
      p95: 87.2,
      max: 99,
    });
    expect(r.body.llm).toEqual([
      { model: 'gpt-4', tokens: 4006, cost: 1 },
      { model: 'llama', tokens: 500, cost: 0 },
    ]);
    expect(r.body.notes).toEqual([]);
    expect(r.body.groups).toEqual([
      expect.objectContaining({
        name: 'only-a',
        agentCount: 1,
        availabilityPct: 80,
        alerts: expect.objectContaining({ total: 2 }),
      }),
    ]);
  });

  it('scopes to a group or to agent ids', async () => {
    const g = await http.get<Report>(`/api/v2/reports/generate?${period}&scope=group:${group}`, {
      token: reader,
    });
    expect(g.status).toBe(200);
    expect(g.body.agents.map((x) => x.name)).toEqual(['agent-a']);
    expect(g.body.fleet.availabilityPct).toBe(80);
    const ids = await http.get<Report>(`/api/v2/reports/generate?${period}&scope=${b}`, {
      token: reader,
    });
    expect(ids.body.agents.map((x) => x.name)).toEqual(['agent-b']);
    expect(ids.body.groups).toEqual([]);
    expect(ids.body.metrics.find((m) => m.metric === 'cpu_usage')).toMatchObject({
      samples: 1,
      avg: 99,
    });
    expect(g.body.metrics.find((m) => m.metric === 'cpu_usage')).toMatchObject({
      samples: 4,
      avg: 25,
      p95: 38.5,
      max: 40,
    });
    const eu = await http.get<Report>(`/api/v2/reports/generate?${period}&region=eu-west-1`, {
      token: reader,
    });
    expect(eu.body.agents.map((x) => x.name)).toEqual(['agent-a']);
    expect(eu.body.scope.label).toBe('All agents (region eu-west-1)');
    const staging = await http.get<Report>(
      `/api/v2/reports/generate?${period}&environment=staging&scope=${a},${b}`,
      { token: reader },
    );
    expect(staging.body.agents.map((x) => x.name)).toEqual(['agent-b']);
    expect(staging.body.fleet.availabilityPct).toBe(50);
  });

  it('CSV: every value equals the JSON report', async () => {
    const json = (await http.get<Report>(`/api/v2/reports/generate?${period}`, { token: reader }))
      .body;
    const r = await http.get<string>(`/api/v2/reports/generate?${period}&format=csv`, {
      token: reader,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename=".*\.csv"/);
    const rows = r.body
      .trim()
      .split('\r\n')
      .map((l) => l.split(','));
    expect(rows[0]).toEqual(['section', 'subject_id', 'subject', 'measure', 'value']);
    const value = (section: string, id: string, measure: string) =>
      rows.find((x) => x[0] === section && x[1] === id && x[3] === measure)?.[4];
    const cpuP95 = rows.find((x) => x[0] === 'metric' && x[2] === 'cpu_usage' && x[3] === 'p95');
    expect(cpuP95?.[4]).toBe('87.2');
    const gptTokens = rows.find((x) => x[0] === 'llm' && x[2] === 'gpt-4' && x[3] === 'tokens');
    expect(gptTokens?.[4]).toBe('4006');
    for (const ag of json.agents) {
      expect(value('agent', ag.agentId, 'availability_pct')).toBe(String(ag.availabilityPct));
      expect(value('agent', ag.agentId, 'alerts_total')).toBe(String(ag.alerts.total));
      expect(value('agent', ag.agentId, 'alerts_critical')).toBe(
        String(ag.alerts.bySeverity.critical),
      );
      expect(value('agent', ag.agentId, 'mtta_sec')).toBe(
        ag.alerts.mttaSec === null ? '' : String(ag.alerts.mttaSec),
      );
      expect(value('agent', ag.agentId, 'tasks_completed')).toBe(String(ag.tasksCompleted));
    }
    expect(value('agent', a, 'availability_pct')).toBe('80');
    expect(value('agent', b, 'mttr_sec')).toBe('');
    expect(value('fleet', '', 'availability_pct')).toBe('65');
    expect(value('group', group, 'alerts_total')).toBe('2');
  });

  it('PDF: a real PDF that pdftoppm renders', async () => {
    const res = await fetch(`${t.baseUrl}/api/v2/reports/generate?${period}&format=pdf`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await res.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'am-report-'));
    const file = path.join(dir, 'report.pdf');
    writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', file, path.join(dir, 'p')]);
    const png = [path.join(dir, 'p-1.png'), path.join(dir, 'p-01.png')].find((p) => existsSync(p));
    expect(png).toBeDefined();
    expect(statSync(png!).size).toBeGreaterThan(1000);
    const text = execFileSync('pdftotext', [file, '-']).toString();
    expect(text).toContain('agent-a');
    expect(text).toContain('80 %');
  });

  it('refuses bad input and unauthenticated callers', async () => {
    const get = (q: string, token: string | null = reader) =>
      http.get<{ message: string }>(`/api/v2/reports/generate?${q}`, { token: token ?? undefined });
    expect((await get(period, null)).status).toBe(401);
    expect((await get(`${period}&format=xml`)).status).toBe(400);
    expect((await get(`${period}&scope=junk`)).status).toBe(400);
    expect((await get(`${period}&scope=group:nope`)).status).toBe(400);
    const backwards = await get(`from=${at(10)}&to=${at(0)}`);
    expect(backwards.status).toBe(400);
    expect(backwards.body.message).toMatch(/from/);
    expect((await get(`from=2020-01-01T00:00:00Z&to=2022-01-01T00:00:00Z`)).status).toBe(400);
    expect((await get(`from=yesterday`)).status).toBe(400);
    expect((await get(`${period}&scope=00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await get(`${period}&scope=group:00000000-0000-4000-8000-000000000000`)).status).toBe(
      404,
    );
  });
});
