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
  ingest as publishSamples,
  receiver,
  registerAgent,
  sleep,
  waitFor,
  startKeyedApp,
  stopKeyedApp,
} from './support/alerting.js';
import { insertKey } from './support/root-key.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * The alert engine over real HTTP ingest and real agent status changes: one alert per series
 * label set (and label filters), rule scope by agent group, topology inhibition (group /
 * region unreachable, dependency "caused by"), the watchdog kind, and sliding windows seeded
 * from stored history after a restart.
 */
describe('alert engine: label sets, groups, topology, watchdog, restart', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  async function createRule(body: CreateAlertRuleInput): Promise<AlertRule> {
    const r = await http.post<AlertRule>('/api/v2/alerts/rules', body, { headers: admin });
    expect(r.status).toBe(201);
    return r.body;
  }

  const register = (name: string, extra: Record<string, unknown> = {}) =>
    registerAgent(http, admin, name, extra);

  /** Real ingest: POST /api/v2/metrics/batch, answered 2xx only after commit. */
  async function ingest(samples: Array<{ agentId: string; metrics: Record<string, number> }>) {
    const r = await http.post('/api/v2/metrics/batch', { samples }, { headers: admin });
    expect(r.status).toBeLessThan(300);
  }

  async function heartbeat(agentId: string, status?: 'down') {
    const r = await http.post(`/api/v2/agents/${agentId}/heartbeat`, status ? { status } : {}, {
      headers: admin,
    });
    expect(r.status).toBeLessThan(300);
  }

  async function alerts(query: string): Promise<AlertInstance[]> {
    const r = await http.get<Page<AlertInstance>>(`/api/v2/alerts?limit=100&${query}`, {
      headers: admin,
    });
    expect(r.status).toBe(200);
    return r.body.items;
  }
  const open = (ruleId: string) => alerts(`ruleId=${ruleId}&state=pending,firing`);

  it('opens one alert per label set of a labelled metric; a label filter narrows the rule', async () => {
    const agentId = await register('llm');
    const all = await createRule({
      name: 'slow inference',
      scope: { agentIds: [agentId] },
      condition: { kind: 'threshold', metric: 'ai_metrics.inference_time', op: '>', value: 100 },
      summaryTemplate: '{{labels.model}} slow: {{value}}',
    });
    const onlyGpt = await createRule({
      name: 'slow gpt4',
      scope: { agentIds: [agentId] },
      condition: {
        kind: 'threshold',
        metric: 'ai_metrics.inference_time{model=gpt4}',
        op: '>',
        value: 100,
      },
    });
    await ingest([
      {
        agentId,
        metrics: {
          'ai_metrics.inference_time{model=gpt4}': 250,
          'ai_metrics.inference_time{model=claude}': 300,
        },
      },
    ]);
    const both = await waitFor(async () => {
      const a = (await open(all.id)).filter((x) => x.state === 'firing');
      return a.length === 2 ? a : null;
    }, 'two label-set alerts');
    const byModel = new Map(both.map((a) => [a.labels.model, a]));
    expect(byModel.get('gpt4')).toMatchObject({ labelKey: 'model=gpt4', value: 250 });
    expect(byModel.get('claude')).toMatchObject({ labelKey: 'model=claude', value: 300 });
    expect(byModel.get('claude')!.summary).toBe('claude slow: 300');
    const gpt = await waitFor(async () => {
      const a = await open(onlyGpt.id);
      return a.length ? a : null;
    }, 'filtered alert');
    expect(gpt.map((a) => a.labels.model)).toEqual(['gpt4']);
    // One label set recovers: only its alert resolves.
    await ingest([{ agentId, metrics: { 'ai_metrics.inference_time{model=claude}': 50 } }]);
    await waitFor(async () => (await open(all.id)).length === 1, 'claude resolved');
    expect((await open(all.id))[0].labels.model).toBe('gpt4');
    await sleep(200);
    expect((await open(onlyGpt.id)).length).toBe(1);
  });

  it('scopes a rule by agent group, explicit and by tag selector, and follows tag changes', async () => {
    const inGroup = await register('g-explicit');
    const byTag = await register('g-tag', { tags: { tier: 'gold' } });
    const outside = await register('g-out');
    const g = await http.post<{ id: string }>(
      '/api/v2/agent-groups',
      { name: `gold-${Date.now()}`, agentIds: [inGroup], tagSelector: { tier: 'gold' } },
      { headers: admin },
    );
    expect(g.status).toBe(201);
    const rule = await createRule({
      name: 'group scoped',
      scope: { groupIds: [g.body.id] },
      condition: { kind: 'threshold', metric: 'queue_depth', op: '>', value: 10 },
    });
    await ingest(
      [inGroup, byTag, outside].map((agentId) => ({ agentId, metrics: { queue_depth: 50 } })),
    );
    const fired = await waitFor(async () => {
      const a = await open(rule.id);
      return a.length === 2 ? a : null;
    }, 'alerts of the two group members');
    expect(fired.map((a) => a.agentId).sort()).toEqual([inGroup, byTag].sort());
    await sleep(200);
    expect((await open(rule.id)).some((a) => a.agentId === outside)).toBe(false);
    // `outside` gets the tag: it joins the group dynamically (topology refresh ≤ 2 s).
    const patch = await http.patch(
      `/api/v2/agents/${outside}`,
      { tags: { tier: 'gold' } },
      { headers: admin },
    );
    expect(patch.status).toBe(200);
    await sleep(3000);
    await ingest([{ agentId: outside, metrics: { queue_depth: 60 } }]);
    await waitFor(
      async () => (await open(rule.id)).some((a) => a.agentId === outside),
      'tagged agent in scope',
    );
  });

  it('a watchdog rule fires at once and stays firing while enabled', async () => {
    const rule = await createRule({
      name: 'watchdog',
      condition: { kind: 'watchdog' },
      severity: 'info',
    });
    const a = await waitFor(async () => {
      const x = await open(rule.id);
      return x[0]?.state === 'firing' ? x[0] : null;
    }, 'watchdog firing');
    expect(a.agentId).toBeNull();
    await sleep(1000);
    const still = await open(rule.id);
    expect(still).toHaveLength(1);
    expect(still[0].id).toBe(a.id);
    // Disabled, it resolves.
    const off = await http.patch(
      `/api/v2/alerts/rules/${rule.id}`,
      { enabled: false },
      { headers: admin },
    );
    expect(off.status).toBe(200);
    await waitFor(async () => (await open(rule.id)).length === 0, 'watchdog resolved');
    // Nested in AND/OR it is refused.
    const bad = await http.post(
      '/api/v2/alerts/rules',
      { name: 'x', condition: { kind: 'or', conditions: [{ kind: 'watchdog' }] } },
      { headers: admin },
    );
    expect(bad.status).toBe(400);
  });

  it('group unreachable: one incident, members held back and linked, resolved on recovery', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'rack hook', config: { url: rx.url } },
        { headers: admin },
      );
      const ids = await Promise.all([1, 2, 3, 4].map((i) => register(`rack-${i}`)));
      const g = await http.post<{ id: string }>(
        '/api/v2/agent-groups',
        { name: `rack-${Date.now()}`, agentIds: ids },
        { headers: admin },
      );
      expect(g.status).toBe(201);
      await sleep(3000); // topology refresh: groups are read every 2 s
      const member = await createRule({
        name: 'member down',
        scope: { agentIds: ids },
        channelIds: [ch.body.id],
        groupWindowSec: 0,
        condition: { kind: 'agent_status', statuses: ['down'] },
      });
      const builtIn = (
        await http.get<Page<AlertRule>>('/api/v2/alerts/rules?q=Group%20unreachable', {
          headers: admin,
        })
      ).body.items[0];
      expect(builtIn.condition).toMatchObject({ kind: 'group_unreachable', fraction: 0.5 });
      // Two of four down is not "most": no incident, their alerts notify once the topology
      // hold (10 s) ends without one.
      const downAt = Date.now();
      await heartbeat(ids[0], 'down');
      await heartbeat(ids[1], 'down');
      await waitFor(async () => rx.received.length === 2, 'two member notifications', 15_000);
      expect(rx.received[0].at - downAt).toBeGreaterThanOrEqual(9_500);
      expect(await alerts(`ruleId=${builtIn.id}&state=firing`)).toHaveLength(0);
      // The third makes it "most": one incident; its member alert is held back from the start.
      await heartbeat(ids[2], 'down');
      const incident = await waitFor(async () => {
        const a = await alerts(`ruleId=${builtIn.id}&state=firing`);
        return a.find((x) => x.labels.group_id === g.body.id) ?? null;
      }, 'group unreachable incident');
      expect(incident.agentId).toBeNull();
      expect(incident.value).toBe(3);
      expect(incident.summary).toMatch(/^group rack-\d+ unreachable: 3 of 4 agents down$/);
      const held = await waitFor(async () => {
        const a = (await open(member.id)).filter((x) => x.state === 'firing' && x.suppressed);
        return a.length === 3 ? a : null;
      }, 'member alerts firing, held back');
      for (const a of held) expect(a.inhibitedBy).toBe(incident.id);
      // Shown together: the members are the incident's correlation group, though the built-in
      // rule notifies no channel here.
      for (const a of held) expect(a.correlationId).toBe(incident.id);
      const head = await http.get<AlertDetail>(`/api/v2/alerts/${incident.id}`, {
        headers: admin,
      });
      expect(head.body.correlationId).toBe(incident.id);
      expect([...head.body.correlatedWith].sort()).toEqual(held.map((a) => a.id).sort());
      const third = held.find((a) => a.agentId === ids[2])!;
      const detail = await http.get<AlertDetail>(`/api/v2/alerts/${third.id}`, {
        headers: admin,
      });
      expect(detail.body.history.map((h) => h.type)).toContain('inhibited');
      const rows = await t.sql<{ status: string }>(
        `SELECT status FROM notification_outbox WHERE alert_id = $1`,
        [third.id],
      );
      expect(rows.map((r) => r.status)).toEqual(['suppressed']);
      await sleep(500);
      expect(rx.received).toHaveLength(2);
      const notified = rx.received.flatMap(
        (r) => (r.body as { alerts: Array<{ agentId: string }> }).alerts,
      );
      expect(notified.map((a) => a.agentId)).not.toContain(ids[2]);
      // The group recovers: the incident resolves, and so do the members' alerts.
      await Promise.all(ids.slice(0, 3).map((id) => heartbeat(id)));
      await waitFor(
        async () => (await alerts(`ruleId=${builtIn.id}&state=firing`)).length === 0,
        'incident resolved',
      );
      await waitFor(async () => (await open(member.id)).length === 0, 'members resolved');
    } finally {
      await rx.close();
    }
  });

  it('a region (metadata.region) counts as a group for topology inhibition', async () => {
    const region = `eu-${Date.now()}`;
    const ids = await Promise.all(
      [1, 2, 3].map((i) => register(`reg-${i}`, { metadata: { region } })),
    );
    await sleep(3000); // topology refresh
    await Promise.all(ids.map((id) => heartbeat(id, 'down')));
    await waitFor(async () => {
      const a = await alerts('state=firing');
      return a.find((x) => x.labels.region === region) ?? null;
    }, 'region unreachable incident');
    await Promise.all(ids.map((id) => heartbeat(id)));
    await waitFor(
      async () => !(await alerts('state=firing')).some((x) => x.labels.region === region),
      'region incident resolved',
    );
  });

  it('dependency down: the dependent alert says "caused by B" and is held back until B recovers', async () => {
    const b = await register('db');
    const a = await register('app');
    const dep = await http.post(
      `/api/v2/agents/${a}/dependencies`,
      { dependsOn: b },
      { headers: admin },
    );
    expect(dep.status).toBeLessThan(300);
    const rule = await createRule({
      name: 'app errors',
      scope: { agentIds: [a] },
      condition: { kind: 'threshold', metric: 'error_rate', op: '>', value: 5 },
    });
    await sleep(3000); // topology refresh picks up the dependency
    await heartbeat(b, 'down');
    await sleep(200);
    await ingest([{ agentId: a, metrics: { error_rate: 40 } }]);
    const alert = await waitFor(async () => {
      const x = await open(rule.id);
      return x[0]?.state === 'firing' ? x[0] : null;
    }, 'dependent alert');
    expect(alert.causedBy?.agentId).toBe(b);
    expect(alert.causedBy?.agentName).toMatch(/^db-/);
    expect(alert.suppressed).toBe(true);
    // B recovers while A's alert still fires: it is released (notifies now), the link stays.
    await heartbeat(b);
    const released = await waitFor(async () => {
      const x = await open(rule.id);
      return x[0] && !x[0].suppressed ? x[0] : null;
    }, 'released');
    expect(released.causedBy?.agentId).toBe(b);
    const detail = await http.get<AlertDetail>(`/api/v2/alerts/${alert.id}`, { headers: admin });
    expect(detail.body.history.map((h) => h.type)).toEqual(
      expect.arrayContaining(['inhibited', 'uninhibited']),
    );
  });
});

