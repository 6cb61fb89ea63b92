import type {
  AuditLogEntry,
  CreatedApiKey,
  LoginResponse,
  Page,
  User,
} from '@agent-monitor/contracts';
import { client, type Client } from './support/http.js';
import { login, userWithRole } from './support/login.js';
import { ADMIN_EMAIL, startTestApp, type TestApp } from './support/test-app.js';

describe('audit log (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: LoginResponse;
  const audit = (qs: string, token = admin.accessToken) =>
    http.get<Page<AuditLogEntry>>(`/api/v2/audit-logs${qs}`, { token });

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await login(http);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('records user and key mutations with actor, IP, outcome and changed fields, never secrets', async () => {
    const made = await http.post<User>(
      '/api/v2/users',
      {
        email: 'audited@example.test',
        name: 'Audited',
        role: 'viewer',
        password: 'Quiet-River-81',
      },
      { token: admin.accessToken },
    );
    await http.patch(
      `/api/v2/users/${made.body.id}`,
      { role: 'operator', password: 'Other-River-82' },
      { token: admin.accessToken },
    );
    await http.delete(`/api/v2/users/${made.body.id}`, { token: admin.accessToken });
    const key = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'audited key', scopes: ['read'] },
      { token: admin.accessToken },
    );
    await http.delete(`/api/v2/api-keys/${key.body.id}`, { token: admin.accessToken });

    const userRows = await audit(`?resourceType=user&resourceId=${made.body.id}`);
    expect(userRows.status).toBe(200);
    expect(userRows.body.items.map((r) => r.action)).toEqual([
      'user.delete',
      'user.update',
      'user.create',
    ]);
    for (const r of userRows.body.items) {
      expect(r).toMatchObject({
        actorType: 'user',
        actorId: admin.user.id,
        actorLabel: ADMIN_EMAIL,
        outcome: 'success',
        ip: '127.0.0.1',
        requestId: expect.any(String),
      });
    }
    const update = userRows.body.items[1];
    expect(update.changes).toMatchObject({ role: { from: 'viewer', to: 'operator' } });
    const keyRows = await audit(`?resourceType=api_key&resourceId=${key.body.id}`);
    expect(keyRows.body.items.map((r) => r.action)).toEqual(['api_key.revoke', 'api_key.create']);
    const everything = JSON.stringify((await audit('?limit=500')).body);
    for (const secret of ['Quiet-River-81', 'Other-River-82', key.body.key, '$argon2']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('records exactly one row per request (no generic duplicate), in the same transaction', async () => {
    const before = (await audit('?limit=1')).body.total;
    await http.post(
      '/api/v2/users',
      { email: 'once@example.test', name: 'Once', role: 'viewer', password: 'Quiet-River-81' },
      { token: admin.accessToken },
    );
    const after = await audit('?limit=5');
    expect(after.body.total).toBe(before + 1);
    expect(after.body.items[0].action).toBe('user.create');
  });

  it('records refused mutations as failures, and a rolled-back change leaves no success row', async () => {
    const dup = await http.post(
      '/api/v2/users',
      { email: 'once@example.test', name: 'Dup', role: 'viewer', password: 'Quiet-River-81' },
      { token: admin.accessToken },
    );
    expect(dup.status).toBe(409);
    const bad = await http.post(
      '/api/v2/users',
      { email: 'bad', name: 'Bad', role: 'viewer', password: 'Quiet-River-81' },
      { token: admin.accessToken },
    );
    expect(bad.status).toBe(400);
    const failures = await audit('?outcome=failure&resourceType=users');
    const statuses = failures.body.items.map((r) => (r.changes as { status: number }).status);
    expect(statuses).toEqual(expect.arrayContaining([409, 400]));
    expect(JSON.stringify(failures.body)).not.toContain('Quiet-River-81');
    const creates = await audit('?action=user.create&outcome=success');
    expect(
      creates.body.items.filter((r) => JSON.stringify(r.changes).includes('once@example.test')),
    ).toHaveLength(1);
  });

  it('records keys as actors', async () => {
    const k = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'automation', scopes: ['admin'] },
      { token: admin.accessToken },
    );
    const made = await http.post<User>(
      '/api/v2/users',
      { email: 'by-key@example.test', name: 'By Key', role: 'viewer', password: 'Quiet-River-81' },
      { headers: { 'x-api-key': k.body.key } },
    );
    expect(made.status).toBe(201);
    const rows = await audit(`?resourceId=${made.body.id}`);
    expect(rows.body.items[0]).toMatchObject({
      actorType: 'api_key',
      actorId: k.body.id,
      actorLabel: 'key:automation',
    });
    const byActor = await audit(`?actorId=${k.body.id}`);
    expect(byActor.body.total).toBe(1);
  });

  it('filters by action, time and pages', async () => {
    const logins = await audit('?action=auth.login');
    expect(logins.body.items.length).toBeGreaterThan(0);
    expect(logins.body.items.every((r) => r.action.includes('auth.login'))).toBe(true);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`?from=${encodeURIComponent(future)}`)).body.total).toBe(0);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await audit(`?to=${encodeURIComponent(past)}`)).body.total).toBe(0);
    const p1 = await audit('?limit=2&page=1');
    const p2 = await audit('?limit=2&page=2');
    expect(p1.body.items).toHaveLength(2);
    expect(p1.body).toMatchObject({ page: 1, limit: 2 });
    expect(p2.body.items[0].id).not.toBe(p1.body.items[1].id);
    expect(Number(p1.body.items[0].id)).toBeGreaterThan(Number(p2.body.items[0].id));
  });

  it('refuses bad filters with 400', async () => {
    for (const qs of [
      '?outcome=maybe',
      '?from=yesterday',
      '?limit=0',
      '?page=-1',
      `?action=${'x'.repeat(101)}`,
    ]) {
      expect({ qs, status: (await audit(qs)).status }).toEqual({ qs, status: 400 });
    }
  });

  it('is for admins only', async () => {
    const op = await userWithRole(http, admin.accessToken, 'operator');
    const viewer = await userWithRole(http, admin.accessToken, 'viewer');
    expect((await audit('', op.accessToken)).status).toBe(403);
    expect((await audit('', viewer.accessToken)).status).toBe(403);
    const read = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'r', scopes: ['read'] },
      { token: admin.accessToken },
    );
    expect(
      (await http.get('/api/v2/audit-logs', { headers: { 'x-api-key': read.body.key } })).status,
    ).toBe(403);
    expect((await http.get('/api/v2/audit-logs')).status).toBe(401);
  });
});
