import type { AgentDependencies, DependencyGraph } from '@agent-monitor/contracts';
import { createApiKey, createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('agent dependencies (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let operator: string;
  let viewer: string;
  const id: Record<string, string> = {};

  const edges = async () =>
    Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM agent_dependencies`))[0].n);
  const add = (from: string, to: string, token = operator) =>
    http.post<AgentDependencies & { message: string; details: { cycle: string[] } }>(
      `/api/v2/agents/${from}/dependencies`,
      { dependsOn: to },
      { token },
    );

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    const admin = await createApiKey(t, ['admin']);
    operator = (await createUser(t, 'operator')).token;
    viewer = (await createUser(t, 'viewer')).token;
    for (const name of ['web', 'api', 'db', 'cache']) {
      const r = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name, type: 'svc', host: 'h' },
        { token: admin },
      );
      id[name] = r.body.id;
    }
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('records edges both ways and serves the map', async () => {
    expect((await add(id.web, id.api)).status).toBe(201);
    expect((await add(id.api, id.db)).status).toBe(201);
    const r = await add(id.api, id.cache);
    expect(r.body.dependsOn.map((d) => d.name)).toEqual(['cache', 'db']);
    expect((await add(id.api, id.db)).status).toBe(201); // same edge again: no change
    expect(await edges()).toBe(3);
    const db = await http.get<AgentDependencies>(`/api/v2/agents/${id.db}/dependencies`, {
      token: viewer,
    });
    expect(db.body).toMatchObject({ dependsOn: [], dependents: [{ name: 'api' }] });
    const g = await http.get<DependencyGraph>('/api/v2/dependencies', { token: viewer });
    expect(g.body.nodes.map((n) => n.name)).toEqual(['api', 'cache', 'db', 'web']);
    expect(g.body.edges).toHaveLength(3);
  });

  it('refuses a cycle with 400 naming it, and self-dependencies', async () => {
    const r = await add(id.db, id.web);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('db → web → api → db');
    expect(r.body.details.cycle).toEqual([id.db, id.web, id.api, id.db]);
    const two = await add(id.db, id.api);
    expect(two.status).toBe(400);
    expect(two.body.message).toContain('db → api → db');
    expect((await add(id.web, id.web)).status).toBe(400);
    expect(await edges()).toBe(3);
  });

  it('refuses viewers, bad input and unknown agents; deletes', async () => {
    expect((await add(id.cache, id.db, viewer)).status).toBe(403);
    expect((await add(id.cache, 'nope')).status).toBe(400);
    expect(
      (await http.post(`/api/v2/agents/${id.cache}/dependencies`, {}, { token: operator })).status,
    ).toBe(400);
    expect((await add(id.cache, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await add('00000000-0000-4000-8000-000000000000', id.db)).status).toBe(404);
    expect(await edges()).toBe(3);
    const del = await http.delete(`/api/v2/agents/${id.api}/dependencies/${id.cache}`, {
      token: operator,
    });
    expect(del.status).toBe(204);
    expect(
      (await http.delete(`/api/v2/agents/${id.api}/dependencies/${id.cache}`, { token: operator }))
        .status,
    ).toBe(404);
    expect(await edges()).toBe(2);
    // With api → cache gone, cache → api is no longer a cycle.
    expect((await add(id.cache, id.api)).status).toBe(201);
  });
});
