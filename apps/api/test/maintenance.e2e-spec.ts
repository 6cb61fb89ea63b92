import { randomUUID } from 'node:crypto';
import type { AlertInstance, MaintenanceWindow, Page } from '@agent-monitor/contracts';
import type { Client } from './support/http.js';
import { receiver, sleep, waitFor, startKeyedApp, stopKeyedApp } from './support/alerting.js';
import type { TestApp } from './support/test-app.js';

/** Maintenance windows (samples through real HTTP ingest): CRUD, suppression while alerts still evaluate, notify after the window, group match, agent self-maintenance. */
describe('maintenance windows', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin, reader } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  /** A registered agent and real ingest (POST /api/v2/metrics/batch) for it. */
  async function newAgent(): Promise<string> {
    const r = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name: `m-${randomUUID().slice(0, 8)}`, type: 'worker', host: 'm-host' },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return r.body.id;
  }
  async function send(agentId: string, metrics: Record<string, number>): Promise<void> {
    const r = await http.post(
      '/api/v2/metrics/batch',
      { samples: [{ agentId, metrics }] },
      { headers: admin },
    );
    expect(r.status).toBeLessThan(300);
  }

  it('creates one-off and recurring windows, validates fields, refuses readers', async () => {
    const now = Date.now();
    const one = await http.post<MaintenanceWindow>(
      '/api/v2/maintenance-windows',
      {
        name: 'deploy',
        match: { agentIds: [randomUUID()] },
        startsAt: new Date(now - 1000).toISOString(),
        endsAt: new Date(now + 60_000).toISOString(),
      },
      { headers: admin },
    );
    expect(one.status).toBe(201);
    expect(one.body).toMatchObject({ active: true, source: 'user', timeZone: 'UTC' });
    const rec = await http.post<MaintenanceWindow>(
      '/api/v2/maintenance-windows',
      {
        name: 'nightly',
        match: { tags: { env: 'prod' } },
        cron: '0 3 * * *',
        durationMinutes: 30,
        timeZone: 'Europe/Berlin',
      },
      { headers: admin },
    );
    expect(rec.status).toBe(201);
    const cases: Array<[unknown, string]> = [
      [
        {
          name: 'x',
          match: {},
          startsAt: new Date().toISOString(),
          endsAt: new Date(now + 1000).toISOString(),
        },
        'match',
      ],
      [{ name: 'x', match: { agentIds: [randomUUID()] }, cron: '0 3 * * *' }, 'durationMinutes'],
      [
        {
          name: 'x',
          match: { agentIds: [randomUUID()] },
          cron: '0 3 * * *',
          durationMinutes: 5,
          timeZone: 'Mars/Olympus',
        },
        'timeZone',
      ],
      [
        {
          name: 'x',
          match: { agentIds: [randomUUID()] },
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now - 1000).toISOString(),
        },
        'endsAt',
      ],
      [
        { name: 'x', match: { agentIds: [randomUUID()] }, cron: '99 * * * *', durationMinutes: 5 },
        'cron',
      ],
    ];
    for (const [body, field] of cases) {
      const r = await http.post<{ message: string }>('/api/v2/maintenance-windows', body, {
        headers: admin,
      });
      expect([field, r.status]).toEqual([field, 400]);
      expect(r.body.message).toContain(field);
    }
    expect(
      (
        await http.post(
          '/api/v2/maintenance-windows',
          { name: 'x', match: { agentIds: [randomUUID()] }, cron: '0 3 * * *', durationMinutes: 5 },
          { headers: reader },
        )
      ).status,
    ).toBe(403);
    const list = await http.get<Page<MaintenanceWindow>>('/api/v2/maintenance-windows', {
      headers: reader,
    });
    expect(list.body.total).toBe(2);
    const upd = await http.patch<MaintenanceWindow>(
      `/api/v2/maintenance-windows/${one.body.id}`,
      { enabled: false },
      { headers: admin },
    );
    expect(upd.body).toMatchObject({ enabled: false, active: false });
    expect(
      (await http.delete(`/api/v2/maintenance-windows/${rec.body.id}`, { headers: admin })).status,
    ).toBe(204);
  });

  it('records alerts as suppressed during a window and notifies when it ends with the alert still firing', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'm', config: { url: rx.url } },
        { headers: admin },
      );
      const agentId = await newAgent();
      const win = await http.post<MaintenanceWindow>(
        '/api/v2/maintenance-windows',
        {
          name: 'deploy',
          match: { agentIds: [agentId] },
          startsAt: new Date(Date.now() - 1000).toISOString(),
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
        { headers: admin },
      );
      const rule = await http.post<{ id: string }>(
        '/api/v2/alerts/rules',
        {
          name: 'maint',
          channelIds: [ch.body.id],
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
        },
        { headers: admin },
      );
      await send(agentId, { cpu: 99 });
      const a = await waitFor(
        async () =>
          (
            await http.get<Page<AlertInstance>>(`/api/v2/alerts?ruleId=${rule.body.id}`, {
              headers: admin,
            })
          ).body.items[0],
        'alert',
      );
      expect(a).toMatchObject({ state: 'firing', suppressed: true });
      await sleep(300);
      expect(rx.received).toHaveLength(0);
      // End the window now: the alert still fires, so its held-back notification goes out.
      const endedAt = Date.now();
      await http.patch(
        `/api/v2/maintenance-windows/${win.body.id}`,
        { endsAt: new Date(endedAt).toISOString() },
        { headers: admin },
      );
      await waitFor(async () => rx.received.length === 1, 'notification after the window', 5000);
      expect(rx.received[0].at).toBeGreaterThanOrEqual(endedAt);
      expect((rx.received[0].body as { event: string }).event).toBe('firing');
      const after = await http.get<AlertInstance>(`/api/v2/alerts/${a.id}`, { headers: admin });
      expect(after.body.suppressed).toBe(false);
      await sleep(300);
      expect(rx.received).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('matches a window by agent group (tag selector membership), over real HTTP ingest', async () => {
    const reg = async (name: string, tags: Record<string, string>) => {
      const r = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name, type: 'worker', host: 'h', tags },
        { headers: admin },
      );
      expect(r.status).toBe(201);
      return r.body.id;
    };
    const inside = await reg(`mg-in-${Date.now()}`, { rack: 'r7' });
    const outside = await reg(`mg-out-${Date.now()}`, { rack: 'r8' });
    const g = await http.post<{ id: string }>(
      '/api/v2/agent-groups',
      { name: `rack7-${Date.now()}`, tagSelector: { rack: 'r7' } },
      { headers: admin },
    );
    expect(g.status).toBe(201);
    const win = await http.post<MaintenanceWindow>(
      '/api/v2/maintenance-windows',
      {
        name: 'rack 7 work',
        match: { groupIds: [g.body.id] },
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
      { headers: admin },
    );
    expect(win.status).toBe(201);
    // The rule covers both agents; only the group member is in the window.
    const rule = await http.post<{ id: string }>(
      '/api/v2/alerts/rules',
      {
        name: 'mg',
        scope: { agentIds: [inside, outside] },
        condition: { kind: 'threshold', metric: 'temp', op: '>', value: 70 },
      },
      { headers: admin },
    );
    await sleep(3000); // the engine re-reads group membership every 2 s
    const r = await http.post(
      '/api/v2/metrics/batch',
      {
        samples: [
          { agentId: inside, metrics: { temp: 90 } },
          { agentId: outside, metrics: { temp: 90 } },
        ],
      },
      { headers: admin },
    );
    expect(r.status).toBeLessThan(300);
    const items = await waitFor(async () => {
      const x = await http.get<Page<AlertInstance>>(
        `/api/v2/alerts?ruleId=${rule.body.id}&state=firing`,
        { headers: admin },
      );
      return x.body.items.length === 2 ? x.body.items : null;
    }, 'two alerts');
    const by = new Map(items.map((a) => [a.agentId, a]));
    expect(by.get(inside)!.suppressed).toBe(true);
    expect(by.get(outside)!.suppressed).toBe(false);
  });

  it('an alert that resolves inside the window never notifies', async () => {
    const rx = await receiver();
    try {
      const ch = await http.post<{ id: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'm2', config: { url: rx.url } },
        { headers: admin },
      );
      const agentId = await newAgent();
      await http.post(
        '/api/v2/maintenance-windows',
        { name: 'rec', match: { agentIds: [agentId] }, cron: '* * * * *', durationMinutes: 2 },
        { headers: admin },
      );
      await http.post(
        '/api/v2/alerts/rules',
        {
          name: 'm2',
          channelIds: [ch.body.id],
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
        },
        { headers: admin },
      );
      await send(agentId, { cpu: 99 });
      await sleep(200);
      await send(agentId, { cpu: 1 });
      await sleep(400);
      expect(rx.received).toHaveLength(0);
      const rows = await t.sql<{ status: string; event: string }>(
        `SELECT status, event FROM notification_outbox WHERE channel_id = $1 ORDER BY created_at`,
        [ch.body.id],
      );
      expect(rows).toEqual([
        { status: 'suppressed', event: 'firing' },
        { status: 'suppressed', event: 'resolved' },
      ]);
    } finally {
      await rx.close();
    }
  });

  it('an agent declares maintenance with its own key and ends it on the first heartbeat after done', async () => {
    const reg = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name: `self-${Date.now()}`, type: 'web_server', host: 'h' },
      { headers: admin },
    );
    expect(reg.status).toBe(201);
    const other = await http.post<{ id: string }>(
      '/api/v2/agents/register',
      { name: `other-${Date.now()}`, type: 'web_server', host: 'h' },
      { headers: admin },
    );
    const agent = { authorization: `Bearer ${reg.body.agentKey}` };
    expect(
      (
        await http.post(
          `/api/v2/agents/${other.body.id}/maintenance`,
          { minutes: 5 },
          { headers: agent },
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await http.post(
          `/api/v2/agents/${reg.body.id}/maintenance`,
          { minutes: 0 },
          { headers: agent },
        )
      ).status,
    ).toBe(400);
    const w = await http.post<MaintenanceWindow>(
      `/api/v2/agents/${reg.body.id}/maintenance`,
      { minutes: 5, reason: 'upgrade' },
      { headers: agent },
    );
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({
      source: 'agent',
      active: true,
      match: { agentIds: [reg.body.id] },
    });
    // Heartbeats before "done" keep the window.
    expect(
      (await http.post(`/api/v2/agents/${reg.body.id}/heartbeat`, {}, { headers: agent })).status,
    ).toBeLessThan(300);
    expect(
      (
        await http.get<MaintenanceWindow>(`/api/v2/maintenance-windows/${w.body.id}`, {
          headers: admin,
        })
      ).body.active,
    ).toBe(true);
    expect(
      (
        await http.post(
          `/api/v2/agents/${reg.body.id}/maintenance`,
          { done: true },
          { headers: agent },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await http.get<MaintenanceWindow>(`/api/v2/maintenance-windows/${w.body.id}`, {
          headers: admin,
        })
      ).body.active,
    ).toBe(true);
    await http.post(`/api/v2/agents/${reg.body.id}/heartbeat`, {}, { headers: agent });
    await waitFor(
      async () =>
        !(
          await http.get<MaintenanceWindow>(`/api/v2/maintenance-windows/${w.body.id}`, {
            headers: admin,
          })
        ).body.active,
      'window ended',
    );
  });
});
