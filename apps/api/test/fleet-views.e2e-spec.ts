import type {
  Agent,
  AgentGroup,
  AgentGroupDetail,
  AgentList,
  AggregateResult,
} from '@agent-monitor/contracts';
import { RollupService } from '../src/modules/metrics/rollup.service.js';
import { createApiKey, createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Fleet views over HTTP against real PostgreSQL: regions as filters and groupings, nested
 * groups (one level) and the aggregates of a group (status counts, metrics).
 *
 * Agents and their cpu: eu-a 10 (tier web), eu-b 30 (tier db), us-a 50 (tier web), none-a 70
 * (no region). Groups: "parent" = none-a explicitly + child "web" (tier:web → eu-a, us-a).
 */
describe('fleet views: regions, nested groups, group aggregates', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let operator: string;
  let viewer: string;
  const ids: Record<string, string> = {};
  let parent: AgentGroup;
  let web: AgentGroup;

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms' } });
    http = client(t.baseUrl);
    admin = await createApiKey(t, ['admin']);
    operator = (await createUser(t, 'operator')).token;
    viewer = (await createUser(t, 'viewer')).token;
    const fleet: Array<[string, string | null, string, number]> = [
      ['eu-a', 'eu', 'web', 10],
      ['eu-b', 'eu', 'db', 30],
      ['us-a', 'us', 'web', 50],
      ['none-a', null, 'none', 70],
    ];
    const samples = [];
    const now = Date.now();
    for (const [name, region, tier, cpu] of fleet) {
      const r = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        {
          name,
          type: 'worker',
          host: name,
          tags: { tier },
          ...(region ? { metadata: { region } } : {}),
        },
        { token: admin },
      );
      expect(r.status).toBe(201);
      ids[name] = r.body.id;
      for (let i = 0; i < 3; i++) {
        samples.push({
          agentId: r.body.id,
          timestamp: now - (5 - i) * 60_000,
          metrics: { cpu_usage: cpu },
        });
      }
    }
    expect((await http.post('/api/v2/metrics/batch', { samples }, { token: admin })).status).toBe(
      200,
    );
    await t.app.get(RollupService).runOnce();
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const names = (items: Agent[]) => items.map((a) => a.name).sort();

  it('filters the agents list by region (metadata.region); v1 is unchanged', async () => {
    const eu = await http.get<AgentList>('/api/v2/agents?region=eu', { token: viewer });
    expect(eu.status).toBe(200);
    expect(names(eu.body.items)).toEqual(['eu-a', 'eu-b']);
    expect(eu.body.items.every((a) => a.region === 'eu')).toBe(true);
    const two = await http.get<AgentList>('/api/v2/agents?region=eu,us', { token: viewer });
    expect(names(two.body.items)).toEqual(['eu-a', 'eu-b', 'us-a']);
    const all = await http.get<AgentList>('/api/v2/agents', { token: viewer });
    expect(all.body.items.find((a) => a.name === 'none-a')!.region).toBeNull();
    expect(
      (await http.get(`/api/v2/agents?region=${'x'.repeat(65)}`, { token: viewer })).status,
    ).toBe(400);
    const v1 = await http.get<{ agents: Array<Record<string, unknown>> }>(
      '/api/v1/agents?region=eu',
      { token: viewer },
    );
    expect(v1.status).toBe(200);
    expect(v1.body.agents).toHaveLength(4);
    expect(Object.keys(v1.body.agents[0]).sort()).toEqual(
      ['host', 'id', 'last_heartbeat', 'name', 'port', 'status'].sort(),
    );
  });

  it('aggregates metrics by region', async () => {
    const r = await http.get<AggregateResult>(
      '/api/v2/metrics/aggregate/1h?metric=cpu_usage&groupBy=region',
      { token: viewer },
    );
    expect(r.status).toBe(200);
    expect(Object.fromEntries(r.body.groups.map((g) => [g.key, [g.agentCount, g.value]]))).toEqual({
      eu: [2, 20],
      us: [1, 50],
      '(none)': [1, 70],
    });
    expect(
      (
        await http.get('/api/v2/metrics/aggregate/1h?metric=cpu_usage&groupBy=regions', {
          token: viewer,
        })
      ).status,
    ).toBe(400);
  });

  it('nests groups one level: the parent includes its children; deeper nesting and cycles are 400', async () => {
    const p = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'parent', agentIds: [ids['none-a']] },
      { token: operator },
    );
    expect(p.status).toBe(201);
    parent = p.body;
    const w = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'web', tagSelector: { tier: 'web' }, parentId: parent.id },
      { token: operator },
    );
    expect(w.status).toBe(201);
    web = w.body;
    expect(web.parentId).toBe(parent.id);
    const got = await http.get<AgentGroupDetail>(`/api/v2/agent-groups/${parent.id}`, {
      token: viewer,
    });
    expect(got.body.children).toEqual([{ id: web.id, name: 'web' }]);
    expect(got.body.memberCount).toBe(3);
    const members = await http.get<AgentList>(`/api/v2/agents?group=${parent.id}`, {
      token: viewer,
    });
    expect(names(members.body.items)).toEqual(['eu-a', 'none-a', 'us-a']);

    const before = await t.sql(`SELECT id, parent_id FROM agent_groups ORDER BY id`);
    const bad = (b: unknown) =>
      http.post<{ message: string }>('/api/v2/agent-groups', b, { token: operator });
    const deeper = await bad({ name: 'too deep', parentId: web.id });
    expect(deeper.status).toBe(400);
    expect(deeper.body.message).toContain('one level');
    expect(
      (await bad({ name: 'x', parentId: '00000000-0000-4000-8000-000000000000' })).status,
    ).toBe(400);
    expect((await bad({ name: 'x', parentId: 'nope' })).status).toBe(400);
    const patch = (id: string, b: unknown) =>
      http.patch<{ message: string }>(`/api/v2/agent-groups/${id}`, b, { token: operator });
    // A cycle (parent under its own child) and a self-parent are refused.
    expect((await patch(parent.id, { parentId: web.id })).status).toBe(400);
    expect((await patch(web.id, { parentId: web.id })).status).toBe(400);
    // A group with children cannot get a parent (that would be two levels).
    const other = await bad({ name: 'other' });
    expect(other.status).toBe(201);
    const twoLevels = await patch(parent.id, {
      parentId: (other.body as unknown as AgentGroup).id,
    });
    expect(twoLevels.status).toBe(400);
    expect(twoLevels.body.message).toContain('child groups');
    expect(
      await t.sql(`SELECT id, parent_id FROM agent_groups WHERE name <> 'other' ORDER BY id`),
    ).toEqual(before);
    expect((await patch(web.id, { parentId: null })).status).toBe(200);
    expect((await patch(web.id, { parentId: parent.id })).status).toBe(200);
  });

  it('a group detail aggregates status and the members latest metrics', async () => {
    const g = await http.get<AgentGroupDetail>(`/api/v2/agent-groups/${parent.id}`, {
      token: viewer,
    });
    expect(g.status).toBe(200);
    const total = Object.values(g.body.statusCounts).reduce((s, n) => s + n, 0);
    expect(total).toBe(3);
    expect(g.body.metrics).toEqual([
      { metric: 'cpu_usage', agentCount: 3, avg: 43.333, min: 10, max: 70 },
    ]);
  });

  it('aggregates metrics by group (an agent counts in each of its groups)', async () => {
    const r = await http.get<AggregateResult>(
      '/api/v2/metrics/aggregate/1h?metric=cpu_usage&groupBy=group',
      { token: viewer },
    );
    expect(r.status).toBe(200);
    const byGroup = Object.fromEntries(r.body.groups.map((g) => [g.key, [g.agentCount, g.value]]));
    expect(byGroup['(none)']).toEqual([1, 30]);
    expect(byGroup.web).toEqual([2, 30]);
    expect(byGroup.parent[0]).toBe(3);
    expect(byGroup.parent[1]).toBeCloseTo(130 / 3, 6);
    expect(byGroup.other).toBeUndefined(); // no members
  });

  it('deleting a parent leaves its children as top-level groups', async () => {
    expect(
      (await http.delete(`/api/v2/agent-groups/${parent.id}`, { token: operator })).status,
    ).toBe(204);
    const w = await http.get<AgentGroupDetail>(`/api/v2/agent-groups/${web.id}`, {
      token: viewer,
    });
    expect(w.body.parentId).toBeNull();
    expect(w.body.memberCount).toBe(2);
  });
});
