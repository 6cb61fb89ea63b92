import type { Agent, AgentDetail, AgentGroup, AgentList, Page } from '@agent-monitor/contracts';
import { createApiKey, createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('agent groups (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let operator: string;
  let viewer: string;
  const ids: Record<string, string> = {};

  async function register(name: string, tags: Record<string, string>): Promise<string> {
    const r = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name, type: 'web_server', host: 'h1', tags },
      { token: admin },
    );
    expect(r.status).toBe(201);
    return r.body.id;
  }

  const count = async (table: string) =>
    Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await createApiKey(t, ['admin']);
    operator = (await createUser(t, 'operator')).token;
    viewer = (await createUser(t, 'viewer')).token;
    ids.web1 = await register('web-1', { team: 'blue', region: 'eu' });
    ids.web2 = await register('web-2', { team: 'blue', region: 'us' });
    ids.web3 = await register('web-3', { team: 'red', region: 'eu' });
    ids.web4 = await register('web-4', {});
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const members = async (gid: string) =>
    (
      await http.get<Page<Agent>>(`/api/v2/agent-groups/${gid}/agents`, { token: viewer })
    ).body.items
      .map((a) => a.name)
      .sort();

  it('refuses viewers and bad input, writing nothing', async () => {
    const body = { name: 'blue', tagSelector: { team: 'blue' } };
    expect((await http.post('/api/v2/agent-groups', body)).status).toBe(401);
    expect((await http.post('/api/v2/agent-groups', body, { token: viewer })).status).toBe(403);
    const bad = async (b: unknown) =>
      http.post<{ message: string }>('/api/v2/agent-groups', b, { token: operator });
    expect((await bad({})).status).toBe(400);
    expect((await bad({ name: 42 })).status).toBe(400);
    expect((await bad({ name: 'x', tagSelector: { 'bad key': 'v' } })).status).toBe(400);
    expect((await bad({ name: 'x', agentIds: ['nope'] })).status).toBe(400);
    expect((await bad({ name: 'x'.repeat(121) })).status).toBe(400);
    const unknown = await bad({ name: 'x', agentIds: ['00000000-0000-4000-8000-000000000000'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/unknown agent/);
    expect(await count('agent_groups')).toBe(0);
    expect((await http.get('/api/v2/agent-groups/not-a-uuid', { token: viewer })).status).toBe(404);
  });

  it('membership by tag selector follows tag changes', async () => {
    const r = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'blue team', description: 'Blue', tagSelector: { team: 'blue' } },
      { token: operator },
    );
    expect(r.status).toBe(201);
    ids.blue = r.body.id;
    expect(r.body).toMatchObject({ memberCount: 2, tagSelector: { team: 'blue' }, agentIds: [] });
    expect(r.body.statusCounts.online).toBe(2);
    expect(await members(ids.blue)).toEqual(['web-1', 'web-2']);

    // web-3 changes team → joins; web-1 loses its tags → leaves.
    expect(
      (
        await http.patch(
          `/api/v2/agents/${ids.web3}`,
          { tags: { team: 'blue', region: 'eu' } },
          { token: admin },
        )
      ).status,
    ).toBe(200);
    await http.patch(`/api/v2/agents/${ids.web1}`, { tags: { region: 'eu' } }, { token: admin });
    expect(await members(ids.blue)).toEqual(['web-2', 'web-3']);

    // `*` matches any value of the key.
    const anyRegion = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'has region', tagSelector: { region: '*' } },
      { token: operator },
    );
    expect(anyRegion.body.memberCount).toBe(3);
  });

  it('combines explicit members with the selector; an agent may be in several groups', async () => {
    const r = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'mixed', agentIds: [ids.web4, ids.web2], tagSelector: { region: 'us' } },
      { token: operator },
    );
    expect(r.status).toBe(201);
    ids.mixed = r.body.id;
    expect(r.body.memberCount).toBe(2); // web-2 is both explicit and selected: counted once
    expect(await members(ids.mixed)).toEqual(['web-2', 'web-4']);

    const detail = await http.get<AgentDetail>(`/api/v2/agents/${ids.web2}`, { token: viewer });
    expect(detail.body.groups.map((g) => g.name)).toEqual(['blue team', 'has region', 'mixed']);

    const list = await http.get<AgentList>(`/api/v2/agents?group=${ids.mixed}`, {
      token: viewer,
    });
    expect(list.body.items.map((a) => a.name).sort()).toEqual(['web-2', 'web-4']);
    const junk = await http.get<AgentList>(`/api/v2/agents?group=junk`, { token: viewer });
    expect(junk.body.total).toBe(0);

    // PATCH replaces explicit members and can drop the selector.
    const upd = await http.patch<AgentGroup>(
      `/api/v2/agent-groups/${ids.mixed}`,
      { agentIds: [ids.web1], tagSelector: null },
      { token: operator },
    );
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ agentIds: [ids.web1], tagSelector: null, memberCount: 1 });
  });

  it('lists groups with aggregate status, refuses duplicate names, deletes', async () => {
    const dup = await http.post('/api/v2/agent-groups', { name: 'mixed' }, { token: operator });
    expect(dup.status).toBe(409);
    const list = await http.get<Page<AgentGroup>>('/api/v2/agent-groups', { token: viewer });
    expect(list.body.items.map((g) => g.name)).toEqual(['blue team', 'has region', 'mixed']);
    const readKey = await createApiKey(t, ['read']);
    expect((await http.get('/api/v2/agent-groups', { token: readKey })).status).toBe(200);

    expect((await http.delete(`/api/v2/agent-groups/${ids.mixed}`, { token: viewer })).status).toBe(
      403,
    );
    expect(
      (await http.delete(`/api/v2/agent-groups/${ids.mixed}`, { token: operator })).status,
    ).toBe(204);
    expect((await http.get(`/api/v2/agent-groups/${ids.mixed}`, { token: viewer })).status).toBe(
      404,
    );
    expect(await count('agent_group_members')).toBe(0);
    const audit = await t.sql<{ action: string }>(
      `SELECT action FROM audit_logs WHERE resource_type = 'agent_group' ORDER BY id`,
    );
    expect(audit.map((a) => a.action)).toEqual([
      'agent_group.create',
      'agent_group.create',
      'agent_group.create',
      'agent_group.update',
      'agent_group.delete',
    ]);
  });
});