describe('alert windows after a restart', () => {
  it('a window rule starts from stored raw samples, not from an empty window', async () => {
    let t = await startTestApp({ env: FAST_ALERTING_ENV });
    const http = client(t.baseUrl);
    const admin = (await insertKey(t, ['admin'], 'W')).headers;
    try {
      const reg = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name: 'restart-agent', type: 'worker', host: 'h' },
        { headers: admin },
      );
      const agentId = reg.body.id;
      const rule = await http.post<AlertRule>(
        '/api/v2/alerts/rules',
        {
          name: 'avg over 10 min',
          scope: { agentIds: [agentId] },
          condition: {
            kind: 'threshold',
            metric: 'latency_ms',
            op: '>',
            value: 100,
            aggregate: 'avg',
            windowSec: 600,
          },
        },
        { headers: admin },
      );
      expect(rule.status).toBe(201);
      // Five high samples over the last minutes, stored before the restart.
      const now = Date.now();
      const samples = [200, 210, 190, 205, 195].map((v, i) => ({
        agentId,
        timestamp: now - (5 - i) * 30_000,
        metrics: { latency_ms: v },
      }));
      expect(
        (await http.post('/api/v2/metrics/batch', { samples }, { headers: admin })).status,
      ).toBeLessThan(300);
      await waitFor(async () => {
        const r = await http.get<Page<AlertInstance>>(`/api/v2/alerts?ruleId=${rule.body.id}`, {
          headers: admin,
        });
        return r.body.items[0]?.state === 'firing';
      }, 'fires before restart');
      // Resolve by hand so the restarted engine must decide from the window again.
      await t.sql(
        `UPDATE alert_instances SET state = 'resolved', resolved_at = now() WHERE rule_id = $1`,
        [rule.body.id],
      );
      await t.close();
      t = await startTestApp({ env: FAST_ALERTING_ENV, databaseUrl: t.databaseUrl });
      const http2 = client(t.baseUrl);
      // No new sample: the restarted engine fires from the seeded window alone (avg 200).
      const a = await waitFor(async () => {
        const r = await http2.get<Page<AlertInstance>>(
          `/api/v2/alerts?ruleId=${rule.body.id}&state=firing`,
          { headers: admin },
        );
        return r.body.items[0];
      }, 'fires from the seeded window after restart');
      expect(a.value).toBeCloseTo((200 + 210 + 190 + 205 + 195) / 5, 5);
      // A low sample joins the seeded window: (1000 + 20) / 6, still above 100.
      expect(
        (
          await http2.post(
            '/api/v2/metrics/batch',
            { samples: [{ agentId, metrics: { latency_ms: 20 } }] },
            { headers: admin },
          )
        ).status,
      ).toBeLessThan(300);
      await sleep(300);
      const still = await http2.get<Page<AlertInstance>>(
        `/api/v2/alerts?ruleId=${rule.body.id}&state=firing`,
        { headers: admin },
      );
      expect(still.body.items).toHaveLength(1);
    } finally {
      await t.close();
      await t.dropDatabase();
    }
  });
});

