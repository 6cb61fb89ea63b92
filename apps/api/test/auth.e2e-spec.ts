import { createHmac } from 'node:crypto';
import type { LoginResponse, TokenPair, User } from '@agent-monitor/contracts';
import { SessionsService } from '../src/modules/auth/sessions.service.js';
import { client, type Client } from './support/http.js';
import { login, userWithRole } from './support/login.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, type TestApp } from './support/test-app.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(header: object, payload: object, secret: string | null): string {
  const head = `${b64(header)}.${b64(payload)}`;
  const sig = secret ? createHmac('sha256', secret).update(head).digest('base64url') : '';
  return `${head}.${sig}`;
}
const decode = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

describe('auth (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const profile = (token: string) => http.get<User>('/api/v2/users/profile', { token });
  const refresh = (refreshToken: string) =>
    http.post<TokenPair & { message?: string }>('/api/v2/auth/refresh', { refreshToken });

  describe('login', () => {
    it('returns a token pair and the user (no hash) for the right password', async () => {
      const r = await http.post<LoginResponse>('/api/v2/auth/login', {
        email: ADMIN_EMAIL.toUpperCase(),
        password: ADMIN_PASSWORD,
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
        user: expect.objectContaining({ email: ADMIN_EMAIL, role: 'admin', disabled: false }),
      });
      expect(JSON.stringify(r.body)).not.toMatch(/argon2|passwordHash|password_hash/);
      const claims = decode(r.body.accessToken);
      expect(claims).toMatchObject({ typ: 'access', role: 'admin', sub: r.body.user.id });
      expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
      const rc = decode(r.body.refreshToken);
      expect(rc).toMatchObject({ typ: 'refresh', sid: claims.sid });
      expect(Number(rc.exp) - Number(rc.iat)).toBe(7 * 86400);
      const me = await profile(r.body.accessToken);
      expect(me.status).toBe(200);
      expect(me.body.email).toBe(ADMIN_EMAIL);
      expect(me.body.lastLoginAt).not.toBeNull();
    });

    it('answers an unknown user and a wrong password identically', async () => {
      const unknown = await http.post('/api/v2/auth/login', {
        email: 'nobody@example.test',
        password: 'Whatever-123-x',
      });
      const wrong = await http.post('/api/v2/auth/login', {
        email: ADMIN_EMAIL,
        password: 'Whatever-123-x',
      });
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect(unknown.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid email or password',
      });
    });

    it('spends similar time on an unknown user as on a wrong password', async () => {
      const time = async (email: string) => {
        const start = process.hrtime.bigint();
        await http.post('/api/v2/auth/login', { email, password: 'Timing-Probe-77' });
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 3; i++) {
        unknown.push(await time(`ghost${i}@example.test`));
        wrong.push(await time(ADMIN_EMAIL));
      }
      // Both run one argon2 verification (~20+ ms); without the dummy hash unknown is ~1 ms.
      expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.4);
      // A correct login resets the account's failure counter for the tests that follow.
      await login(http);
    });

    it('refuses a disabled account with the same answer', async () => {
      const admin = await login(http);
      const u = await userWithRole(http, admin.accessToken, 'viewer');
      await http.patch(
        `/api/v2/users/${u.created.id}`,
        { disabled: true },
        { token: admin.accessToken },
      );
      const r = await http.post('/api/v2/auth/login', {
        email: u.created.email,
        password: u.password,
      });
      expect(r.status).toBe(401);
      expect((r.body as { message: string }).message).toBe('Invalid email or password');
    });

    it('answers bad input with 400 and never a 500', async () => {
      for (const json of [
        {},
        { email: ADMIN_EMAIL },
        { email: 5, password: 'x' },
        { email: ADMIN_EMAIL, password: 'x'.repeat(300) },
        { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, role: 'admin' },
      ]) {
        const r = await http.post('/api/v2/auth/login', json);
        expect({ json, status: r.status }).toEqual({ json, status: 400 });
      }
    });

    it('records successful and failed logins in the audit log without passwords', async () => {
      const rows = await t.sql<{ action: string; outcome: string; changes: unknown }>(
        `SELECT action, outcome, changes FROM audit_logs WHERE action = 'auth.login'`,
      );
      expect(rows.some((r) => r.outcome === 'success')).toBe(true);
      expect(rows.some((r) => r.outcome === 'failure')).toBe(true);
      const text = JSON.stringify(rows);
      expect(text).not.toContain(ADMIN_PASSWORD);
      expect(text).not.toContain('Whatever-123-x');
      // The generic interceptor row is not added on top of the service's own failure row.
      const generic = await t.sql(
        `SELECT 1 FROM audit_logs WHERE action = 'POST /api/v2/auth/login' AND changes->>'status' = '401'`,
      );
      expect(generic).toHaveLength(0);
    });
  });

  describe('refresh', () => {
    it('rotates the refresh token on every use', async () => {
      const a = await login(http);
      const r1 = await refresh(a.refreshToken);
      expect(r1.status).toBe(200);
      expect(r1.body.refreshToken).not.toBe(a.refreshToken);
      expect(decode(r1.body.refreshToken).sid).toBe(decode(a.refreshToken).sid);
      expect((await profile(r1.body.accessToken)).status).toBe(200);
      const r2 = await refresh(r1.body.refreshToken);
      expect(r2.status).toBe(200);
    });

    it('revokes the whole session when a used refresh token is replayed', async () => {
      const a = await login(http);
      const r1 = await refresh(a.refreshToken);
      const r2 = await refresh(r1.body.refreshToken);
      expect(r2.status).toBe(200);
      // a.refreshToken is two rotations old: a replay, not a race.
      const replay = await refresh(a.refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body.message).toMatch(/reuse/);
      expect((await refresh(r2.body.refreshToken)).status).toBe(401);
      expect((await profile(r2.body.accessToken)).status).toBe(401);
      const [s] = await t.sql<{ revoked_reason: string }>(
        `SELECT revoked_reason FROM user_sessions WHERE id = $1`,
        [decode(a.refreshToken).sid],
      );
      expect(s.revoked_reason).toBe('reuse');
      const audit = await t.sql(
        `SELECT 1 FROM audit_logs WHERE action = 'auth.refresh_reuse' AND resource_id = $1`,
        [decode(a.refreshToken).sid],
      );
      expect(audit).toHaveLength(1);
    });

    it('lets exactly one of two concurrent refreshes win, and keeps the session', async () => {
      const a = await login(http);
      const results = await Promise.all([refresh(a.refreshToken), refresh(a.refreshToken)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
      const winner = results.find((r) => r.status === 200)!;
      expect((await profile(winner.body.accessToken)).status).toBe(200);
      expect((await refresh(winner.body.refreshToken)).status).toBe(200);
    });

    it('treats the just-replaced token as a race within the grace period, a replay after it', async () => {
      const a = await login(http);
      const r1 = await refresh(a.refreshToken);
      const race = await refresh(a.refreshToken);
      expect(race.status).toBe(401);
      expect(race.body.message).toMatch(/already used/);
      const sid = decode(a.refreshToken).sid as string;
      // Age the rotation past the grace period, as time would.
      await t.sql(`UPDATE user_sessions SET rotated_at = now() - interval '6 s' WHERE id = $1`, [
        sid,
      ]);
      const replay = await refresh(a.refreshToken);
      expect(replay.status).toBe(401);
      expect((await refresh(r1.body.refreshToken)).status).toBe(401);
    });

    it('refuses garbage, access tokens and tokens signed with another secret', async () => {
      const a = await login(http);
      expect((await refresh('not-a-jwt-at-all')).status).toBe(401);
      expect((await refresh(a.accessToken)).status).toBe(401);
      const forged = jwt({ alg: 'HS256', typ: 'JWT' }, decode(a.refreshToken), 'x'.repeat(48));
      expect((await refresh(forged)).status).toBe(401);
      expect((await http.post('/api/v2/auth/refresh', {})).status).toBe(400);
    });
  });

  describe('session housekeeping', () => {
    it('deletes sessions ended or expired more than 30 days ago, and only those', async () => {
      const a = await login(http);
      const b = await login(http);
      const c = await login(http);
      const sid = (x: LoginResponse) => decode(x.refreshToken).sid as string;
      await t.sql(
        `UPDATE user_sessions SET revoked_at = now() - interval '31 days', revoked_reason = 'logout' WHERE id = $1`,
        [sid(a)],
      );
      await t.sql(
        `UPDATE user_sessions SET expires_at = now() - interval '31 days' WHERE id = $1`,
        [sid(b)],
      );
      expect(await t.app.get(SessionsService).prune()).toBe(2);
      const left = await t.sql<{ id: string }>(
        `SELECT id FROM user_sessions WHERE id = ANY($1::uuid[])`,
        [[sid(a), sid(b), sid(c)]],
      );
      expect(left.map((r) => r.id)).toEqual([sid(c)]);
      expect((await profile(c.accessToken)).status).toBe(200);
    });
  });

  describe('logout', () => {
    it('ends the session: access and refresh tokens stop working, other sessions live on', async () => {
      const a = await login(http);
      const b = await login(http);
      const r = await http.post('/api/v2/auth/logout', {}, { token: a.accessToken });
      expect(r.status).toBe(204);
      expect((await profile(a.accessToken)).status).toBe(401);
      expect((await refresh(a.refreshToken)).status).toBe(401);
      expect((await profile(b.accessToken)).status).toBe(200);
    });

    it('accepts the refresh token alone (expired access token) and refuses anonymous calls', async () => {
      const a = await login(http);
      const r = await http.post('/api/v2/auth/logout', { refreshToken: a.refreshToken });
      expect(r.status).toBe(204);
      expect((await profile(a.accessToken)).status).toBe(401);
      expect((await http.post('/api/v2/auth/logout', {})).status).toBe(401);
    });
  });

  describe('access tokens', () => {
    let a: LoginResponse;
    beforeAll(async () => {
      a = await login(http);
    });

    it('refuses a bad signature, alg none, a wrong secret and a refresh token', async () => {
      const claims = decode(a.accessToken);
      const [h, p, s] = a.accessToken.split('.');
      const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
      const cases: Record<string, string> = {
        'bad signature': flipped,
        'alg none': jwt({ alg: 'none', typ: 'JWT' }, claims, null),
        'wrong secret': jwt({ alg: 'HS256', typ: 'JWT' }, claims, 'y'.repeat(48)),
        'HS512 with the right secret': (() => {
          const head = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(claims)}`;
          return `${head}.${createHmac('sha512', t.config.jwtSecret).update(head).digest('base64url')}`;
        })(),
        'refresh token as access token': a.refreshToken,
        'access claims signed with the refresh secret': jwt(
          { alg: 'HS256', typ: 'JWT' },
          claims,
          t.config.jwtRefreshSecret,
        ),
        'tampered role': `${h}.${b64({ ...claims, role: 'admin', sub: '00000000-0000-4000-8000-000000000000' })}.${s}`,
      };
      for (const [name, token] of Object.entries(cases)) {
        const r = await profile(token);
        expect({ name, status: r.status }).toEqual({ name, status: 401 });
      }
      expect((await profile(a.accessToken)).status).toBe(200);
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = jwt(
        { alg: 'HS256', typ: 'JWT' },
        { ...decode(a.accessToken), iat: now - 1000, exp: now - 10 },
        t.config.jwtSecret,
      );
      const r = await profile(expired);
      expect(r.status).toBe(401);
      expect((r.body as unknown as { message: string }).message).toBe('Access token expired');
    });

    it('accepts a well-formed token we signed ourselves (the forging helper is faithful)', async () => {
      const token = jwt({ alg: 'HS256', typ: 'JWT' }, decode(a.accessToken), t.config.jwtSecret);
      expect((await profile(token)).status).toBe(200);
    });
  });

  describe('password change', () => {
    it('ends the other sessions, keeps this one, and the new password works', async () => {
      const admin = await login(http);
      const u = await userWithRole(http, admin.accessToken, 'operator');
      const other = await login(http, u.created.email, u.password);
      const r = await http.post(
        '/api/v2/users/profile/password',
        { currentPassword: u.password, newPassword: 'Brand-New-Secret-42' },
        { token: u.accessToken },
      );
      expect(r.status).toBe(204);
      expect((await profile(u.accessToken)).status).toBe(200);
      expect((await profile(other.accessToken)).status).toBe(401);
      expect((await refresh(other.refreshToken)).status).toBe(401);
      expect(
        (await http.post('/api/v2/auth/login', { email: u.created.email, password: u.password }))
          .status,
      ).toBe(401);
      await login(http, u.created.email, 'Brand-New-Secret-42');
      const audit = await t.sql<{ changes: string }>(
        `SELECT changes::text FROM audit_logs WHERE action = 'user.change_password' AND resource_id = $1`,
        [u.created.id],
      );
      expect(audit).toHaveLength(1);
      expect(audit[0].changes).not.toContain('Brand-New-Secret-42');
    });

    it('refuses a wrong current password, a common or short new one, and extra fields', async () => {
      const admin = await login(http);
      const u = await userWithRole(http, admin.accessToken, 'viewer');
      const change = (json: unknown) =>
        http.post<{ message: string }>('/api/v2/users/profile/password', json, {
          token: u.accessToken,
        });
      expect(
        (await change({ currentPassword: 'Not-The-One-1', newPassword: 'Another-Fine-77' })).status,
      ).toBe(400);
      const common = await change({ currentPassword: u.password, newPassword: 'Password123!' });
      expect(common.status).toBe(400);
      expect(common.body.message).toMatch(/newPassword.*common/);
      expect((await change({ currentPassword: u.password, newPassword: 'short' })).status).toBe(
        400,
      );
      expect(
        (await change({ currentPassword: u.password, newPassword: 'x'.repeat(257) })).status,
      ).toBe(400);
      expect(
        (
          await change({
            currentPassword: u.password,
            newPassword: 'Another-Fine-77',
            role: 'admin',
          })
        ).status,
      ).toBe(400);
      expect((await change({ currentPassword: u.password, newPassword: u.password })).status).toBe(
        400,
      );
      await login(http, u.created.email, u.password); // unchanged
    });

    it('is not available to API keys', async () => {
      const admin = await login(http);
      const key = await http.post<{ key: string }>(
        '/api/v2/api-keys',
        { name: 'k', scopes: ['admin'] },
        { token: admin.accessToken },
      );
      const r = await http.get('/api/v2/users/profile', { headers: { 'x-api-key': key.body.key } });
      expect(r.status).toBe(403);
    });
  });
});
