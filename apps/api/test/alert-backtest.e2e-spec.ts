import type { AlertTestResult } from '@agent-monitor/contracts';
import type { Client } from './support/http.js';
import { registerAgent, startKeyedApp, stopKeyedApp } from './support/alerting.js';
import type { TestApp } from './support/test-app.js';

/**
 * POST /alerts/test replays a rule draft over stored history with the live engine's scoping
 * (agent groups included) and series label matching: one simulated alert per agent and label
 * set the selector admits, nothing for agents or series the live rule would not evaluate.
 */
describe('rule backtest: scope and label sets as the live engine', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  const register = (name: string) => registerAgent(http, admin, name);

  /** Five samples a minute apart, ending a minute ago. */
  async function history(agentId: string, metrics: Record<string, number>) {
    const now = Date.now();
    const samples = [5, 4, 3, 2, 1].map((m) => ({
      agentId,
      timestamp: now - m * 60_000,
      metrics,
    }));
    const r = await http.post('/api/v2/metrics/batch', { samples }, { headers: admin });
    expect(r.status).toBeLessThan(300);
  }

  async function backtest(rule: Record<string, unknown>) {
    const r = await http.post<AlertTestResult>(
      '/api/v2/alerts/test',
      { rule, from: new Date(Date.now() - 3_600_000).toISOString() },
      { headers: admin },
    );
    expect(r.status).toBe(200);
    return r.body.backtest!;
  }

  it("a rule scoped to an agent group only replays that group's agents", async () => {
    const member = await register('bt-member');
    const other = await register('bt-other');
    const byTag = await register('bt-tagged');
    const tag = `bt-${Date.now()}`;
    expect(
      (await http.patch(`/api/v2/agents/${byTag}`, { tags: { pool: tag } }, { headers: admin }))
        .status,
    ).toBe(200);
    const g = await http.post<{ id: string }>(
      '/api/v2/agent-groups',
      { name: `bt-group-${Date.now()}`, agentIds: [member], tagSelector: { pool: tag } },
      { headers: admin },
    );
    expect(g.status).toBe(201);
    for (const id of [member, other, byTag]) await history(id, { bt_queue: 50 });
    const condition = { kind: 'threshold', metric: 'bt_queue', op: '>', value: 10 };

    const scoped = await backtest({ condition, scope: { groupIds: [g.body.id] } });
    expect(scoped.agents).toBe(2);
    expect(scoped.events.map((e) => e.agentId).sort()).toEqual([member, byTag].sort());

    // The same draft without the group scope sees the third agent too.
    const all = await backtest({ condition, scope: { agentIds: [member, other, byTag] } });
    expect(new Set(all.events.map((e) => e.agentId))).toEqual(new Set([member, other, byTag]));
  });

  it('a label selector only evaluates the series it matches, one event per label set', async () => {
    const agentId = await register('bt-llm');
    await history(agentId, {
      'ai_metrics.inference_time{model=gpt4,region=eu}': 250,
      'ai_metrics.inference_time{model=other,region=eu}': 300,
    });
    const scope = { agentIds: [agentId] };

    const gpt4 = await backtest({
      scope,
      condition: {
        kind: 'threshold',
        metric: 'ai_metrics.inference_time{model=gpt4}',
        op: '>',
        value: 100,
      },
    });
    expect(gpt4.events).toHaveLength(1);
    expect(gpt4.events[0]).toMatchObject({
      agentId,
      labelKey: 'model=gpt4,region=eu',
      labels: { model: 'gpt4', region: 'eu' },
      value: 250,
    });

    // No filter: every label set of the metric is its own alert, as live.
    const any = await backtest({
      scope,
      condition: { kind: 'threshold', metric: 'ai_metrics.inference_time', op: '>', value: 100 },
    });
    expect(any.events.map((e) => e.labels.model).sort()).toEqual(['gpt4', 'other']);

    // A filter nothing matches evaluates nothing.
    const none = await backtest({
      scope,
      condition: {
        kind: 'threshold',
        metric: 'ai_metrics.inference_time{model=claude}',
        op: '>',
        value: 100,
      },
    });
    expect(none.events).toEqual([]);
  });
});
