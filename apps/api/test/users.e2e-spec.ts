import type { LoginResponse, Page, User } from '@agent-monitor/contracts';
import { FirstAdminService, firstAdminBanner } from '../src/modules/users/first-admin.service.js';
import { client, type Client } from './support/http.js';
import { login, userWithRole } from './support/login.js';
import { ADMIN_EMAIL, startTestApp, type TestApp } from './support/test-app.js';

const HASHY = /argon2|passwordHash|password_hash/i;

describe('users (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: LoginResponse;
  const as = (token: string) => ({ token });

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    admin = await login(http);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  describe('first boot', () => {
    it('created the configured admin once, audited', async () => {
      const rows = await t.sql<{ email: string; role: string }>(`SELECT email, role FROM users`);
      expect(rows).toEqual([{ email: ADMIN_EMAIL, role: 'admin' }]);
      const audit = await t.sql(
        `SELECT 1 FROM audit_logs WHERE action = 'user.create_first_admin'`,
      );
      expect(audit).toHaveLength(1);
    });

    it('creates exactly one admin when several instances race on an empty table', async () => {
      const db2 = await startTestApp({ env: { ADMIN_EMAIL: '', ADMIN_PASSWORD: '' } });
      try {
        const svc = db2.app.get(FirstAdminService);
        // Boot generated one already (printed once); empty the table and race five at once.
        const generated = await db2.sql<{ email: string }>(`SELECT email FROM users`);
        expect(generated).toEqual([{ email: 'admin@localhost' }]);
        await db2.sql(`DELETE FROM users`);
        const writes: string[] = [];
        const original = process.stdout.write.bind(process.stdout);
        process.stdout.write = ((chunk: string | Uint8Array) => {
          writes.push(String(chunk));
          return true;
        }) as typeof process.stdout.write;
        let results: Array<string | null>;
        try {
          results = await Promise.all([1, 2, 3, 4, 5].map(() => svc.ensure()));
        } finally {
          process.stdout.write = original;
        }
        expect(results.filter(Boolean)).toEqual(['admin@localhost']);
        expect(await db2.sql(`SELECT 1 FROM users`)).toHaveLength(1);
        const banner = writes.join('');
        expect(banner).toContain('admin@localhost');
        const password = /Password:\s+(\S+)/.exec(banner)?.[1];
        expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
        expect(banner.match(/Password:/g)).toHaveLength(1); // printed once
        // The printed password logs in.
        await login(client(db2.baseUrl), 'admin@localhost', password!);
        // Users exist now: nothing happens.
        expect(await svc.ensure()).toBeNull();
      } finally {
        await db2.close();
        await db2.dropDatabase();
      }
    });

    it('boxes the banner with the URL, email and password', () => {
      const b = firstAdminBanner('admin@localhost', 'S3cret', 'http://localhost:3000');
      expect(b).toMatch(/╔═+╗/);
      expect(b).toContain('URL:       http://localhost:3000');
      expect(b).toContain('Email:     admin@localhost');
      const widths = new Set(
        b
          .trim()
          .split('\n')
          .map((l) => l.length),
      );
      expect(widths.size).toBe(1);
    });
  });

  describe('CRUD', () => {
    it('creates, reads, lists with paging and filters, updates and deletes users', async () => {
      const created = await http.post<User>(
        '/api/v2/users',
        {
          email: 'Ops.One@Example.test',
          name: 'Ops One',
          role: 'operator',
          password: 'Quiet-River-81',
        },
        as(admin.accessToken),
      );
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        email: 'ops.one@example.test',
        role: 'operator',
        disabled: false,
      });
      for (const i of [2, 3]) {
        await http.post(
          '/api/v2/users',
          {
            email: `viewer${i}@example.test`,
            name: `Viewer ${i}`,
            role: 'viewer',
            password: 'Quiet-River-81',
          },
          as(admin.accessToken),
        );
      }
      const one = await http.get<User>(`/api/v2/users/${created.body.id}`, as(admin.accessToken));
      expect(one.body).toEqual(created.body);

      const page1 = await http.get<Page<User>>(
        '/api/v2/users?limit=2&page=1',
        as(admin.accessToken),
      );
      const page2 = await http.get<Page<User>>(
        '/api/v2/users?limit=2&page=2',
        as(admin.accessToken),
      );
      expect(page1.body).toMatchObject({ total: 4, page: 1, limit: 2 });
      expect(page1.body.items).toHaveLength(2);
      expect(page2.body.items).toHaveLength(2);
      expect(new Set([...page1.body.items, ...page2.body.items].map((u) => u.id)).size).toBe(4);
      const viewers = await http.get<Page<User>>(
        '/api/v2/users?role=viewer',
        as(admin.accessToken),
      );
      expect(viewers.body.items.map((u) => u.email)).toEqual([
        'viewer2@example.test',
        'viewer3@example.test',
      ]);
      const q = await http.get<Page<User>>('/api/v2/users?q=ops', as(admin.accessToken));
      expect(q.body.items.map((u) => u.id)).toEqual([created.body.id]);

      const patched = await http.patch<User>(
        `/api/v2/users/${created.body.id}`,
        { name: 'Ops Uno' },
        as(admin.accessToken),
      );
      expect(patched.status).toBe(200);
      expect(patched.body.name).toBe('Ops Uno');

      const del = await http.delete(`/api/v2/users/${created.body.id}`, as(admin.accessToken));
      expect(del.status).toBe(204);
      expect(
        (await http.get(`/api/v2/users/${created.body.id}`, as(admin.accessToken))).status,
      ).toBe(404);
      const disabled = await http.get<Page<User>>(
        '/api/v2/users?disabled=false',
        as(admin.accessToken),
      );
      expect(disabled.body.total).toBe(3);
    });

    it('refuses a duplicate email with 409', async () => {
      const r = await http.post(
        '/api/v2/users',
        {
          email: ADMIN_EMAIL.toUpperCase(),
          name: 'Dup',
          role: 'viewer',
          password: 'Quiet-River-81',
        },
        as(admin.accessToken),
      );
      expect(r.status).toBe(409);
    });

    it('never returns a password hash, anywhere', async () => {
      const made = await http.post<User>(
        '/api/v2/users',
        {
          email: 'nohash@example.test',
          name: 'No Hash',
          role: 'viewer',
          password: 'Quiet-River-81',
        },
        as(admin.accessToken),
      );
      const responses = [
        made,
        await http.get(`/api/v2/users/${made.body.id}`, as(admin.accessToken)),
        await http.get('/api/v2/users?limit=500', as(admin.accessToken)),
        await http.patch(
          `/api/v2/users/${made.body.id}`,
          { role: 'operator' },
          as(admin.accessToken),
        ),
        await http.get('/api/v2/users/profile', as(admin.accessToken)),
        await http.post('/api/v2/auth/login', {
          email: 'nohash@example.test',
          password: 'Quiet-River-81',
        }),
      ];
      for (const r of responses) {
        expect(r.status).toBeLessThan(300);
        expect(JSON.stringify(r.body)).not.toMatch(HASHY);
      }
      const audit = await t.sql<{ changes: string }>(`SELECT changes::text FROM audit_logs`);
      expect(JSON.stringify(audit)).not.toMatch(/argon2|Quiet-River-81/);
    });
  });

  describe('mass assignment and bad input', () => {
    it('refuses unknown fields (id, passwordHash, role in the wrong place) and writes nothing', async () => {
      const viewer = await userWithRole(http, admin.accessToken, 'viewer');
      const before = await t.sql(
        `SELECT id, email, role, password_hash, disabled FROM users ORDER BY id`,
      );
      const attempts: Array<[string, string, unknown, string]> = [
        [
          'POST',
          '/api/v2/users',
          {
            email: 'x1@example.test',
            name: 'X',
            role: 'viewer',
            password: 'Quiet-River-81',
            id: '00000000-0000-4000-8000-000000000000',
          },
          admin.accessToken,
        ],
        [
          'POST',
          '/api/v2/users',
          {
            email: 'x2@example.test',
            name: 'X',
            role: 'viewer',
            password: 'Quiet-River-81',
            passwordHash: '$argon2id$x',
          },
          admin.accessToken,
        ],
        [
          'POST',
          '/api/v2/users',
          { email: 'x3@example.test', name: 'X', role: 'root', password: 'Quiet-River-81' },
          admin.accessToken,
        ],
        [
          'PATCH',
          `/api/v2/users/${viewer.created.id}`,
          { passwordHash: '$argon2id$x' },
          admin.accessToken,
        ],
        [
          'PATCH',
          `/api/v2/users/${viewer.created.id}`,
          { id: '00000000-0000-4000-8000-000000000000' },
          admin.accessToken,
        ],
        [
          'PATCH',
          `/api/v2/users/${viewer.created.id}`,
          { email: 'new@example.test' },
          admin.accessToken,
        ],
        ['PATCH', `/api/v2/users/${viewer.created.id}`, {}, admin.accessToken],
        ['PATCH', `/api/v2/users/${viewer.created.id}`, { disabled: 'yes' }, admin.accessToken],
        [
          'POST',
          '/api/v2/users/profile/password',
          { currentPassword: viewer.password, newPassword: 'Another-Fine-77', role: 'admin' },
          viewer.accessToken,
        ],
        [
          'POST',
          '/api/v2/auth/login',
          { email: viewer.created.email, password: viewer.password, role: 'admin' },
          '',
        ],
        [
          'POST',
          '/api/v2/users',
          { email: 'not-an-email', name: 'X', role: 'viewer', password: 'Quiet-River-81' },
          admin.accessToken,
        ],
        [
          'POST',
          '/api/v2/users',
          { email: 'x4@example.test', name: 'X', role: 'viewer', password: 'password1' },
          admin.accessToken,
        ],
        [
          'POST',
          '/api/v2/users',
          { email: 'x5@example.test', name: 'X', role: 'viewer', password: 'short' },
          admin.accessToken,
        ],
        [
          'POST',
          '/api/v2/users',
          { email: 'x6@example.test', name: '', role: 'viewer', password: 'Quiet-River-81' },
          admin.accessToken,
        ],
        ['POST', '/api/v2/users', [], admin.accessToken],
        ['GET', '/api/v2/users?limit=0', undefined, admin.accessToken],
        ['GET', '/api/v2/users?role=root', undefined, admin.accessToken],
        ['GET', '/api/v2/users/not-a-uuid', undefined, admin.accessToken],
      ];
      for (const [method, path, json, token] of attempts) {
        const r = await http.request<{ message: string }>(method, path, {
          json,
          token: token || undefined,
        });
        expect({ method, path, json, status: r.status }).toEqual({
          method,
          path,
          json,
          status: 400,
        });
        expect(r.body.message).toBeTruthy();
      }
      const after = await t.sql(
        `SELECT id, email, role, password_hash, disabled FROM users ORDER BY id`,
      );
      expect(after).toEqual(before);
      expect(
        (
          await http.patch(
            '/api/v2/users/00000000-0000-4000-8000-000000000000',
            { name: 'n' },
            as(admin.accessToken),
          )
        ).status,
      ).toBe(404);
    });
  });

  describe('changes that end sessions', () => {
    it.each([
      ['role change', { role: 'operator' }],
      ['disable', { disabled: true }],
      ['password reset', { password: 'Reset-By-Admin-55' }],
    ])('%s ends all of the user’s sessions', async (_name, change) => {
      const u = await userWithRole(http, admin.accessToken, 'viewer');
      const second = await login(http, u.created.email, u.password);
      const r = await http.patch<User>(
        `/api/v2/users/${u.created.id}`,
        change,
        as(admin.accessToken),
      );
      expect(r.status).toBe(200);
      for (const s of [u, second]) {
        expect((await http.get('/api/v2/users/profile', { token: s.accessToken })).status).toBe(
          401,
        );
        expect(
          (await http.post('/api/v2/auth/refresh', { refreshToken: s.refreshToken })).status,
        ).toBe(401);
      }
      const open = await t.sql(
        `SELECT 1 FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL`,
        [u.created.id],
      );
      expect(open).toHaveLength(0);
      if ('password' in change) await login(http, u.created.email, change.password);
    });

    it('a rename leaves sessions alone', async () => {
      const u = await userWithRole(http, admin.accessToken, 'viewer');
      await http.patch(`/api/v2/users/${u.created.id}`, { name: 'Renamed' }, as(admin.accessToken));
      expect((await http.get('/api/v2/users/profile', { token: u.accessToken })).status).toBe(200);
    });

    it('an admin resetting their own password keeps their current session', async () => {
      const a2 = await userWithRole(http, admin.accessToken, 'admin');
      const other = await login(http, a2.created.email, a2.password);
      const r = await http.patch(
        `/api/v2/users/${a2.created.id}`,
        { password: 'Own-Reset-Pass-31' },
        { token: a2.accessToken },
      );
      expect(r.status).toBe(200);
      expect((await http.get('/api/v2/users/profile', { token: a2.accessToken })).status).toBe(200);
      expect((await http.get('/api/v2/users/profile', { token: other.accessToken })).status).toBe(
        401,
      );
    });
  });

  describe('last admin', () => {
    it('cannot be demoted, disabled or deleted while no other admin is enabled', async () => {
      // Leave exactly one enabled admin.
      await t.sql(`UPDATE users SET role = 'viewer' WHERE role = 'admin' AND email <> $1`, [
        ADMIN_EMAIL,
      ]);
      const me = admin.user.id;
      for (const [method, json] of [
        ['PATCH', { role: 'operator' }],
        ['PATCH', { disabled: true }],
        ['DELETE', undefined],
      ] as const) {
        const r = await http.request<{ message: string }>(method, `/api/v2/users/${me}`, {
          json,
          token: admin.accessToken,
        });
        expect(r.status).toBe(409);
        expect(r.body.message).toMatch(/last enabled admin/);
      }
      const [row] = await t.sql<{ role: string; disabled: boolean }>(
        `SELECT role, disabled FROM users WHERE id = $1`,
        [me],
      );
      expect(row).toEqual({ role: 'admin', disabled: false });
      // A disabled admin does not count as another admin.
      const other = await userWithRole(http, admin.accessToken, 'admin');
      await http.patch(
        `/api/v2/users/${other.created.id}`,
        { disabled: true },
        as(admin.accessToken),
      );
      expect((await http.delete(`/api/v2/users/${me}`, as(admin.accessToken))).status).toBe(409);
    });

    it('lets exactly one of two admins demote the other at the same moment', async () => {
      await t.sql(`UPDATE users SET role = 'viewer' WHERE role = 'admin' AND email <> $1`, [
        ADMIN_EMAIL,
      ]);
      const b = await userWithRole(http, admin.accessToken, 'admin');
      const [r1, r2] = await Promise.all([
        http.patch(`/api/v2/users/${b.created.id}`, { role: 'viewer' }, as(admin.accessToken)),
        http.patch(`/api/v2/users/${admin.user.id}`, { role: 'viewer' }, { token: b.accessToken }),
      ]);
      const statuses = [r1.status, r2.status].sort();
      // One wins; the other is refused as the last admin (409) or, if the winner demoted it
      // first, because its own session ended (401).
      expect(statuses[0]).toBe(200);
      expect([401, 409]).toContain(statuses[1]);
      const admins = await t.sql(`SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled`);
      expect(admins).toHaveLength(1);
    });
  });
});
