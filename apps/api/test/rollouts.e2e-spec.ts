import type { AgentGroup, PutGroupConfigResponse, Rollout } from '@agent-monitor/contracts';
import { createApiKey, createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** A simulated agent: heartbeats, applies whatever config it is handed and echoes its version. */
interface SimAgent {
  id: string;
  name: string;
  key: string;
  applied: number;
  config: Record<string, unknown>;
  status?: 'error';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('group config rollouts over 20 simulated agents (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let operator: string;
  let viewer: string;
  let group: AgentGroup;
  const fleet: SimAgent[] = [];

  async function heartbeat(a: SimAgent): Promise<void> {
    const r = await http.post<{ configVersion: number; config?: Record<string, unknown> }>(
      `/api/v2/agents/${a.id}/heartbeat`,
      { appliedConfigVersion: a.applied, ...(a.status ? { status: a.status } : {}) },
      { token: a.key },
    );
    expect(r.status).toBe(200);
    if (r.body.config) {
      a.config = r.body.config;
      a.applied = r.body.configVersion;
    }
  }

  const beatAll = () => Promise.all(fleet.map(heartbeat));

  const getRollout = async (id: string) =>
    (await http.get<Rollout>(`/api/v2/rollouts/${id}`, { token: viewer })).body;

  /** Heartbeats the fleet until `done(rollout)` or the deadline; returns every state seen. */
  async function runUntil(
    id: string,
    done: (r: Rollout) => boolean,
    onTick?: (r: Rollout) => void | Promise<void>,
    timeoutMs = 20_000,
  ): Promise<Rollout[]> {
    const seen: Rollout[] = [];
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await beatAll();
      const r = await getRollout(id);
      seen.push(r);
      await onTick?.(r);
      if (done(r)) return seen;
      await sleep(80);
    }
    throw new Error(`rollout ${id} did not finish: ${JSON.stringify(seen.at(-1)?.counts)}`);
  }

  /** An agent of the second batch once that batch is out, else undefined. */
  function secondBatchAgent(r: Rollout): SimAgent | undefined {
    if (r.currentBatch !== 1 || !r.agents.some((a) => a.batch === 1 && a.state !== 'pending'))
      return undefined;
    const target = r.agents.find((a) => a.batch === 1)!;
    return fleet.find((a) => a.id === target.agentId)!;
  }

  const putConfig = (body: unknown, token = operator) =>
    http.put<PutGroupConfigResponse & { message?: string }>(
      `/api/v2/agent-groups/${group.id}/config`,
      body,
      { token },
    );

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await createApiKey(t, ['admin']);
    operator = (await createUser(t, 'operator')).token;
    viewer = (await createUser(t, 'viewer')).token;
    for (let i = 0; i < 20; i++) {
      const name = `sim-${String(i).padStart(2, '0')}`;
      const r = await http.post<{ id: string; agentKey: string; configVersion: number }>(
        '/api/v2/agents/register',
        { name, type: 'web_server', host: 'sim', tags: { fleet: 'sim' } },
        { token: admin },
      );
      expect(r.status).toBe(201);
      fleet.push({
        id: r.body.id,
        name,
        key: r.body.agentKey,
        applied: r.body.configVersion,
        config: {},
      });
    }
    // Every agent has its own setting the rollouts must keep.
    for (const a of fleet) {
      await http.put(
        `/api/v2/agents/${a.id}/config`,
        { config: { own: a.name } },
        { token: admin },
      );
    }
    await beatAll();
    const g = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'sim fleet', tagSelector: { fleet: 'sim' } },
      { token: operator },
    );
    group = g.body;
    expect(group.memberCount).toBe(20);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('refuses viewers, bad input and empty groups, writing nothing', async () => {
    const ok = { config: { logLevel: 'debug' } };
    expect((await putConfig(ok, viewer)).status).toBe(403);
    expect((await putConfig({ config: 'x' })).status).toBe(400);
    expect((await putConfig({ ...ok, strategy: 'yolo' })).status).toBe(400);
    expect((await putConfig({ ...ok, canaryPercent: 10 })).status).toBe(400);
    expect((await putConfig({ ...ok, strategy: 'staged', batchSize: 0 })).status).toBe(400);
    const empty = await http.post<AgentGroup>(
      '/api/v2/agent-groups',
      { name: 'empty', tagSelector: { fleet: 'none' } },
      { token: operator },
    );
    const r = await http.put(`/api/v2/agent-groups/${empty.body.id}/config`, ok, {
      token: operator,
    });
    expect(r.status).toBe(422);
    expect(
      (
        await http.put(`/api/v2/agent-groups/00000000-0000-4000-8000-000000000000/config`, ok, {
          token: operator,
        })
      ).status,
    ).toBe(404);
    expect(
      Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM group_configs`))[0].n),
    ).toBe(0);
    expect(Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM rollouts`))[0].n)).toBe(0);
  });

  it('a staged rollout proceeds batch by batch: canary, then batches after acks and a healthy pause', async () => {
    const res = await putConfig({
      config: { logLevel: 'debug', sampleRate: 0.5 },
      strategy: 'staged',
      canaryPercent: 10,
      batchSize: 6,
      pauseSec: 0.3,
      ackTimeoutSec: 30,
    });
    expect(res.status).toBe(201);
    expect(res.body.config).toMatchObject({
      version: 1,
      diff: { added: ['logLevel', 'sampleRate'], removed: [], changed: [] },
    });
    const first = res.body.rollout;
    expect(first).toMatchObject({ state: 'running', batchCount: 4, currentBatch: 0 });
    expect(first.counts).toMatchObject({ pushed: 2, pending: 18 });

    // A second config while this one runs is refused.
    expect((await putConfig({ config: { x: 1 } })).status).toBe(409);

    const batchOf = new Map(first.agents.map((a) => [a.agentId, a.batch]));
    const violations: string[] = [];
    const seen = await runUntil(
      first.id,
      (r) => r.state === 'completed',
      (r) => {
        // No agent of a later batch is pushed while an earlier batch is still running.
        for (const a of r.agents) {
          if (a.state !== 'pending' && a.batch > r.currentBatch) {
            violations.push(`${a.name} in batch ${a.batch} pushed during batch ${r.currentBatch}`);
          }
        }
      },
    );
    expect(violations).toEqual([]);
    const batchesSeen = [...new Set(seen.map((r) => r.currentBatch))];
    expect(batchesSeen).toEqual(expect.arrayContaining([0, 1, 2, 3]));
    const done = seen.at(-1)!;
    expect(done.counts.acked).toBe(20);
    // Each batch was pushed only after the previous one acked and stayed healthy for the pause.
    for (let b = 1; b < 4; b++) {
      const prevAcks = done.agents
        .filter((a) => a.batch === b - 1)
        .map((a) => Date.parse(a.ackedAt!));
      const pushes = done.agents.filter((a) => a.batch === b).map((a) => Date.parse(a.pushedAt!));
      expect(Math.min(...pushes)).toBeGreaterThanOrEqual(Math.max(...prevAcks) + 300);
    }
    await beatAll();
    for (const a of fleet) {
      expect(a.config).toEqual({ own: a.name, logLevel: 'debug', sampleRate: 0.5 });
      expect(batchOf.has(a.id)).toBe(true);
    }
  });

  it('an agent going unhealthy in a batch stops the rollout and rolls every updated agent back', async () => {
    const res = await putConfig({
      config: { logLevel: 'info' },
      strategy: 'staged',
      canaryPercent: 10,
      batchSize: 6,
      pauseSec: 0.5,
      ackTimeoutSec: 30,
    });
    expect(res.status).toBe(201);
    expect(res.body.config.diff).toEqual({
      added: [],
      removed: ['sampleRate'],
      changed: ['logLevel'],
    });
    const id = res.body.rollout.id;
    let victim: SimAgent | undefined;
    const seen = await runUntil(
      id,
      (r) => r.state !== 'running',
      (r) => {
        // As soon as the second batch is out, one of its agents reports an error.
        if (!victim && (victim = secondBatchAgent(r))) victim.status = 'error';
      },
    );
    const end = seen.at(-1)!;
    expect(victim).toBeDefined();
    expect(end.state).toBe('rolled_back');
    expect(end.reason).toContain(victim!.name);
    expect(end.reason).toContain('error');
    expect(end.counts.rolled_back).toBe(8); // canary (2) + batch 2 (6)
    expect(end.counts.pending).toBe(12);
    victim!.status = undefined;
    await beatAll();
    // Everyone is back on (or never left) version 1 of the group config, own keys intact.
    for (const a of fleet) {
      expect(a.config).toEqual({ own: a.name, logLevel: 'debug', sampleRate: 0.5 });
    }
  });

  it('pause holds a rollout, resume continues it, abort restores the previous config', async () => {
    const res = await putConfig({
      config: { logLevel: 'warn', sampleRate: 0.5 },
      strategy: 'staged',
      batchSize: 5,
      pauseSec: 0.2,
      ackTimeoutSec: 30,
    });
    expect(res.status).toBe(201);
    const id = res.body.rollout.id;
    expect(res.body.rollout.batchCount).toBe(4);
    const paused = await http.post<Rollout>(
      `/api/v2/rollouts/${id}/pause`,
      {},
      { token: operator },
    );
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    expect((await http.post(`/api/v2/rollouts/${id}/pause`, {}, { token: operator })).status).toBe(
      409,
    );
    expect((await http.post(`/api/v2/rollouts/${id}/resume`, {}, { token: viewer })).status).toBe(
      403,
    );
    // While paused, acks arrive but the next batch does not start.
    for (let i = 0; i < 8; i++) {
      await beatAll();
      await sleep(100);
    }
    let r = await getRollout(id);
    expect(r).toMatchObject({ state: 'paused', currentBatch: 0 });
    expect(r.counts.pending).toBe(15);

    const resumed = await http.post<Rollout>(
      `/api/v2/rollouts/${id}/resume`,
      {},
      { token: operator },
    );
    expect(resumed.body.state).toBe('running');
    await runUntil(id, (x) => x.currentBatch >= 2);
    const aborted = await http.post<Rollout>(
      `/api/v2/rollouts/${id}/abort`,
      {},
      { token: operator },
    );
    expect(aborted.status).toBe(200);
    expect(aborted.body.state).toBe('aborted');
    expect(aborted.body.reason).toBe('aborted by hand');
    expect(aborted.body.counts.pending + aborted.body.counts.rolled_back).toBe(20);
    expect(aborted.body.counts.rolled_back).toBeGreaterThanOrEqual(10);
    expect((await http.post(`/api/v2/rollouts/${id}/abort`, {}, { token: operator })).status).toBe(
      409,
    );
    await beatAll();
    for (const a of fleet) {
      expect(a.config).toEqual({ own: a.name, logLevel: 'debug', sampleRate: 0.5 });
    }
    r = await getRollout(id);
    expect(r.state).toBe('aborted');

    const list = await http.get<{ items: Rollout[]; total: number }>(
      `/api/v2/rollouts?groupId=${group.id}`,
      { token: viewer },
    );
    expect(list.body.items.map((x) => x.state)).toEqual(['aborted', 'rolled_back', 'completed']);
    const audit = await t.sql<{ action: string }>(
      `SELECT action FROM audit_logs WHERE action LIKE 'rollout.%' ORDER BY id`,
    );
    expect(audit.map((a) => a.action)).toEqual([
      'rollout.pause',
      'rollout.resume',
      'rollout.abort',
    ]);
  });
  it("a batch whose agents' error_rate went up stops the rollout and rolls every updated agent back", async () => {
    const sample = async (a: SimAgent, v: number) => {
      const r = await http.post(
        `/api/v2/agents/${a.id}/metrics`,
        { metrics: { error_rate: v } },
        { token: a.key },
      );
      expect(r.status).toBeLessThan(300);
    };
    // Baseline: every agent at 1 % before the rollout.
    for (const a of fleet) await sample(a, 1);
    const res = await putConfig({
      config: { logLevel: 'error', sampleRate: 0.5 },
      strategy: 'staged',
      canaryPercent: 10,
      batchSize: 6,
      pauseSec: 1.5,
      ackTimeoutSec: 30,
    });
    expect(res.status).toBe(201);
    const id = res.body.rollout.id;
    // The canary batch reports a small rise (1 → 4 %: under the 5-point threshold) and passes.
    const canary = res.body.rollout.agents.filter((a) => a.batch === 0);
    for (const c of canary)
      await sample(
        fleet.find((a) => a.id === c.agentId)!,
        4,
      );
    let victim: SimAgent | undefined;
    const seen = await runUntil(
      id,
      (r) => r.state !== 'running',
      async (r) => {
        // As soon as the second batch is out, one of its agents' error rate jumps to 40 %.
        if (!victim && (victim = secondBatchAgent(r))) await sample(victim, 40);
      },
    );
    const r = seen.at(-1)!;
    expect(victim).toBeDefined();
    expect(r.state).toBe('rolled_back');
    expect(r.reason).toBe(`batch 2: agent ${victim!.name} error_rate rose from 1 to 40 %`);
    expect(r.counts.rolled_back).toBe(8); // canary (2) + batch 2 (6)
    await beatAll();
    for (const a of fleet) {
      expect(a.config).toEqual({ own: a.name, logLevel: 'debug', sampleRate: 0.5 });
    }
  });

  it('config pushes and rollbacks of the driver are audited as system:rollout, never anonymous', async () => {
    const rows = await t.sql<{
      actor_type: string;
      actor_id: string | null;
      actor_label: string | null;
      request_id: string;
    }>(
      `SELECT actor_type, actor_id, actor_label, request_id FROM audit_logs
        WHERE action = 'agent.config.update' AND request_id LIKE 'rollout:%'`,
    );
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) {
      expect(row).toMatchObject({ actor_type: 'system', actor_label: 'system:rollout' });
      expect(row.request_id).toBe(`rollout:${row.actor_id}`);
    }
    const anonymous = await t.sql<{ n: string }>(
      `SELECT count(*) AS n FROM audit_logs WHERE actor_type = 'anonymous'`,
    );
    expect(Number(anonymous[0].n)).toBe(0);
  });
});
