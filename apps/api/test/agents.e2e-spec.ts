import type {
  AgentConfigResponse,
  AgentDetail,
  AgentList,
  HeartbeatResponse,
  RegisterAgentResponse,
} from '@agent-monitor/contracts';
import { AgentClient } from '@agent-monitor/agent-sdk';
import { createApiKey, createUser, waitFor, type TestUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const base = { name: 'web-1', type: 'web_server', host: 'h1.local', port: 8080 };

describe('agents registry (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let regKey: string;
  let readKey: string;
  let metricsKey: string;
  let viewer: TestUser;
  let operator: TestUser;
  const auth = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    regKey = await createApiKey(t, ['agents:register']);
    readKey = await createApiKey(t, ['read']);
    metricsKey = await createApiKey(t, ['metrics:write']);
    viewer = await createUser(t, 'viewer');
    operator = await createUser(t, 'operator');
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const count = async () =>
    Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM agents`))[0].n);

  describe('registration', () => {
    let first: RegisterAgentResponse;

    it('registers an agent with an agents:register key and returns its key and config', async () => {
      const r = await http.post<RegisterAgentResponse>(
        '/api/v2/agents/register',
        { ...base, tags: { team: 'core', region: 'eu' }, heartbeatIntervalSec: 10 },
        auth(regKey),
      );
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        id: expect.any(String),
        status: 'online',
        agentKey: expect.stringMatching(/^am_/),
        heartbeatIntervalSec: 10,
        config: {},
        created: true,
      });
      first = r.body;
      const [row] = await t.sql<{ status: string; port: number }>(
        `SELECT status, port FROM agents WHERE id = $1`,
        [first.id],
      );
      expect(row).toEqual({ status: 'online', port: 8080 });
      const keys = await t.sql<{ scopes: string[] }>(
        `SELECT scopes FROM api_keys WHERE agent_id = $1 AND revoked_at IS NULL`,
        [first.id],
      );
      expect(keys).toEqual([{ scopes: ['agents:write'] }]);
    });

    it('re-registering the same name+host keeps the id, issues a fresh key and revokes the old', async () => {
      const r = await http.post<RegisterAgentResponse>(
        '/api/v2/agents/register',
        { ...base, version: '2.0.0' },
        auth(regKey),
      );
      expect(r.status).toBe(201);
      expect(r.body.id).toBe(first.id);
      expect(r.body.created).toBe(false);
      expect(r.body.agentKey).not.toBe(first.agentKey);
      const old = await http.post(`/api/v2/agents/${first.id}/heartbeat`, {}, auth(first.agentKey));
      expect(old.status).toBe(401);
      const fresh = await http.post(
        `/api/v2/agents/${first.id}/heartbeat`,
        {},
        auth(r.body.agentKey),
      );
      expect(fresh.status).toBe(200);
      expect(await count()).toBe(1);
    });

    it('an operator user may register; a viewer may not', async () => {
      const ok = await http.post(
        '/api/v2/agents/register',
        { ...base, name: 'op-made' },
        {
          token: operator.token,
        },
      );
      expect(ok.status).toBe(201);
      const no = await http.post(
        '/api/v2/agents/register',
        { ...base, name: 'viewer-made' },
        {
          token: viewer.token,
        },
      );
      expect(no.status).toBe(403);
    });

    it.each([
      ['missing name', { type: 'x', host: 'h' }],
      ['empty name', { ...base, name: '' }],
      ['port out of range', { ...base, name: 'p', port: 70000 }],
      ['port not a number', { ...base, name: 'p', port: '80' }],
      ['interval too long', { ...base, name: 'p', heartbeatIntervalSec: 3601 }],
      ['metadata not an object', { ...base, name: 'p', metadata: [1, 2] }],
      ['oversized metadata', { ...base, name: 'p', metadata: { blob: 'x'.repeat(17 * 1024) } }],
      ['unknown field', { ...base, name: 'p', colour: 'red' }],
      ['bad tag', { ...base, name: 'p', tags: { 'bad key!': 'v' } }],
    ])('rejects %s with 400 and stores nothing', async (_label, body) => {
      const before = await count();
      const r = await http.post<{ statusCode: number; message: string }>(
        '/api/v2/agents/register',
        body,
        auth(regKey),
      );
      expect(r.status).toBe(400);
      expect(r.body.statusCode).toBe(400);
      expect(r.body.message).toBeTruthy();
      expect(await count()).toBe(before);
    });

    it('rejects malformed JSON with 400', async () => {
      const r = await http.request('POST', '/api/v2/agents/register', {
        raw: '{"name":',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${regKey}` },
      });
      expect(r.status).toBe(400);
    });

    it('refuses registration without credentials (401) or with the wrong scope (403)', async () => {
      expect((await http.post('/api/v2/agents/register', base)).status).toBe(401);
      expect((await http.post('/api/v2/agents/register', base, auth(readKey))).status).toBe(403);
      expect((await http.post('/api/v2/agents/register', base, auth(metricsKey))).status).toBe(403);
    });
  });

  describe('heartbeat', () => {
    let a: RegisterAgentResponse;
    let b: RegisterAgentResponse;

    beforeAll(async () => {
      a = (
        await http.post<RegisterAgentResponse>(
          '/api/v2/agents/register',
          { name: 'hb-a', type: 'llm_agent', host: 'hb', heartbeatIntervalSec: 30 },
          auth(regKey),
        )
      ).body;
      b = (
        await http.post<RegisterAgentResponse>(
          '/api/v2/agents/register',
          { name: 'hb-b', type: 'llm_agent', host: 'hb' },
          auth(regKey),
        )
      ).body;
    });

    it('stores the reported state and answers the config version', async () => {
      const r = await http.post<HeartbeatResponse>(
        `/api/v2/agents/${a.id}/heartbeat`,
        {
          status: 'busy',
          currentTask: 'refactor auth',
          branch: 'feat/x',
          uncommittedChanges: 3,
          uptimeSec: 120,
        },
        auth(a.agentKey),
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'online', configVersion: 0 });
      expect(r.body.config).toBeUndefined();
      const [row] = await t.sql(
        `SELECT reported_state, current_task, branch, uncommitted_changes, uptime_sec, last_heartbeat IS NOT NULL AS hb FROM agents WHERE id = $1`,
        [a.id],
      );
      expect(row).toEqual({
        reported_state: 'busy',
        current_task: 'refactor auth',
        branch: 'feat/x',
        uncommitted_changes: 3,
        uptime_sec: 120,
        hb: true,
      });
    });

    it('an agent key used for another agent is refused with 403', async () => {
      const r = await http.post(`/api/v2/agents/${b.id}/heartbeat`, {}, auth(a.agentKey));
      expect(r.status).toBe(403);
    });

    it('a metrics:write key may heartbeat for any agent; a read key may not', async () => {
      expect(
        (await http.post(`/api/v2/agents/${b.id}/heartbeat`, {}, auth(metricsKey))).status,
      ).toBe(200);
      expect((await http.post(`/api/v2/agents/${b.id}/heartbeat`, {}, auth(readKey))).status).toBe(
        403,
      );
    });

    it('rejects bad heartbeat bodies with 400 and unknown agents with 404', async () => {
      const bad = await http.post(
        `/api/v2/agents/${a.id}/heartbeat`,
        { status: 'sleepy' },
        auth(a.agentKey),
      );
      expect(bad.status).toBe(400);
      const neg = await http.post(
        `/api/v2/agents/${a.id}/heartbeat`,
        { uncommittedChanges: -1 },
        auth(a.agentKey),
      );
      expect(neg.status).toBe(400);
      const unknown = await http.post(
        `/api/v2/agents/00000000-0000-4000-8000-000000000000/heartbeat`,
        {},
        auth(metricsKey),
      );
      expect(unknown.status).toBe(404);
    });

    it('a self-reported error is a status of its own, recorded in the history', async () => {
      const r = await http.post<HeartbeatResponse>(
        `/api/v2/agents/${a.id}/heartbeat`,
        { status: 'error' },
        auth(a.agentKey),
      );
      expect(r.body.status).toBe('error');
      const back = await http.post<HeartbeatResponse>(
        `/api/v2/agents/${a.id}/heartbeat`,
        { status: 'idle' },
        auth(a.agentKey),
      );
      expect(back.body.status).toBe('online');
      const hist = await t.sql<{ previous_status: string; status: string; reason: string }>(
        `SELECT previous_status, status, reason FROM agent_status_history WHERE agent_id = $1 ORDER BY id`,
        [a.id],
      );
      expect(hist.slice(-2)).toEqual([
        { previous_status: 'online', status: 'error', reason: 'reported' },
        { previous_status: 'error', status: 'online', reason: 'heartbeat' },
      ]);
    });

    it('config: operator PUT bumps the version; the next heartbeat carries it until applied', async () => {
      const put = await http.put<AgentConfigResponse>(
        `/api/v2/agents/${a.id}/config`,
        { config: { logLevel: 'debug', sampleRate: 0.5 } },
        { token: operator.token },
      );
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({
        configVersion: 1,
        config: { logLevel: 'debug', sampleRate: 0.5 },
      });
      const hb = await http.post<HeartbeatResponse>(
        `/api/v2/agents/${a.id}/heartbeat`,
        {},
        auth(a.agentKey),
      );
      expect(hb.body).toMatchObject({
        configVersion: 1,
        config: { logLevel: 'debug', sampleRate: 0.5 },
      });
      const applied = await http.post<HeartbeatResponse>(
        `/api/v2/agents/${a.id}/heartbeat`,
        { appliedConfigVersion: 1 },
        auth(a.agentKey),
      );
      expect(applied.body.config).toBeUndefined();
      const stale = await http.put(
        `/api/v2/agents/${a.id}/config`,
        { config: {}, expectedVersion: 0 },
        { token: operator.token },
      );
      expect(stale.status).toBe(409);
      expect(
        (await http.put(`/api/v2/agents/${a.id}/config`, { config: {} }, { token: viewer.token }))
          .status,
      ).toBe(403);
      expect(
        (
          await http.put(
            `/api/v2/agents/${a.id}/config`,
            { config: 'x' },
            { token: operator.token },
          )
        ).status,
      ).toBe(400);
      const get = await http.get<AgentConfigResponse>(`/api/v2/agents/${a.id}/config`, {
        token: operator.token,
      });
      expect(get.body.configVersion).toBe(1);
      const audit = await t.sql(
        `SELECT 1 FROM audit_logs WHERE action = 'agent.config.update' AND resource_id = $1`,
        [a.id],
      );
      expect(audit).toHaveLength(1);
    });
  });

  describe('listing, detail, update and delete', () => {
    beforeAll(async () => {
      const mk = (name: string, type: string, environment: string, tags: Record<string, string>) =>
        http.post(
          '/api/v2/agents/register',
          { name, type, host: `${name}.lan`, environment, tags },
          auth(regKey),
        );
      await mk('list-db-1', 'db_monitor', 'prod', { team: 'data' });
      await mk('list-db-2', 'db_monitor', 'staging', { team: 'data', tier: 'gold' });
      await mk('list-cache-1', 'cache_monitor', 'prod', { team: 'platform' });
    });

    it('filters by type, environment, tag (repeatable) and q, with counts per status', async () => {
      const byType = await http.get<AgentList>('/api/v2/agents?type=db_monitor', {
        token: viewer.token,
      });
      expect(byType.status).toBe(200);
      expect(byType.body.items.map((a) => a.name)).toEqual(['list-db-1', 'list-db-2']);
      expect(byType.body.statusCounts.online).toBe(2);
      const byEnv = await http.get<AgentList>(
        '/api/v2/agents?environment=prod&q=list-',
        auth(readKey),
      );
      expect(byEnv.body.items.map((a) => a.name).sort()).toEqual(['list-cache-1', 'list-db-1']);
      const byTags = await http.get<AgentList>('/api/v2/agents?tag=team:data&tag=tier:gold', {
        token: viewer.token,
      });
      expect(byTags.body.items.map((a) => a.name)).toEqual(['list-db-2']);
      expect(byTags.body.items[0].tags).toEqual({ team: 'data', tier: 'gold' });
      const byQ = await http.get<AgentList>('/api/v2/agents?q=CACHE', { token: viewer.token });
      expect(byQ.body.items.map((a) => a.name)).toEqual(['list-cache-1']);
      const byStatus = await http.get<AgentList>('/api/v2/agents?status=offline', {
        token: viewer.token,
      });
      expect(byStatus.body.total).toBe(0);
      expect(byStatus.body.statusCounts.online).toBeGreaterThan(0);
    });

    it('sorts and paginates', async () => {
      const p1 = await http.get<AgentList>('/api/v2/agents?q=list-&sort=-name&limit=2&page=1', {
        token: viewer.token,
      });
      expect(p1.body).toMatchObject({ total: 3, page: 1, limit: 2 });
      expect(p1.body.items.map((a) => a.name)).toEqual(['list-db-2', 'list-db-1']);
      const p2 = await http.get<AgentList>('/api/v2/agents?q=list-&sort=-name&limit=2&page=2', {
        token: viewer.token,
      });
      expect(p2.body.items.map((a) => a.name)).toEqual(['list-cache-1']);
    });

    it('rejects bad list queries with 400', async () => {
      for (const q of ['limit=0', 'limit=501', 'page=-1', 'status=sleepy', 'sort=password']) {
        const r = await http.get(`/api/v2/agents?${q}`, { token: viewer.token });
        expect([q, r.status]).toEqual([q, 400]);
      }
      expect((await http.get('/api/v2/agents')).status).toBe(401);
      expect((await http.get('/api/v2/agents', auth(regKey))).status).toBe(403);
    });

    it('detail has metadata, tags, config; PATCH edits tags (operator+), viewers get 403', async () => {
      const list = await http.get<AgentList>('/api/v2/agents?q=list-db-1', { token: viewer.token });
      const id = list.body.items[0].id;
      const d = await http.get<AgentDetail>(`/api/v2/agents/${id}`, { token: viewer.token });
      expect(d.status).toBe(200);
      expect(d.body).toMatchObject({
        id,
        name: 'list-db-1',
        metadata: {},
        config: {},
        tags: { team: 'data' },
        groups: [],
      });
      const denied = await http.patch(
        `/api/v2/agents/${id}`,
        { tags: { x: '1' } },
        { token: viewer.token },
      );
      expect(denied.status).toBe(403);
      const p = await http.patch<AgentDetail>(
        `/api/v2/agents/${id}`,
        {
          tags: { team: 'data', owner: 'alice' },
          heartbeatIntervalSec: 60,
          metadata: { rack: 'r1' },
        },
        { token: operator.token },
      );
      expect(p.status).toBe(200);
      expect(p.body).toMatchObject({
        tags: { team: 'data', owner: 'alice' },
        heartbeatIntervalSec: 60,
        metadata: { rack: 'r1' },
      });
      expect((await http.patch(`/api/v2/agents/${id}`, {}, { token: operator.token })).status).toBe(
        400,
      );
      expect(
        (
          await http.patch(
            `/api/v2/agents/${id}`,
            { heartbeatIntervalSec: 0 },
            { token: operator.token },
          )
        ).status,
      ).toBe(400);
      expect((await http.get('/api/v2/agents/not-a-uuid', { token: viewer.token })).status).toBe(
        404,
      );
    });

    it('DELETE (operator) hides the agent, keeps its history and frees name+host', async () => {
      const reg = await http.post<RegisterAgentResponse>(
        '/api/v2/agents/register',
        { name: 'doomed', type: 'x', host: 'd' },
        auth(regKey),
      );
      const id = reg.body.id;
      expect((await http.delete(`/api/v2/agents/${id}`, { token: viewer.token })).status).toBe(403);
      expect((await http.delete(`/api/v2/agents/${id}`, { token: operator.token })).status).toBe(
        204,
      );
      expect((await http.get(`/api/v2/agents/${id}`, { token: viewer.token })).status).toBe(404);
      const hist = await t.sql(
        `SELECT reason FROM agent_status_history WHERE agent_id = $1 ORDER BY id`,
        [id],
      );
      expect(hist).toEqual([{ reason: 'registered' }, { reason: 'deleted' }]);
      expect(
        (await http.post(`/api/v2/agents/${id}/heartbeat`, {}, auth(reg.body.agentKey))).status,
      ).toBe(401);
      // A key that may write for any agent gets 404, and the deleted row is not touched.
      const [before] = await t.sql<{ last_heartbeat: Date | null; status: string }>(
        `SELECT last_heartbeat, status FROM agents WHERE id = $1`,
        [id],
      );
      expect((await http.post(`/api/v2/agents/${id}/heartbeat`, {}, auth(metricsKey))).status).toBe(
        404,
      );
      expect(await t.sql(`SELECT last_heartbeat, status FROM agents WHERE id = $1`, [id])).toEqual([
        before,
      ]);
      const again = await http.post<RegisterAgentResponse>(
        '/api/v2/agents/register',
        { name: 'doomed', type: 'x', host: 'd' },
        auth(regKey),
      );
      expect(again.body.id).not.toBe(id);
    });
  });

  describe('v1 compatibility', () => {
    it('POST /api/v1/agents/register accepts the original body and is idempotent', async () => {
      const body = {
        name: 'legacy',
        type: 'web_server',
        host: 'old.lan',
        port: 80,
        environment: 'prod',
        metadata: { os: 'linux' },
      };
      const r1 = await http.post<RegisterAgentResponse>(
        '/api/v1/agents/register',
        body,
        auth(regKey),
      );
      expect(r1.status).toBe(201);
      const r2 = await http.post<RegisterAgentResponse>(
        '/api/v1/agents/register',
        body,
        auth(regKey),
      );
      expect(r2.body.id).toBe(r1.body.id);
      expect(
        (await http.post('/api/v1/agents/register', { ...body, port: 0 }, auth(regKey))).status,
      ).toBe(400);
      expect((await http.post('/api/v1/agents/register', body, auth(readKey))).status).toBe(403);
    });

    it('GET /api/v1/agents answers {agents:[{id,name,status,host,port,last_heartbeat}]}', async () => {
      const r = await http.get<{ agents: Array<Record<string, unknown>> }>(
        '/api/v1/agents',
        auth(readKey),
      );
      expect(r.status).toBe(200);
      const legacy = r.body.agents.find((a) => a.name === 'legacy');
      expect(legacy).toEqual({
        id: expect.any(String),
        name: 'legacy',
        status: 'online',
        host: 'old.lan',
        port: 80,
        last_heartbeat: expect.any(String),
      });
      expect((await http.get('/api/v1/agents')).status).toBe(401);
    });
  });

  it('the agent SDK registers idempotently, heartbeats and receives config pushes', async () => {
    const applied: Array<{ version: number; config: Record<string, unknown> }> = [];
    const mk = () =>
      new AgentClient({
        baseUrl: t.baseUrl,
        registrationKey: regKey,
        agent: { name: 'sdk-agent', type: 'llm_agent', host: 'sdk.lan', heartbeatIntervalSec: 1 },
        state: () => ({ status: 'busy', currentTask: 'sdk test' }),
        onConfig: (config, version) => {
          applied.push({ version, config });
        },
      });
    const sdk = mk();
    await sdk.start();
    const id = sdk.agentId!;
    const put = await http.put(
      `/api/v2/agents/${id}/config`,
      { config: { mode: 'fast' } },
      { token: operator.token },
    );
    expect(put.status).toBe(200);
    await waitFor(() => applied.length === 1, 4000);
    expect(applied[0]).toEqual({ version: 1, config: { mode: 'fast' } });
    await waitFor(async () => {
      const [r] = await t.sql<{ applied_config_version: number }>(
        `SELECT applied_config_version FROM agents WHERE id = $1`,
        [id],
      );
      return r.applied_config_version === 1;
    }, 4000);
    await sdk.stop({ finalStatus: 'down' });
    const [row] = await t.sql<{ status: string; current_task: string }>(
      `SELECT status, current_task FROM agents WHERE id = $1`,
      [id],
    );
    expect(row).toEqual({ status: 'down', current_task: 'sdk test' });
    // A restarted agent registers again and keeps its id.
    const again = mk();
    await again.register();
    expect(again.agentId).toBe(id);
  });

  it('agents persist across an app restart', async () => {
    const before = await http.get<AgentList>('/api/v2/agents?limit=500', auth(readKey));
    await t.close();
    const t2 = await startTestApp({ databaseUrl: t.databaseUrl, dataDir: t.config.dataDir });
    try {
      const after = await client(t2.baseUrl).get<AgentList>(
        '/api/v2/agents?limit=500',
        auth(readKey),
      );
      expect(after.status).toBe(200);
      expect(after.body.items.map((a) => a.id).sort()).toEqual(
        before.body.items.map((a) => a.id).sort(),
      );
      expect(after.body.total).toBeGreaterThan(5);
    } finally {
      await t2.close();
    }
  });
});
