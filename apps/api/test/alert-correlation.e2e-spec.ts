import { randomUUID } from 'node:crypto';
import type { AlertInstance, AlertNotificationPayload, AlertRule } from '@agent-monitor/contracts';
import type { Client } from './support/http.js';
import {
  ingest,
  receiver,
  sleep,
  startKeyedApp,
  stopKeyedApp,
  waitFor,
} from './support/alerting.js';
import type { TestApp } from './support/test-app.js';

/**
 * Every fired alert carries the correlation group its notification went out in (the id of the
 * alert that led it) and the group's other members: alerts of one rule across agents and of
 * one agent across rules, as the outbox batched them, so the Alerts page can show each group
 * together.
 */
describe('alert correlation groups', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  async function rule(
    name: string,
    metric: string,
    agentIds: string[],
    channelIds: string[],
  ): Promise<AlertRule> {
    const r = await http.post<AlertRule>(
      '/api/v2/alerts/rules',
      {
        name,
        channelIds,
        scope: { agentIds },
        groupWindowSec: 2,
        condition: { kind: 'threshold', metric, op: '>', value: 90 },
      },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return r.body;
  }

  async function active(): Promise<Map<string, AlertInstance>> {
    const r = await http.get<AlertInstance[]>('/api/v2/alerts/active', { headers: admin });
    expect(r.status).toBe(200);
    return new Map(r.body.map((a) => [`${a.ruleName}|${a.agentId}`, a]));
  }

  it('groups one rule across agents and one agent across rules, as the notifications did', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'corr hook', config: { url: rx.url } },
        { headers: admin },
      );
      expect(ch.status).toBe(201);
      const [x, y, z] = [randomUUID(), randomUUID(), randomUUID()];
      const cpu = await rule('corr cpu', 'corr_cpu', [x, y, z], [ch.body.id]);
      await rule('corr mem', 'corr_mem', [x], [ch.body.id]);
      await rule('corr disk', 'corr_disk', [z], [ch.body.id]);
      await rule('corr quiet', 'corr_quiet', [x], []);

      // x leads; y follows by rule (cpu), x's memory alert follows by agent.
      ingest(t, [{ agentId: x, values: { corr_cpu: 99 } }]);
      await waitFor(async () => rx.received.length === 1, 'leader notification');
      ingest(t, [
        { agentId: y, values: { corr_cpu: 99 } },
        { agentId: x, values: { corr_mem: 99, corr_quiet: 99 } },
      ]);
      await waitFor(async () => (await active()).size === 4, 'four alerts');
      await waitFor(async () => rx.received.length === 2, 'batched followers', 5000);
      // After the window, z's disk alert leads a group of its own.
      await sleep(2200);
      ingest(t, [{ agentId: z, values: { corr_disk: 99 } }]);
      await waitFor(async () => rx.received.length === 3, 'unrelated notification');

      const a = await active();
      const lead = a.get(`corr cpu|${x}`)!;
      const byRule = a.get(`corr cpu|${y}`)!;
      const byAgent = a.get(`corr mem|${x}`)!;
      const other = a.get(`corr disk|${z}`)!;
      const silent = a.get(`corr quiet|${x}`)!;
      expect(lead.ruleId).toBe(cpu.id);
      expect(lead.correlationId).toBe(lead.id);
      expect(byRule.correlationId).toBe(lead.id);
      expect(byAgent.correlationId).toBe(lead.id);
      expect(lead.correlatedWith.sort()).toEqual([byRule.id, byAgent.id].sort());
      expect(byAgent.correlatedWith.sort()).toEqual([lead.id, byRule.id].sort());
      expect(other.correlationId).toBe(other.id);
      expect(other.correlatedWith).toEqual([]);
      // A rule without channels sends nothing, so it has no notification group.
      expect(silent.correlationId).toBeNull();

      // The same groups the receiver saw: the leader alone, then its followers in one batch.
      const sent = rx.received.map((r) =>
        (r.body as AlertNotificationPayload).alerts.map((al) => al.id).sort(),
      );
      expect(sent).toEqual([[lead.id], [byRule.id, byAgent.id].sort(), [other.id]]);

      // The detail of an alert says the same.
      const d = await http.get<AlertInstance>(`/api/v2/alerts/${byRule.id}`, { headers: admin });
      expect(d.body).toMatchObject({ correlationId: lead.id });
    } finally {
      await rx.close();
    }
  });
});
