import type { ApiKeyScope, CreatedApiKey, Role } from '@agent-monitor/contracts';
import { ROLE_RANK } from '../src/common/access.js';
import { client, type Client } from './support/http.js';
import { login, userWithRole } from './support/login.js';
import { MUTATING, concreteUrl, routeKey, walkRoutes, type WalkedRoute } from './support/routes.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** The only mutating routes a viewer may call (their own account). */
const VIEWER_MUTATIONS = ['POST /api/v2/users/profile/password'];
/** Routes about the signed-in person: refused to every key, even an `admin`-scoped one. */
const PEOPLE_ONLY = ['GET /api/v2/users/profile', 'POST /api/v2/users/profile/password'];

/**
 * Role × route over every registered route: the guard runs before validation, so a 403 for
 * an empty body proves the caller was refused, and anything but 401/403 proves the caller
 * was let through (the body then fails validation or the fake id is not found).
 */
describe('RBAC: every role and key scope against every route', () => {
  let t: TestApp;
  let http: Client;
  let routes: WalkedRoute[];
  const token: Partial<Record<Role, string>> = {};
  const keyOf: Partial<Record<ApiKeyScope, string>> = {};

  const call = async (r: WalkedRoute, headers: Record<string, string>) => {
    const hasBody = r.method !== 'GET' && r.method !== 'DELETE';
    const res = await http.request(r.method, concreteUrl(r.url), {
      headers,
      ...(hasBody ? { json: {} } : {}),
    });
    return res.status;
  };
  const bearer = (role: Role) => ({ authorization: `Bearer ${token[role]}` });

  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
    http = client(t.baseUrl);
    routes = walkRoutes(t.app).filter((r) => !r.isPublic && r.policy);
    token.admin = (await login(http)).accessToken;
    token.operator = (await userWithRole(http, token.admin, 'operator')).accessToken;
    token.viewer = (await userWithRole(http, token.admin, 'viewer')).accessToken;
    for (const scope of ['read', 'metrics:write', 'agents:register', 'admin'] as const) {
      const k = await http.post<CreatedApiKey>(
        '/api/v2/api-keys',
        { name: `rbac ${scope}`, scopes: [scope] },
        { token: token.admin },
      );
      keyOf[scope] = k.body.key;
    }
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('walks a meaningful number of routes', () => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
  });

  it('viewers cannot mutate anything but their own password', async () => {
    const open = routes
      .filter((r) => MUTATING.has(r.method) && r.policy!.role === 'viewer')
      .map(routeKey);
    expect(open.sort()).toEqual([...VIEWER_MUTATIONS].sort());
    for (const r of routes.filter(
      (x) => MUTATING.has(x.method) && !VIEWER_MUTATIONS.includes(routeKey(x)),
    )) {
      expect({ route: routeKey(r), status: await call(r, bearer('viewer')) }).toEqual({
        route: routeKey(r),
        status: 403,
      });
    }
  });

  it.each(['viewer', 'operator', 'admin'] as const)(
    '%s is refused exactly the routes above its role',
    async (role) => {
      for (const r of routes) {
        const needed = r.policy!.role;
        const allowed = needed !== undefined && ROLE_RANK[role] >= ROLE_RANK[needed];
        const status = await call(r, bearer(role));
        if (allowed) {
          expect({ route: routeKey(r), role, refused: [401, 403].includes(status) }).toEqual({
            route: routeKey(r),
            role,
            refused: false,
          });
        } else {
          expect({ route: routeKey(r), role, status }).toEqual({
            route: routeKey(r),
            role,
            status: 403,
          });
        }
      }
    },
  );

  it('operators cannot manage users, API keys or read the audit log', async () => {
    const adminFamilies = routes.filter(
      (r) =>
        /^\/api\/v2\/(users|api-keys|audit-logs)(\/|$)/.test(r.url) && !r.url.includes('/profile'),
    );
    expect(adminFamilies.length).toBeGreaterThanOrEqual(8);
    for (const r of adminFamilies) {
      expect({ route: routeKey(r), status: await call(r, bearer('operator')) }).toEqual({
        route: routeKey(r),
        status: 403,
      });
    }
  });

  it.each(['read', 'metrics:write', 'agents:register', 'admin'] as const)(
    'a key with scope %s reaches exactly the routes that grant it',
    async (scope) => {
      for (const r of routes) {
        const granted =
          !PEOPLE_ONLY.includes(routeKey(r)) &&
          (scope === 'admin' || (r.policy!.scopes ?? []).includes(scope));
        const status = await call(r, { 'x-api-key': keyOf[scope]! });
        if (granted) {
          expect({ route: routeKey(r), scope, refused: [401, 403].includes(status) }).toEqual({
            route: routeKey(r),
            scope,
            refused: false,
          });
        } else {
          expect({ route: routeKey(r), scope, status }).toEqual({
            route: routeKey(r),
            scope,
            status: 403,
          });
        }
      }
    },
  );

  it('admins can really manage users and keys (not just pass the guard)', async () => {
    const u = await http.post<{ id: string }>(
      '/api/v2/users',
      { email: 'rbac-made@example.test', name: 'Made', role: 'viewer', password: 'Quiet-River-81' },
      { token: token.admin },
    );
    expect(u.status).toBe(201);
    expect(
      (await http.patch(`/api/v2/users/${u.body.id}`, { role: 'operator' }, { token: token.admin }))
        .status,
    ).toBe(200);
    expect((await http.delete(`/api/v2/users/${u.body.id}`, { token: token.admin })).status).toBe(
      204,
    );
    const k = await http.post<{ id: string }>(
      '/api/v2/api-keys',
      { name: 'x', scopes: ['read'] },
      { token: token.admin },
    );
    expect(k.status).toBe(201);
    expect(
      (await http.delete(`/api/v2/api-keys/${k.body.id}`, { token: token.admin })).status,
    ).toBe(200);
    expect((await http.get('/api/v2/audit-logs', { token: token.admin })).status).toBe(200);
  });
});
