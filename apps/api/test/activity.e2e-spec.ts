import { createHash, randomBytes } from 'node:crypto';
import type {
  ActivityStats,
  Commit,
  CommitsResponse,
  Page,
  Task,
  Timeline,
  Velocity,
} from '@agent-monitor/contracts';
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type ActivityUpdatedEvent,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@agent-monitor/contracts';
import { createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const DAY = 86_400_000;

describe('coordination activity (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let reader: string;
  let agentA: string;
  let agentB: string;
  let keyA: string;

  /** An API key row written directly (setup only; the API under test is driven over HTTP). */
  async function makeKey(scopes: string[]): Promise<string> {
    const key = `am_${randomBytes(24).toString('hex')}`;
    await t.sql(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)`, [
      `test-${scopes.join('-')}`,
      key.slice(0, 11),
      createHash('sha256').update(key).digest('hex'),
      scopes,
    ]);
    return key;
  }

  /** Registers through the API; returns the id and the agent's own key. */
  async function registerAgent(name: string): Promise<{ id: string; key: string }> {
    const r = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name, type: 'llm_agent', host: 'localhost' },
      { token: admin },
    );
    expect(r.status).toBe(201);
    return { id: r.body.id, key: r.body.agentKey };
  }

  const count = async (table: string) =>
    Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  const commit = (hash: string, over: Record<string, unknown> = {}) => ({
    hash,
    branch: 'main',
    author: 'Ada <ada@example.test>',
    message: `commit ${hash}`,
    filesChanged: 2,
    linesAdded: 10,
    linesRemoved: 3,
    committedAt: new Date().toISOString(),
    ...over,
  });

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await makeKey(['admin']);
    reader = await makeKey(['read']);
    const a = await registerAgent('coder-a');
    agentA = a.id;
    keyA = a.key;
    agentB = (await registerAgent('coder-b')).id;
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  describe('access and bad input', () => {
    it('refuses unauthenticated, read-only and other-agent writers, writing nothing', async () => {
      const ev = { type: 'created', taskId: 'T-x', title: 'x' };
      expect((await http.post(`/api/v2/agents/${agentA}/events`, ev)).status).toBe(401);
      expect(
        (await http.post(`/api/v2/agents/${agentA}/events`, ev, { token: reader })).status,
      ).toBe(403);
      const cross = await http.post<{ message: string }>(`/api/v2/agents/${agentB}/events`, ev, {
        token: keyA,
      });
      expect(cross.status).toBe(403);
      const crossCommit = await http.post(`/api/v2/agents/${agentB}/commits`, commit('abcdef0'), {
        token: keyA,
      });
      expect(crossCommit.status).toBe(403);
      expect((await http.get('/api/v2/activity/tasks')).status).toBe(401);
      expect(await count('activity_task_events')).toBe(0);
      expect(await count('activity_commits')).toBe(0);
    });

    it('answers bad input with 400 naming the field, and writes nothing', async () => {
      const post = (body: unknown, path = 'events') =>
        http.post<{ statusCode: number; message: string }>(
          `/api/v2/agents/${agentA}/${path}`,
          body,
          { token: keyA },
        );
      const wrongType = await post({ type: 'exploded', taskId: 'T-1' });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.message).toMatch(/type/);
      expect((await post({ type: 'created', taskId: 42 })).status).toBe(400);
      expect((await post({ type: 'created', taskId: 'has space' })).status).toBe(400);
      expect((await post({ type: 'created', taskId: 'T-1', statusAfter: 'nope' })).status).toBe(
        400,
      );
      expect(
        (await post({ type: 'created', taskId: 'T-1', details: { blob: 'x'.repeat(9000) } }))
          .status,
      ).toBe(400);
      expect((await post({ type: 'created', taskId: 'T-1', extra: true })).status).toBe(400);
      // One bad event in a batch rejects the whole batch.
      const batch = await post({
        events: [
          { type: 'created', taskId: 'T-ok' },
          { type: 'created', taskId: 'T-bad', at: 'yesterday' },
        ],
      });
      expect(batch.status).toBe(400);
      expect(batch.body.message).toMatch(/events\.1\.at/);
      const tooMany = await post({
        events: Array.from({ length: 501 }, (_, i) => ({ type: 'created', taskId: `T-${i}` })),
      });
      expect(tooMany.status).toBe(400);
      const malformed = await http.request('POST', `/api/v2/agents/${agentA}/events`, {
        token: keyA,
        raw: '{"type":',
        headers: { 'content-type': 'application/json' },
      });
      expect(malformed.status).toBe(400);
      const badHash = await post(commit('not-a-hash'), 'commits');
      expect(badHash.status).toBe(400);
      expect(badHash.body.message).toMatch(/hash/);
      expect((await post(commit('abcdef12', { linesAdded: -1 }), 'commits')).status).toBe(400);
      expect((await post(commit('abcdef12', { committedAt: 5 }), 'commits')).status).toBe(400);
      const notUuid = await http.post(
        '/api/v2/agents/not-a-uuid/events',
        {
          type: 'created',
          taskId: 'T-1',
        },
        { token: admin },
      );
      expect(notUuid.status).toBe(400);
      const unknown = await http.post(
        `/api/v2/agents/00000000-0000-4000-8000-000000000000/events`,
        { type: 'created', taskId: 'T-1' },
        { token: admin },
      );
      expect(unknown.status).toBe(404);
      expect((await http.get('/api/v2/activity/velocity?days=9', { token: reader })).status).toBe(
        400,
      );
      expect((await http.get('/api/v2/activity/commits?limit=abc', { token: reader })).status).toBe(
        400,
      );
      expect(await count('activity_task_events')).toBe(0);
      expect(await count('activity_tasks')).toBe(0);
      expect(await count('activity_commits')).toBe(0);
    });
  });

  describe('task board', () => {
    it('folds events into one row per task with the newest status winning', async () => {
      const base = Date.now() - 60_000;
      const at = (s: number) => new Date(base + s * 1000).toISOString();
      const r = await http.post<{ received: number }>(
        `/api/v2/agents/${agentA}/events`,
        {
          events: [
            { type: 'created', taskId: 'BOARD-1', title: 'Write parser', at: at(0) },
            { type: 'assigned', taskId: 'BOARD-1', assignee: 'coder-a', at: at(1) },
            { type: 'created', taskId: 'BOARD-2', title: 'Fix flake', at: at(0) },
            { type: 'blocked', taskId: 'BOARD-2', details: { reason: 'CI down' }, at: at(2) },
          ],
        },
        { token: keyA },
      );
      expect(r.status).toBe(202);
      expect(r.body.received).toBe(4);

      // An older event arriving late does not move the card back.
      await http.post(
        `/api/v2/agents/${agentA}/events`,
        { type: 'updated', taskId: 'BOARD-1', statusAfter: 'todo', at: at(-30) },
        { token: keyA },
      );
      // Another agent completes BOARD-1.
      await http.post(
        `/api/v2/agents/${agentB}/events`,
        { type: 'completed', taskId: 'BOARD-1', statusBefore: 'in_progress', at: at(5) },
        { token: admin },
      );

      const board = await http.get<Page<Task>>('/api/v2/activity/tasks', { token: reader });
      expect(board.status).toBe(200);
      const byId = Object.fromEntries(board.body.items.map((x) => [x.taskId, x]));
      expect(byId['BOARD-1']).toMatchObject({
        title: 'Write parser',
        status: 'done',
        assignee: 'coder-a',
        agentId: agentB,
        agentName: 'coder-b',
        eventCount: 4,
        completedAt: at(5),
        createdAt: at(-30),
      });
      expect(byId['BOARD-2']).toMatchObject({ status: 'blocked', agentId: agentA });

      const blocked = await http.get<Page<Task>>('/api/v2/activity/tasks?status=blocked', {
        token: reader,
      });
      expect(blocked.body.items.map((x) => x.taskId)).toEqual(['BOARD-2']);

      const detail = await http.get<Task & { events: Array<{ type: string }> }>(
        '/api/v2/activity/tasks/BOARD-1',
        { token: reader },
      );
      expect(detail.body.events.map((e) => e.type)).toEqual([
        'updated',
        'created',
        'assigned',
        'completed',
      ]);
      expect((await http.get('/api/v2/activity/tasks/NOPE', { token: reader })).status).toBe(404);
    });

    it('imports a task-board.json snapshot, skipping unchanged tasks', async () => {
      const body = {
        agentId: agentA,
        tasks: [
          { id: 'BOARD-2', title: 'Fix flake', status: 'blocked' },
          { id: 'IMP-1', title: 'Imported', status: 'review' },
          { id: 'BOARD-1', title: 'Write parser', status: 'in_progress' },
        ],
      };
      expect(
        (await http.post('/api/v2/activity/tasks/import', body, { token: reader })).status,
      ).toBe(403);
      const r = await http.post('/api/v2/activity/tasks/import', body, { token: admin });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ created: 1, updated: 1, unchanged: 1 });
      const board = await http.get<Page<Task>>('/api/v2/activity/tasks?q=IMP', { token: reader });
      expect(board.body.items).toEqual([
        expect.objectContaining({ taskId: 'IMP-1', status: 'review' }),
      ]);
    });
  });

  describe('commits', () => {
    it('ignores duplicates by hash and says how many were new', async () => {
      const first = await http.post<CommitsResponse>(
        `/api/v2/agents/${agentA}/commits`,
        {
          commits: [
            commit('a1b2c3d4', { branch: 'feat/x' }),
            commit('A1B2C3D5'),
            commit('a1b2c3d6'),
          ],
        },
        { token: keyA },
      );
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ received: 3, inserted: 3, duplicates: 0 });

      const again = await http.post<CommitsResponse>(
        `/api/v2/agents/${agentA}/commits`,
        {
          commits: [commit('a1b2c3d4'), commit('a1b2c3d5'), commit('a1b2c3d7'), commit('a1b2c3d7')],
        },
        { token: keyA },
      );
      expect(again.body).toEqual({ received: 4, inserted: 1, duplicates: 3 });
      const single = await http.post<CommitsResponse>(
        `/api/v2/agents/${agentA}/commits`,
        commit('a1b2c3d4'),
        { token: keyA },
      );
      expect(single.body).toEqual({ received: 1, inserted: 0, duplicates: 1 });
      expect(await count('activity_commits')).toBe(4);
      // The first report wins: the resend's branch did not overwrite it.
      const rows = await t.sql<{ branch: string }>(
        `SELECT branch FROM activity_commits WHERE hash = 'a1b2c3d4'`,
      );
      expect(rows[0].branch).toBe('feat/x');
    });

    it('serves a feed with filters and paging', async () => {
      const old = new Date(Date.now() - 3 * DAY).toISOString();
      await http.post(
        `/api/v2/agents/${agentB}/commits`,
        commit('bbbb0001', { committedAt: old, message: 'Refactor storage', author: 'Bob' }),
        { token: admin },
      );
      const all = await http.get<Page<Commit>>('/api/v2/activity/commits?limit=2', {
        token: reader,
      });
      expect(all.body.total).toBe(5);
      expect(all.body.items).toHaveLength(2);
      const p3 = await http.get<Page<Commit>>('/api/v2/activity/commits?limit=2&page=3', {
        token: reader,
      });
      expect(p3.body.items.map((c) => c.hash)).toEqual(['bbbb0001']); // oldest last
      const byAgent = await http.get<Page<Commit>>(`/api/v2/activity/commits?agentId=${agentB}`, {
        token: reader,
      });
      expect(byAgent.body.items).toEqual([
        expect.objectContaining({ hash: 'bbbb0001', agentName: 'coder-b', author: 'Bob' }),
      ]);
      const branch = await http.get<Page<Commit>>('/api/v2/activity/commits?branch=feat/x', {
        token: reader,
      });
      expect(branch.body.items.map((c) => c.hash)).toEqual(['a1b2c3d4']);
      const q = await http.get<Page<Commit>>('/api/v2/activity/commits?q=refactor', {
        token: reader,
      });
      expect(q.body.total).toBe(1);
      const recent = await http.get<Page<Commit>>(
        `/api/v2/activity/commits?from=${encodeURIComponent(new Date(Date.now() - DAY).toISOString())}`,
        { token: reader },
      );
      expect(recent.body.total).toBe(4);
    });
  });

  describe('velocity, timeline, stats', () => {
    it('counts completed tasks per UTC day exactly as a hand count', async () => {
      const now = Date.now();
      const dayAgo = (d: number) => new Date(now - d * DAY).toISOString();
      // Hand count: today BOARD-1 (earlier test) + V-1 + V-2 (completed twice: counts once);
      // 2 days ago V-3; 10 days ago V-4 (outside 7, inside 30); 40 days ago V-5 (outside both).
      await http.post(
        `/api/v2/agents/${agentB}/events`,
        {
          events: [
            { type: 'completed', taskId: 'V-1', at: dayAgo(0) },
            { type: 'completed', taskId: 'V-2', at: dayAgo(0) },
            { type: 'completed', taskId: 'V-2', at: dayAgo(0) },
            { type: 'updated', taskId: 'V-6', statusAfter: 'review', at: dayAgo(0) },
            { type: 'completed', taskId: 'V-3', at: dayAgo(2) },
            { type: 'completed', taskId: 'V-4', at: dayAgo(10) },
            { type: 'completed', taskId: 'V-5', at: dayAgo(40) },
          ],
        },
        { token: admin },
      );
      const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const v7 = await http.get<Velocity>('/api/v2/activity/velocity?days=7', { token: reader });
      expect(v7.status).toBe(200);
      expect(v7.body.points).toHaveLength(7);
      const map7 = Object.fromEntries(v7.body.points.map((p) => [p.date, p.completed]));
      expect(map7[utcDate(now)]).toBe(3);
      expect(map7[utcDate(now - 2 * DAY)]).toBe(1);
      expect(v7.body.total).toBe(4);
      expect(v7.body.points[6].date).toBe(utcDate(now));
      const v30 = await http.get<Velocity>('/api/v2/activity/velocity?days=30', { token: reader });
      expect(v30.body.points).toHaveLength(30);
      expect(v30.body.total).toBe(5);
      const vB = await http.get<Velocity>(`/api/v2/activity/velocity?days=30&agentId=${agentB}`, {
        token: reader,
      });
      expect(vB.body.total).toBe(5); // BOARD-1 was completed by agent B too
      const vA = await http.get<Velocity>(`/api/v2/activity/velocity?days=30&agentId=${agentA}`, {
        token: reader,
      });
      expect(vA.body.total).toBe(0);
    });

    it("merges an agent's events and commits newest first, with paging", async () => {
      const first = await http.get<Timeline>(`/api/v2/activity/agents/${agentA}/timeline?limit=3`, {
        token: reader,
      });
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(3);
      const times = first.body.items.map((i) => (i.kind === 'commit' ? i.committedAt : i.at));
      expect([...times].sort().reverse()).toEqual(times);
      expect(first.body.nextBefore).toBe(times[2]);
      const all = await http.get<Timeline>(`/api/v2/activity/agents/${agentA}/timeline?limit=500`, {
        token: reader,
      });
      const events = await count(`activity_task_events WHERE agent_id = '${agentA}'`);
      const commits = await count(`activity_commits WHERE agent_id = '${agentA}'`);
      expect(all.body.items).toHaveLength(events + commits);
      expect(all.body.items.filter((i) => i.kind === 'commit')).toHaveLength(4);
      expect(all.body.nextBefore).toBeNull();
      expect(
        (
          await http.get(`/api/v2/activity/agents/00000000-0000-4000-8000-000000000000/timeline`, {
            token: reader,
          })
        ).status,
      ).toBe(404);
    });

    it('reports per-agent totals', async () => {
      const r = await http.get<ActivityStats>('/api/v2/activity/stats?days=7', { token: reader });
      expect(r.status).toBe(200);
      const a = r.body.items.find((i) => i.agentId === agentA)!;
      const b = r.body.items.find((i) => i.agentId === agentB)!;
      expect(a).toMatchObject({
        agentName: 'coder-a',
        commits: 4,
        linesAdded: 40,
        linesRemoved: 12,
        filesChanged: 8,
        tasksCompleted: 0,
      });
      // B completed BOARD-1, V-1, V-2, V-3 within 7 days (V-4 is 10 days old); B's commit is 3 days old.
      expect(b).toMatchObject({ agentName: 'coder-b', tasksCompleted: 4, commits: 1 });
      // IMP-1 (review) and BOARD-1 (in_progress after import) were last touched by A.
      expect(a.tasksInProgress).toBe(1);
      expect(a.tasksBlocked).toBe(1);
    });
  });

  describe('live', () => {
    it('sends activity_updated with the task as the board shows it now', async () => {
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
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('connect', () => resolve());
          s.once('connect_error', reject);
        });
        const got = new Promise<ActivityUpdatedEvent>((resolve) =>
          s.on('activity_updated', (e) => {
            if (e.tasks.some((x) => x.taskId === 'LIVE-1')) resolve(e);
          }),
        );
        await http.post(
          `/api/v2/agents/${agentA}/events`,
          { type: 'blocked', taskId: 'LIVE-1', title: 'Live one' },
          { token: keyA },
        );
        const e = await got;
        expect(e.seq).toEqual(expect.any(Number));
        expect(e.agentId).toBe(agentA);
        expect(e.tasks).toEqual([
          expect.objectContaining({ taskId: 'LIVE-1', status: 'blocked', agentName: 'coder-a' }),
        ]);
        const commits = new Promise<ActivityUpdatedEvent>((resolve) =>
          s.on('activity_updated', (x) => {
            if (x.newCommits > 0) resolve(x);
          }),
        );
        await http.post(`/api/v2/agents/${agentA}/commits`, commit('feedbeef01'), { token: keyA });
        expect((await commits).newCommits).toBe(1);
      } finally {
        s.disconnect();
      }
    });
  });
});
