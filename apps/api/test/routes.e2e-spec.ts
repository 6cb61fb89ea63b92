import { startTestApp, type TestApp } from './support/test-app.js';
import { MUTATING, concreteUrl, routeKey, walkRoutes, type WalkedRoute } from './support/routes.js';

/**
 * Routes anyone may call without credentials. Adding a @Public route means adding it here,
 * in review, with a reason.
 */
const PUBLIC_ROUTES = [
  'POST /api/v2/auth/login', // how people get a token
  'POST /api/v2/auth/refresh', // authenticated by the refresh token in the body
  'POST /api/v2/auth/logout', // authenticated by either token; works with an expired access token
  'GET /api/v2/health', // liveness probe
  'GET /api/v2/health/ready', // readiness probe
  'GET /metrics', // Prometheus scrape; checks METRICS_TOKEN itself when one is configured
];

/** Mutating routes that write no audit row (telemetry); each needs a reason here too. */
const AUDIT_EXEMPT_ROUTES = [
  'POST /api/v2/agents/:id/heartbeat', // telemetry; status changes have their own history
  'POST /api/v2/agents/:id/events', // task events are their own record
  'POST /api/v2/agents/:id/commits', // commits are their own record
  'POST /api/v2/agents/:id/metrics', // metric samples
  'POST /api/v2/metrics/batch', // metric samples
  'POST /api/v2/write', // InfluxDB line protocol samples
];

describe('route walk: every route declares who may call it', () => {
  let t: TestApp;
  let routes: WalkedRoute[];

  beforeAll(async () => {
    t = await startTestApp();
    routes = walkRoutes(t.app);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('finds the controllers of the whole module graph, as registered in Fastify', () => {
    const keys = routes.map(routeKey);
    for (const k of [
      'POST /api/v2/auth/login',
      'GET /api/v2/users/:id',
      'DELETE /api/v2/api-keys/:id',
      'GET /api/v2/audit-logs',
    ]) {
      expect(keys).toContain(k);
    }
    const fastify = t.app.getHttpAdapter().getInstance();
    for (const r of routes) {
      const registered = fastify.hasRoute({ method: r.method as 'GET', url: r.url });
      expect({ route: routeKey(r), registered }).toEqual({ route: routeKey(r), registered: true });
    }
  });

  it('has @Access or @Public on every route, never both', () => {
    const undeclared = routes.filter((r) => !r.policy && !r.isPublic).map((r) => r.handler);
    expect(undeclared).toEqual([]);
    const both = routes.filter((r) => r.policy && r.isPublic).map((r) => r.handler);
    expect(both).toEqual([]);
  });

  it('declares something usable in every @Access (a role or scopes)', () => {
    const empty = routes
      .filter((r) => r.policy && !r.policy.role && !r.policy.scopes?.length)
      .map((r) => r.handler);
    expect(empty).toEqual([]);
  });

  it('has exactly the allow-listed @Public routes', () => {
    const pub = routes
      .filter((r) => r.isPublic)
      .map(routeKey)
      .sort();
    expect(pub).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('exempts from audit only allow-listed routes, and only mutating ones', () => {
    const exempt = routes.filter((r) => r.auditExempt).map(routeKey);
    const unlisted = exempt.filter((k) => !AUDIT_EXEMPT_ROUTES.includes(k));
    expect(unlisted).toEqual([]);
    const reads = routes.filter((r) => r.auditExempt && !MUTATING.has(r.method)).map(routeKey);
    expect(reads).toEqual([]); // reads write no audit rows anyway: an exemption there is a typo
  });

  it('answers 401 without credentials on every non-public route', async () => {
    for (const r of routes.filter((x) => !x.isPublic)) {
      const res = await fetch(t.baseUrl + concreteUrl(r.url), {
        method: r.method,
        headers:
          r.method === 'GET' || r.method === 'DELETE' ? {} : { 'content-type': 'application/json' },
        body: r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}',
      });
      expect({ route: routeKey(r), status: res.status }).toEqual({
        route: routeKey(r),
        status: 401,
      });
    }
  });
});