/**
 * Topology hold: members of a watched group rarely fail at the same instant. Their status
 * notifications wait the group rule's `memberHoldSec` (10 s by default) in the outbox, so the
 * group's incident, when it follows within the hold, inhibits them before anything was sent.
 */
describe('topology hold: member notifications wait for their group incident', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  const register = (name: string) => registerAgent(http, admin, name);

  async function down(agentId: string) {
    const r = await http.post(
      `/api/v2/agents/${agentId}/heartbeat`,
      { status: 'down' },
      { headers: admin },
    );
    expect(r.status).toBeLessThan(300);
  }

  async function group(name: string, agentIds: string[]): Promise<string> {
    const g = await http.post<{ id: string }>(
      '/api/v2/agent-groups',
      { name: `${name}-${Date.now()}`, agentIds },
      { headers: admin },
    );
    expect(g.status).toBe(201);
    return g.body.id;
  }

  type Notified = { event: string; alerts: Array<{ agentId: string | null; ruleId: string }> };

  it('3 of 4 members failing a few seconds apart: one incident notification, no member ones; a lone failure in a healthy group notifies after the hold', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'hold hook', config: { url: rx.url } },
        { headers: admin },
      );
      expect(ch.status).toBe(201);
      const rack = await Promise.all([1, 2, 3, 4].map((i) => register(`hold-rack-${i}`)));
      const healthy = await Promise.all([1, 2, 3, 4].map((i) => register(`hold-ok-${i}`)));
      const rackId = await group('hold-rack', rack);
      await group('hold-ok', healthy);
      const builtIn = (
        await http.get<Page<AlertRule>>('/api/v2/alerts/rules?q=Group%20unreachable', {
          headers: admin,
        })
      ).body.items[0];
      expect(builtIn.condition).toMatchObject({ kind: 'group_unreachable', memberHoldSec: 10 });
      expect(
        (
          await http.patch(
            `/api/v2/alerts/rules/${builtIn.id}`,
            { channelIds: [ch.body.id] },
            { headers: admin },
          )
        ).status,
      ).toBe(200);
      const member = await createRule(http, admin, {
        name: 'member down (held)',
        scope: { agentIds: [...rack, ...healthy] },
        channelIds: [ch.body.id],
        condition: { kind: 'agent_status', statuses: ['down'] },
      });
      const threshold = await createRule(http, admin, {
        name: 'errors (never held)',
        scope: { agentIds: healthy },
        channelIds: [ch.body.id],
        groupWindowSec: 0,
        condition: { kind: 'threshold', metric: 'hold_errors', op: '>', value: 5 },
      });
      await sleep(3000); // topology refresh: groups are read every 2 s

      // Staggered: the group crosses "more than half" only with the third, 5 s after the first.
      const t0 = Date.now();
      await down(rack[0]);
      await sleep(2500);
      await down(rack[1]);
      await sleep(2500);
      await down(rack[2]);
      const incident = await waitFor(
        async () => {
          const r = await http.get<Page<AlertInstance>>(
            `/api/v2/alerts?ruleId=${builtIn.id}&state=firing`,
            { headers: admin },
          );
          return r.body.items.find((a) => a.labels.group_id === rackId) ?? null;
        },
        'group unreachable incident',
        5000,
      );
      // Past every member's hold: nothing but the incident went out.
      await sleep(Math.max(0, t0 + 13_000 - Date.now()));
      const bodies = rx.received.map((r) => r.body as Notified);
      expect(bodies).toHaveLength(1);
      expect(bodies[0].alerts.map((a) => a.ruleId)).toEqual([builtIn.id]);
      const members = (
        await http.get<Page<AlertInstance>>(`/api/v2/alerts?ruleId=${member.id}&state=firing`, {
          headers: admin,
        })
      ).body.items;
      expect(members.map((a) => a.agentId).sort()).toEqual(rack.slice(0, 3).sort());
      for (const a of members) {
        expect(a.suppressed).toBe(true);
        expect(a.inhibitedBy).toBe(incident.id);
        // The incident's notification stands for them: they are its correlation group.
        expect(a.correlationId).toBe(incident.id);
      }
      const incidentNow = await http.get<AlertInstance>(`/api/v2/alerts/${incident.id}`, {
        headers: admin,
      });
      expect(incidentNow.body.correlationId).toBe(incident.id);
      expect([...incidentNow.body.correlatedWith].sort()).toEqual(members.map((a) => a.id).sort());
      // Recorded, not sent: every member notification row is suppressed.
      const rows = await t.sql<{ status: string; last_error: string | null }>(
        `SELECT status, last_error FROM notification_outbox WHERE alert_id = ANY($1::uuid[])`,
        [members.map((a) => a.id)],
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['suppressed']));
      expect(rows.map((r) => r.last_error).join(' ')).toMatch(/group unreachable/);

      // A threshold alert of a watched group's agent is not held.
      const sent = rx.received.length;
      const at = Date.now();
      publishSamples(t, [{ agentId: healthy[1], values: { hold_errors: 40 } }]);
      const fast = await waitFor(
        async () =>
          rx.received
            .slice(sent)
            .find((r) => (r.body as Notified).alerts.some((a) => a.ruleId === threshold.id)),
        'threshold notification',
        3000,
      );
      expect(fast.at - at).toBeLessThan(2000);

      // One agent of the healthy group fails: no incident follows, it notifies once the hold ends.
      const t1 = Date.now();
      await down(healthy[0]);
      const lone = await waitFor(
        async () =>
          rx.received.find((r) =>
            (r.body as Notified).alerts.some(
              (a) => a.ruleId === member.id && a.agentId === healthy[0],
            ),
          ),
        'lone member notification',
        15_000,
      );
      expect(lone.at - t1).toBeGreaterThanOrEqual(9_500);
      expect(lone.at - t1).toBeLessThan(13_000);
      expect(
        rx.received.filter((r) => (r.body as Notified).alerts.some((a) => a.ruleId === member.id)),
      ).toHaveLength(1);
    } finally {
      await rx.close();
    }
  }, 60_000);
});

