import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type AgentStatusChangedEvent,
  type ClientToServerEvents,
  type RegisterAgentResponse,
  type ServerToClientEvents,
} from '@agent-monitor/contracts';
import { createApiKey, createUser, sleep, waitFor } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Liveness as a lease with 1 s heartbeat intervals: stale after 2 missed intervals, offline
 * after 5, back online with the next heartbeat. Two app instances share the database, so the
 * advisory-lock leader must be the only sweeper: each change is stored and emitted once.
 */
// Redis carries live events between the instances (and the event numbering); DB 0 is fine:
// socket.io's channel and our keys are namespaced, and the test filters by its own agent id.
const REDIS_URL = process.env.AM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('liveness (two instances, one database, one Redis)', () => {
  let a: TestApp;
  let b: TestApp;
  let http: Client;
  let regKey: string;
  const sockets: Socket<ServerToClientEvents, ClientToServerEvents>[] = [];

  beforeAll(async () => {
    a = await startTestApp({ env: { LIVENESS_SWEEP_INTERVAL: '100ms', REDIS_URL } });
    b = await startTestApp({
      databaseUrl: a.databaseUrl,
      dataDir: a.config.dataDir,
      env: { LIVENESS_SWEEP_INTERVAL: '100ms', REDIS_URL },
    });
    http = client(a.baseUrl);
    regKey = await createApiKey(a, ['agents:register']);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b.close();
    await a.close();
    await a.dropDatabase();
  });

  async function viewerSocket(t: TestApp) {
    const viewer = await createUser(t, 'viewer');
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(
      t.baseUrl + DASHBOARD_NAMESPACE,
      {
        auth: { token: viewer.token },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      },
    );
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.on('connect', () => resolve());
      s.on('connect_error', reject);
    });
    return s;
  }

  it('online → stale → offline → online: stored and emitted once, to clients of both instances, within 1 s', async () => {
    const onA = await viewerSocket(a);
    const onB = await viewerSocket(b);
    const seen: Record<'a' | 'b', Array<AgentStatusChangedEvent & { receivedAt: number }>> = {
      a: [],
      b: [],
    };
    const reg = await http.post<RegisterAgentResponse>(
      '/api/v2/agents/register',
      { name: 'lease', type: 'web_server', host: 'lease.lan', heartbeatIntervalSec: 1 },
      { headers: { authorization: `Bearer ${regKey}` } },
    );
    expect(reg.status).toBe(201);
    const id = reg.body.id;
    onA.on(
      'agent_status_changed',
      (e) => e.agentId === id && seen.a.push({ ...e, receivedAt: Date.now() }),
    );
    onB.on(
      'agent_status_changed',
      (e) => e.agentId === id && seen.b.push({ ...e, receivedAt: Date.now() }),
    );

    const statusOf = async () =>
      (await a.sql<{ status: string }>(`SELECT status FROM agents WHERE id = $1`, [id]))[0].status;

    // Heartbeats keep it online past the 2-interval deadline.
    for (let i = 0; i < 3; i++) {
      await sleep(800);
      await http.post(
        `/api/v2/agents/${id}/heartbeat`,
        {},
        {
          headers: { authorization: `Bearer ${reg.body.agentKey}` },
        },
      );
    }
    expect(await statusOf()).toBe('online');

    const silentFrom = Date.now();
    await waitFor(async () => (await statusOf()) === 'stale', 4000);
    const staleAfter = Date.now() - silentFrom;
    expect(staleAfter).toBeGreaterThanOrEqual(1800);
    expect(staleAfter).toBeLessThan(3500);
    await waitFor(async () => (await statusOf()) === 'offline', 6000);
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(4800);

    const hb = await http.post<{ status: string }>(
      `/api/v2/agents/${id}/heartbeat`,
      {},
      {
        headers: { authorization: `Bearer ${reg.body.agentKey}` },
      },
    );
    expect(hb.body.status).toBe('online');
    await sleep(600);

    const history = await a.sql<{
      previous_status: string | null;
      status: string;
      reason: string;
      at: Date;
    }>(
      `SELECT previous_status, status, reason, at FROM agent_status_history WHERE agent_id = $1 ORDER BY id`,
      [id],
    );
    expect(
      history.map(({ previous_status, status, reason }) => ({ previous_status, status, reason })),
    ).toEqual([
      { previous_status: null, status: 'online', reason: 'registered' },
      { previous_status: 'online', status: 'stale', reason: 'missed_heartbeats' },
      { previous_status: 'stale', status: 'offline', reason: 'missed_heartbeats' },
      { previous_status: 'offline', status: 'online', reason: 'heartbeat' },
    ]);
    // Each instance's dashboard got each change exactly once, within a second of it.
    for (const k of ['a', 'b'] as const) {
      expect(seen[k].map((e) => e.status)).toEqual(['online', 'stale', 'offline', 'online']);
      seen[k].forEach((e, i) => {
        expect(e.previousStatus).toBe(history[i].previous_status);
        expect(e.receivedAt - new Date(history[i].at).getTime()).toBeLessThan(1000);
        expect(e.seq).toBeGreaterThan(0);
      });
    }
  }, 30_000);

  it('exactly one instance leads the sweeper', async () => {
    const rows = await a.sql<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objid = $1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [0x616d6c76],
    );
    expect(Number(rows[0].n)).toBe(1);
  });
});
