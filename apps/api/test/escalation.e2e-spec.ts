import { randomUUID } from 'node:crypto';
import type {
  AlertDetail,
  AlertInstance,
  AlertRule,
  CreateAlertRuleInput,
  CreateEscalationPolicyInput,
  EscalationPolicy,
  Page,
} from '@agent-monitor/contracts';
import { createDataSource } from '../src/database/data-source.js';
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

type Rx = Awaited<ReturnType<typeof receiver>>;
const events = (rx: Rx) => rx.received.map((r) => (r.body as { event: string }).event);

/**
 * Escalation policies over HTTP against real PostgreSQL: CRUD with validation, RBAC and audit;
 * rules referencing a policy (and the deprecated inline steps becoming one); an unacknowledged
 * firing alert walking the steps, ack stopping it, an expiring ack resuming it, repeats; the
 * migration moving inline steps into policies and back; and resolved notifications of one
 * group batched like firing ones.
 */
describe('escalation policies', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin, reader } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  async function webhook(url: string, name = `hook-${randomUUID().slice(0, 8)}`) {
    const r = await http.post<{ id: string }>(
      '/api/v2/notification-channels',
      { type: 'webhook', name, config: { url } },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return r.body.id;
  }

  async function createPolicy(body: CreateEscalationPolicyInput): Promise<EscalationPolicy> {
    const r = await http.post<EscalationPolicy>('/api/v2/escalation-policies', body, {
      headers: admin,
    });
    expect(r.status).toBe(201);
    return r.body;
  }

  async function createRule(body: CreateAlertRuleInput): Promise<AlertRule> {
    const r = await http.post<AlertRule>('/api/v2/alerts/rules', body, { headers: admin });
    expect(r.status).toBe(201);
    return r.body;
  }

  const firing = (ruleId: string, agentId: string) =>
    waitFor(async () => {
      const r = await http.get<Page<AlertInstance>>(
        `/api/v2/alerts?ruleId=${ruleId}&agentId=${agentId}&state=firing`,
        { headers: admin },
      );
      return r.body.items[0];
    }, 'firing alert');

  const policyCount = async () =>
    (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM escalation_policies`))[0].n;

  it('creates, reads, lists, updates and deletes a policy, with audit rows', async () => {
    const ch = await webhook('http://127.0.0.1:9/x');
    const p = await createPolicy({
      name: 'On-call',
      description: 'primary then secondary',
      steps: [
        { afterMinutes: 0, channelIds: [ch] },
        { afterMinutes: 15, channelIds: [ch] },
      ],
    });
    expect(p).toMatchObject({ name: 'On-call', repeatEveryMinutes: null, rules: [] });
    expect(p.steps).toHaveLength(2);

    const got = await http.get<EscalationPolicy>(`/api/v2/escalation-policies/${p.id}`, {
      headers: reader,
    });
    expect(got.status).toBe(200);
    expect(got.body.description).toBe('primary then secondary');
    const list = await http.get<Page<EscalationPolicy>>('/api/v2/escalation-policies?q=on-c', {
      headers: reader,
    });
    expect(list.status).toBe(200);
    expect(list.body.items.map((x) => x.id)).toContain(p.id);

    const upd = await http.patch<EscalationPolicy>(
      `/api/v2/escalation-policies/${p.id}`,
      { name: 'On-call v2', repeatEveryMinutes: 30 },
      { headers: admin },
    );
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ name: 'On-call v2', repeatEveryMinutes: 30 });
    expect(upd.body.steps).toHaveLength(2);

    expect(
      (await http.delete(`/api/v2/escalation-policies/${p.id}`, { headers: admin })).status,
    ).toBe(204);
    expect((await http.get(`/api/v2/escalation-policies/${p.id}`, { headers: admin })).status).toBe(
      404,
    );
    const audit = await t.sql<{ action: string }>(
      `SELECT action FROM audit_logs WHERE resource_type = 'escalation_policy' AND resource_id = $1 ORDER BY id`,
      [p.id],
    );
    expect(audit.map((a) => a.action)).toEqual([
      'escalation_policy.create',
      'escalation_policy.update',
      'escalation_policy.delete',
    ]);
  });

  it('answers bad input with 400 naming the field, 401/403/404/409, and writes nothing', async () => {
    const ch = await webhook('http://127.0.0.1:9/x');
    const existing = await createPolicy({
      name: 'Taken',
      steps: [{ afterMinutes: 0, channelIds: [ch] }],
    });
    const before = await policyCount();
    const cases: Array<[unknown, string]> = [
      [{ steps: [{ afterMinutes: 0, channelIds: [ch] }] }, 'name'],
      [{ name: 'x', steps: [] }, 'steps'],
      [{ name: 'x', steps: [{ afterMinutes: -1, channelIds: [ch] }] }, 'steps.0.afterMinutes'],
      [{ name: 'x', steps: [{ afterMinutes: 1, channelIds: [] }] }, 'steps.0.channelIds'],
      [{ name: 'x', steps: [{ afterMinutes: 1, channelIds: ['nope'] }] }, 'steps.0.channelIds'],
      [
        {
          name: 'x',
          steps: [
            { afterMinutes: 10, channelIds: [ch] },
            { afterMinutes: 5, channelIds: [ch] },
          ],
        },
        'steps',
      ],
      [
        { name: 'x', steps: [{ afterMinutes: 1, channelIds: [randomUUID()] }] },
        'steps.0.channelIds',
      ],
      [
        { name: 'x', steps: [{ afterMinutes: 1, channelIds: [ch] }], repeatEveryMinutes: 0 },
        'repeatEveryMinutes',
      ],
      [{ name: 'x', steps: [{ afterMinutes: 1, channelIds: [ch] }], extra: 1 }, ''],
    ];
    for (const [body, field] of cases) {
      const r = await http.post<{ message: string; details?: Array<{ field: string }> }>(
        '/api/v2/escalation-policies',
        body,
        { headers: admin },
      );
      expect(r.status).toBe(400);
      if (field) expect((r.body.details ?? []).some((d) => d.field.startsWith(field))).toBe(true);
    }
    const good = { name: 'x', steps: [{ afterMinutes: 1, channelIds: [ch] }] };
    expect((await http.post('/api/v2/escalation-policies', good)).status).toBe(401);
    expect((await http.post('/api/v2/escalation-policies', good, { headers: reader })).status).toBe(
      403,
    );
    expect(
      (
        await http.patch(
          `/api/v2/escalation-policies/${existing.id}`,
          { name: 'y' },
          { headers: reader },
        )
      ).status,
    ).toBe(403);
    expect(
      (await http.delete(`/api/v2/escalation-policies/${existing.id}`, { headers: reader })).status,
    ).toBe(403);
    expect((await http.get('/api/v2/escalation-policies')).status).toBe(401);
    const dup = await http.post<{ message: string }>(
      '/api/v2/escalation-policies',
      { ...good, name: 'taken' },
      { headers: admin },
    );
    expect(dup.status).toBe(409);
    expect(dup.body.message).toContain('taken');
    expect(
      (await http.get(`/api/v2/escalation-policies/${randomUUID()}`, { headers: admin })).status,
    ).toBe(404);
    expect(
      (
        await http.patch(
          `/api/v2/escalation-policies/${randomUUID()}`,
          { name: 'z' },
          { headers: admin },
        )
      ).status,
    ).toBe(404);
    expect(
      (await http.delete(`/api/v2/escalation-policies/${randomUUID()}`, { headers: admin })).status,
    ).toBe(404);
    expect(
      (await http.get('/api/v2/escalation-policies/not-a-uuid', { headers: admin })).status,
    ).toBe(400);
    expect(
      (await http.patch(`/api/v2/escalation-policies/${existing.id}`, {}, { headers: admin }))
        .status,
    ).toBe(400);
    expect(await policyCount()).toBe(before);
    const unchanged = await http.get<EscalationPolicy>(
      `/api/v2/escalation-policies/${existing.id}`,
      { headers: admin },
    );
    expect(unchanged.body.name).toBe('Taken');
  });

  it('documents the routes in OpenAPI from the contract schemas', async () => {
    const r = await http.get<{
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<string, { schema: { properties?: Record<string, unknown> } }>;
            };
          }
        >
      >;
    }>('/api/v2/openapi.json');
    expect(r.status).toBe(200);
    const list = r.body.paths['/api/v2/escalation-policies'];
    const one = r.body.paths['/api/v2/escalation-policies/{id}'];
    expect(Object.keys(list).sort()).toEqual(['get', 'post']);
    expect(Object.keys(one).sort()).toEqual(['delete', 'get', 'patch']);
    const body = list.post.requestBody?.content['application/json'].schema.properties ?? {};
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['name', 'steps', 'repeatEveryMinutes']),
    );
  });

  it('rules reference a policy by id; deleting a policy in use is 409 naming the rules', async () => {
    const ch = await webhook('http://127.0.0.1:9/x');
    const p = await createPolicy({
      name: 'Shared',
      steps: [{ afterMinutes: 5, channelIds: [ch] }],
    });
    const cond = { kind: 'threshold', metric: 'm', op: '>', value: 1 } as const;
    const r1 = await createRule({
      name: 'uses shared A',
      condition: cond,
      escalationPolicyId: p.id,
    });
    const r2 = await createRule({
      name: 'uses shared B',
      condition: cond,
      escalationPolicyId: p.id,
    });
    expect(r1).toMatchObject({ escalationPolicyId: p.id, escalation: p.steps });

    const rulesBefore = (
      await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules`)
    )[0].n;
    const unknown = await http.post<{ details?: Array<{ field: string }> }>(
      '/api/v2/alerts/rules',
      { name: 'bad', condition: cond, escalationPolicyId: randomUUID() },
      { headers: admin },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.details?.[0].field).toBe('escalationPolicyId');
    const both = await http.post<{ details?: Array<{ field: string }> }>(
      '/api/v2/alerts/rules',
      {
        name: 'bad',
        condition: cond,
        escalationPolicyId: p.id,
        escalation: [{ afterMinutes: 1, channelIds: [ch] }],
      },
      { headers: admin },
    );
    expect(both.status).toBe(400);
    expect((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules`))[0].n).toBe(
      rulesBefore,
    );

    const listed = await http.get<EscalationPolicy>(`/api/v2/escalation-policies/${p.id}`, {
      headers: admin,
    });
    expect(listed.body.rules.map((r) => r.name)).toEqual(['uses shared A', 'uses shared B']);

    const del = await http.delete<{ message: string; details: { rules: Array<{ id: string }> } }>(
      `/api/v2/escalation-policies/${p.id}`,
      { headers: admin },
    );
    expect(del.status).toBe(409);
    expect(del.body.message).toContain('"uses shared A"');
    expect(del.body.message).toContain('"uses shared B"');
    expect(del.body.details.rules.map((r) => r.id).sort()).toEqual([r1.id, r2.id].sort());

    // A channel a policy step sends to cannot be deleted from under it either.
    const chDel = await http.delete<{ message: string }>(`/api/v2/notification-channels/${ch}`, {
      headers: admin,
    });
    expect(chDel.status).toBe(409);
    expect(chDel.body.message).toContain('"Shared"');

    // Unlink one rule (PATCH null), move the other; then the delete goes through.
    const u1 = await http.patch<AlertRule>(
      `/api/v2/alerts/rules/${r1.id}`,
      { escalationPolicyId: null },
      { headers: admin },
    );
    expect(u1.body).toMatchObject({ escalationPolicyId: null, escalation: [] });
    await http.delete(`/api/v2/alerts/rules/${r2.id}`, { headers: admin });
    expect(
      (await http.delete(`/api/v2/escalation-policies/${p.id}`, { headers: admin })).status,
    ).toBe(204);
  });

  it('inline steps (older clients) become a policy named after the rule', async () => {
    const ch = await webhook('http://127.0.0.1:9/x');
    const r = await createRule({
      name: 'legacy',
      condition: { kind: 'threshold', metric: 'm', op: '>', value: 1 },
      escalation: [{ afterMinutes: 3, channelIds: [ch] }],
    });
    expect(r.escalationPolicyId).toBeTruthy();
    expect(r.escalation).toEqual([{ afterMinutes: 3, channelIds: [ch] }]);
    const p = await http.get<EscalationPolicy>(
      `/api/v2/escalation-policies/${r.escalationPolicyId}`,
      { headers: admin },
    );
    expect(p.body).toMatchObject({ name: 'legacy escalation', rules: [{ id: r.id }] });
    const again = await createRule({
      name: 'legacy',
      condition: { kind: 'threshold', metric: 'm', op: '>', value: 1 },
      escalation: [{ afterMinutes: 4, channelIds: [ch] }],
    });
    const p2 = await http.get<EscalationPolicy>(
      `/api/v2/escalation-policies/${again.escalationPolicyId}`,
      { headers: admin },
    );
    expect(p2.body.name).toBe('legacy escalation (2)');
  });

  it('walks the steps while unacknowledged; ack stops it; an ack with expiry resumes it', async () => {
    const rx1 = await receiver();
    const rx2 = await receiver();
    try {
      const c1 = await webhook(rx1.url);
      const c2 = await webhook(rx2.url);
      // Steps at 0.6 s and 1.2 s after firing, then every 0.6 s (repeat).
      const p = await createPolicy({
        name: 'fast',
        steps: [
          { afterMinutes: 0.01, channelIds: [c1] },
          { afterMinutes: 0.02, channelIds: [c2] },
        ],
      });
      const agentId = randomUUID();
      const rule = await createRule({
        name: 'esc-walk',
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric: 'w', op: '>', value: 1 },
        escalationPolicyId: p.id,
      });
      ingest(t, [{ agentId, values: { w: 5 } }]);
      const a = await firing(rule.id, agentId);
      const firedAt = Date.parse(a.firedAt!);
      await waitFor(async () => rx1.received.length >= 1, 'step 1');
      expect(rx1.received[0].at - firedAt).toBeGreaterThanOrEqual(550);
      expect(events(rx1)).toEqual(['escalated']);
      await waitFor(async () => rx2.received.length >= 1, 'step 2');
      expect(rx2.received[0].at - firedAt).toBeGreaterThanOrEqual(1150);
      const body = rx2.received[0].body as { dedupKey: string; alerts: Array<{ id: string }> };
      expect(body.alerts[0].id).toBe(a.id);
      expect(body.dedupKey).toBe(`${a.id}:escalate:1:${c2}`);

      // No repeat configured: nothing more.
      await sleep(1500);
      expect(rx1.received).toHaveLength(1);
      expect(rx2.received).toHaveLength(1);

      // Now with a repeat every 0.6 s: an ack stops it, an ack expiring resumes it.
      // Repeats are at least a minute apart through the API; the suite shortens this one in SQL.
      const rep = await http.patch<EscalationPolicy>(
        `/api/v2/escalation-policies/${p.id}`,
        { repeatEveryMinutes: 1 },
        { headers: admin },
      );
      expect(rep.body.repeatEveryMinutes).toBe(1);
      await t.sql(`UPDATE escalation_policies SET repeat_every_minutes = 0.01 WHERE id = $1`, [
        p.id,
      ]);
      const b = randomUUID();
      await http.patch(
        `/api/v2/alerts/rules/${rule.id}`,
        { scope: { agentIds: [agentId, b] } },
        { headers: admin },
      );
      ingest(t, [{ agentId: b, values: { w: 5 } }]);
      const ab = await firing(rule.id, b);
      const forB = () =>
        rx2.received.filter(
          (r) => (r.body as { alerts: Array<{ id: string }> }).alerts[0].id === ab.id,
        );
      await waitFor(async () => forB().length >= 2, 'step 2 and one repeat', 8000);
      const ack2 = await http.post<AlertDetail>(
        `/api/v2/alerts/${ab.id}/ack`,
        { comment: 'looking', expiresInMinutes: 1 },
        { headers: admin },
      );
      expect(ack2.status).toBe(200);
      // The API's shortest ack expiry is a minute; the suite shortens this one to 3 s in SQL.
      await t.sql(
        `UPDATE alert_instances SET ack_expires_at = now() + interval '3 seconds' WHERE id = $1`,
        [ab.id],
      );
      await sleep(300);
      const atAck = forB().length;
      await sleep(2000);
      expect(forB()).toHaveLength(atAck); // acked: stopped
      await waitFor(async () => forB().length > atAck, 'resumed after the ack expired', 6000);
      const d = await http.get<AlertDetail>(`/api/v2/alerts/${ab.id}`, { headers: admin });
      const types = d.body.history.map((h) => h.type);
      expect(types).toContain('acknowledged');
      expect(types).toContain('ack_expired');
      expect(types.lastIndexOf('escalated')).toBeGreaterThan(types.indexOf('ack_expired'));
      expect(d.body.acknowledgedAt).toBeNull();
      expect(d.body.history.find((h) => h.type === 'ack_expired')?.comment).toContain(
        'key:test-admin-A',
      );

      // An ack without expiry stops it for good.
      await http.post(`/api/v2/alerts/${ab.id}/ack`, {}, { headers: admin });
      await sleep(300);
      const stopped = forB().length;
      await sleep(2000);
      expect(forB()).toHaveLength(stopped);
    } finally {
      await rx1.close();
      await rx2.close();
    }
  });

  it('batches resolutions of one group like firing ones: a leader at once, the rest in one', async () => {
    const rx = await receiver();
    try {
      const ch = await webhook(rx.url);
      const agents = [randomUUID(), randomUUID(), randomUUID()];
      const rule = await createRule({
        name: 'resolve-batch',
        channelIds: [ch],
        groupWindowSec: 1.5,
        scope: { agentIds: agents },
        condition: { kind: 'threshold', metric: 'rb', op: '>', value: 90 },
      });
      ingest(
        t,
        agents.map((agentId) => ({ agentId, values: { rb: 99 } })),
      );
      await waitFor(async () => rx.received.length >= 2, 'firing leader and batch', 8000);
      await sleep(1700); // past the window: nothing else belongs to this burst
      expect(events(rx)).toEqual(['firing', 'firing']);
      expect(events(rx)).toEqual(['firing', 'firing']);
      await sleep(200);
      const t0 = Date.now();
      ingest(
        t,
        agents.map((agentId) => ({ agentId, values: { rb: 1 } })),
      );
      await waitFor(async () => rx.received.length >= 4, 'resolved leader and batch', 8000);
      await sleep(2000); // nothing else arrives: 2 resolved notifications for 3 resolutions
      expect(rx.received).toHaveLength(4);
      const resolved = rx.received.slice(2);
      expect(events(rx).slice(2)).toEqual(['resolved', 'resolved']);
      expect(resolved[0].at - t0).toBeLessThan(1000);
      const alertsOf = (i: number) =>
        (resolved[i].body as { alerts: Array<{ agentId: string; state: string }> }).alerts;
      expect(alertsOf(0)).toHaveLength(1);
      expect(alertsOf(1)).toHaveLength(2);
      expect(alertsOf(1).every((x) => x.state === 'resolved')).toBe(true);
      expect([...alertsOf(0), ...alertsOf(1)].map((x) => x.agentId).sort()).toEqual(
        [...agents].sort(),
      );
      const rows = await t.sql<{ event: string; status: string }>(
        `SELECT event, status FROM notification_outbox o JOIN alert_instances i ON i.id = o.alert_id
          WHERE i.rule_id = $1 ORDER BY o.created_at`,
        [rule.id],
      );
      expect(rows.map((r) => r.event).sort()).toEqual([
        'firing',
        'firing_group',
        'resolved',
        'resolved_group',
      ]);
      expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    } finally {
      await rx.close();
    }
  });

  it('correlates one agent across rules: its alerts firing and resolving together go out as two notifications each', async () => {
    const rx = await receiver();
    try {
      const ch = await webhook(rx.url);
      const agentId = randomUUID();
      const rules: AlertRule[] = [];
      for (const metric of ['ca', 'cb', 'cc'])
        rules.push(
          await createRule({
            name: `correlate-${metric}`,
            channelIds: [ch],
            groupWindowSec: 1.5,
            scope: { agentIds: [agentId] },
            condition: { kind: 'threshold', metric, op: '>', value: 90 },
          }),
        );
      const t0 = Date.now();
      ingest(t, [{ agentId, values: { ca: 99, cb: 99, cc: 99 } }]);
      await waitFor(async () => rx.received.length >= 2, 'firing leader and batch', 8000);
      await sleep(1700); // past the window: nothing else belongs to this burst
      expect(events(rx)).toEqual(['firing', 'firing']);
      expect(rx.received[0].at - t0).toBeLessThan(1000);
      await sleep(200);
      ingest(t, [{ agentId, values: { ca: 1, cb: 1, cc: 1 } }]);
      await waitFor(async () => rx.received.length >= 4, 'resolved leader and batch', 8000);
      await sleep(2000);
      expect(rx.received).toHaveLength(4);
      expect(events(rx)).toEqual(['firing', 'firing', 'resolved', 'resolved']);
      const ruleIdsOf = (i: number) =>
        (rx.received[i].body as { alerts: Array<{ ruleId: string; agentId: string }> }).alerts.map(
          (a) => a.ruleId,
        );
      for (const [lead, batch] of [
        [0, 1],
        [2, 3],
      ]) {
        expect(ruleIdsOf(lead)).toHaveLength(1);
        expect(ruleIdsOf(batch)).toHaveLength(2);
        expect([...ruleIdsOf(lead), ...ruleIdsOf(batch)].sort()).toEqual(
          rules.map((r) => r.id).sort(),
        );
      }
    } finally {
      await rx.close();
    }
  });
});

describe('escalation with two API instances on one database', () => {
  it('sends each step once', async () => {
    const databaseUrl = await createTestDatabase();
    const env = { ...FAST_ALERTING_ENV, ENCRYPTION_KEY: 'k'.repeat(48) };
    const a = await startTestApp({ databaseUrl, env });
    const b = await startTestApp({ databaseUrl, env });
    const rx = await receiver();
    try {
      const admin = (await insertKey(a, ['admin'], 'C')).headers;
      const http = client(a.baseUrl);
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'two', config: { url: rx.url } },
        { headers: admin },
      );
      const p = await http.post<EscalationPolicy>(
        '/api/v2/escalation-policies',
        {
          name: 'two-instances',
          steps: [
            { afterMinutes: 0.005, channelIds: [ch.body.id] },
            { afterMinutes: 0.01, channelIds: [ch.body.id] },
            { afterMinutes: 0.015, channelIds: [ch.body.id] },
          ],
        },
        { headers: admin },
      );
      const agentId = randomUUID();
      const rule = await http.post<AlertRule>(
        '/api/v2/alerts/rules',
        {
          name: 'two',
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'x2', op: '>', value: 1 },
          escalationPolicyId: p.body.id,
        },
        { headers: admin },
      );
      expect(rule.status).toBe(201);
      ingest(a, [{ agentId, values: { x2: 5 } }]);
      await waitFor(async () => rx.received.length >= 3, 'three steps', 8000);
      await sleep(2000); // both instances keep ticking: nothing is sent twice
      expect(events(rx)).toEqual(['escalated', 'escalated', 'escalated']);
      const keys = rx.received.map((r) => (r.body as { dedupKey: string }).dedupKey);
      expect(new Set(keys).size).toBe(3);
      const tr = await a.sql<{ comment: string }>(
        `SELECT comment FROM alert_transitions WHERE type = 'escalated' ORDER BY id`,
      );
      expect(tr.map((x) => x.comment)).toEqual(['step 1', 'step 2', 'step 3']);
    } finally {
      await rx.close();
      await a.close();
      await b.close();
      await dropTestDatabase(databaseUrl);
    }
  });
});

describe('escalation policy migration', () => {
  it('moves inline steps of existing rules into policies, and back on revert', async () => {
    const url = await createTestDatabase();
    const ds = createDataSource({ url, poolSize: 2 });
    await ds.initialize();
    // Undo migrations (newest first) until this one is reverted, whatever came after it.
    const revertPolicies = async () => {
      for (;;) {
        const [r] = (await ds.query(
          `SELECT to_regclass('escalation_policies') IS NOT NULL AS present`,
        )) as Array<{ present: boolean }>;
        if (!r.present) return;
        await ds.undoLastMigration({ transaction: 'each' });
      }
    };
    try {
      await ds.runMigrations({ transaction: 'each' });
      await revertPolicies(); // back to inline steps
      const ch = randomUUID();
      const steps = [{ afterMinutes: 5, channelIds: [ch] }];
      const [withSteps] = (await ds.query(
        `INSERT INTO alert_rules (name, severity, condition, summary_template, escalation)
         VALUES ('cpu', 'warning', '{}', 's', $1), ('CPU', 'warning', '{}', 's', $1),
                ('quiet', 'warning', '{}', 's', '[]') RETURNING id`,
        [JSON.stringify(steps)],
      )) as Array<{ id: string }>;
      await ds.runMigrations({ transaction: 'each' });
      const rules = (await ds.query(
        `SELECT r.name, r.escalation_policy_id, p.name AS policy, p.steps FROM alert_rules r
           LEFT JOIN escalation_policies p ON p.id = r.escalation_policy_id ORDER BY r.created_at, r.id`,
      )) as Array<{
        name: string;
        escalation_policy_id: string | null;
        policy: string | null;
        steps: unknown;
      }>;
      const byName = new Map(rules.map((r) => [r.name, r]));
      expect(byName.get('quiet')?.escalation_policy_id).toBeNull();
      expect(byName.get('cpu')?.steps).toEqual(steps);
      expect(byName.get('CPU')?.steps).toEqual(steps);
      expect(
        [byName.get('cpu')?.policy, byName.get('CPU')?.policy].map((n) => n?.toLowerCase()).sort(),
      ).toEqual(['cpu escalation', 'cpu escalation (2)']);
      expect(rules.some((r) => r.escalation_policy_id === withSteps.id)).toBe(true);

      await revertPolicies();
      const back = (await ds.query(
        `SELECT name, escalation FROM alert_rules WHERE name IN ('cpu', 'CPU', 'quiet') ORDER BY name`,
      )) as Array<{
        name: string;
        escalation: unknown;
      }>;
      expect(back).toEqual([
        { name: 'CPU', escalation: steps },
        { name: 'cpu', escalation: steps },
        { name: 'quiet', escalation: [] },
      ]);
    } finally {
      await ds.destroy();
      await dropTestDatabase(url);
    }
  });
});