describe('topology hold across a restart', () => {
  it('a held member notification waits in the outbox through a restart and goes out once when the hold ends; one resolved within its hold sends nothing', async () => {
    const rx = await receiver();
    // Both lives share ENCRYPTION_KEY (channel secrets), as a real deployment must.
    const env = { ...FAST_ALERTING_ENV, ENCRYPTION_KEY: 'h'.repeat(48) };
    let t = await startTestApp({ env });
    const http = client(t.baseUrl);
    const admin = (await insertKey(t, ['admin'], 'H')).headers;
    try {
      const register = (name: string) => registerAgent(http, admin, name);
      const heartbeat = async (agentId: string, body: Record<string, unknown>) =>
        expect(
          (await http.post(`/api/v2/agents/${agentId}/heartbeat`, body, { headers: admin })).status,
        ).toBeLessThan(300);
      const ids = await Promise.all([1, 2, 3, 4].map((i) => register(`restart-hold-${i}`)));
      expect(
        (
          await http.post(
            '/api/v2/agent-groups',
            { name: `restart-hold-${Date.now()}`, agentIds: ids },
            { headers: admin },
          )
        ).status,
      ).toBe(201);
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'restart hook', config: { url: rx.url } },
        { headers: admin },
      );
      const builtIn = (
        await http.get<Page<AlertRule>>('/api/v2/alerts/rules?q=Group%20unreachable', {
          headers: admin,
        })
      ).body.items[0];
      const cond = builtIn.condition;
      expect(
        (
          await http.patch(
            `/api/v2/alerts/rules/${builtIn.id}`,
            { condition: { ...cond, memberHoldSec: 4 } },
            { headers: admin },
          )
        ).status,
      ).toBe(200);
      const member = await createRule(http, admin, {
        name: 'member down (restart)',
        scope: { agentIds: ids },
        channelIds: [ch.body.id],
        groupWindowSec: 0,
        condition: { kind: 'agent_status', statuses: ['down'] },
      });
      await sleep(3000); // topology refresh

      // Down and back up within the hold: neither the firing nor the resolution is sent.
      await heartbeat(ids[1], { status: 'down' });
      const flap = await waitFor(async () => {
        const r = await http.get<Page<AlertInstance>>(`/api/v2/alerts?ruleId=${member.id}`, {
          headers: admin,
        });
        return r.body.items.find((a) => a.agentId === ids[1]) ?? null;
      }, 'flapping member alert');
      await heartbeat(ids[1], {});
      await waitFor(async () => {
        const r = await http.get<AlertInstance>(`/api/v2/alerts/${flap.id}`, { headers: admin });
        return r.body.state === 'resolved';
      }, 'flap resolved');

      // Down, then the API stops inside the hold.
      const downAt = Date.now();
      await heartbeat(ids[0], { status: 'down' });
      const held = await waitFor(async () => {
        const rows = await t.sql<{ status: string; next_attempt_at: Date }>(
          `SELECT o.status, o.next_attempt_at FROM notification_outbox o
             JOIN alert_instances i ON i.id = o.alert_id
            WHERE i.rule_id = $1 AND i.agent_id = $2`,
          [member.id, ids[0]],
        );
        return rows[0] ?? null;
      }, 'held outbox row');
      expect(held.status).toBe('pending');
      expect(held.next_attempt_at.getTime()).toBeGreaterThan(downAt + 3000);
      await t.close();
      expect(rx.received).toHaveLength(0);
      t = await startTestApp({ env, databaseUrl: t.databaseUrl });
      const got = await waitFor(
        async () => rx.received[0],
        'held notification after restart',
        8000,
      );
      expect(got.at - downAt).toBeGreaterThanOrEqual(3500);
      await sleep(1500);
      expect(rx.received).toHaveLength(1);
      const alerts = (got.body as { alerts: Array<{ agentId: string }> }).alerts;
      expect(alerts.map((a) => a.agentId)).toEqual([ids[0]]);
      const flapRows = await t.sql<{ status: string; last_error: string | null }>(
        `SELECT status, last_error FROM notification_outbox WHERE alert_id = $1`,
        [flap.id],
      );
      expect(flapRows).toEqual([
        { status: 'suppressed', last_error: 'resolved within the topology hold' },
      ]);
    } finally {
      await rx.close();
      await t.close();
      await t.dropDatabase();
    }
  }, 60_000);
});

async function createRule(
  http: Client,
  admin: Record<string, string>,
  body: CreateAlertRuleInput,
): Promise<AlertRule> {
  const r = await http.post<AlertRule>('/api/v2/alerts/rules', body, { headers: admin });
  expect(r.status).toBe(201);
  return r.body;
}
