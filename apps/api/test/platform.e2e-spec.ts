import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('platform (real PostgreSQL over HTTP)', () => {
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

  it('answers liveness and readiness', async () => {
    const live = await http.get<{ status: string }>('/api/v2/health');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    const ready = await http.get<{ status: string }>('/api/v2/health/ready');
    expect(ready.status).toBe(200);
  });

  it('answers unknown routes with the standard error shape', async () => {
    const r = await http.get<Record<string, unknown>>('/api/v2/does-not-exist');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.any(String) });
  });

  it('answers malformed JSON with 400 and the standard shape', async () => {
    const r = await http.request<Record<string, unknown>>('POST', '/api/v2/auth/login', {
      raw: '{"email": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('sends security headers with a CSP and a request id', async () => {
    const r = await http.get('/api/v2/health');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('serves the OpenAPI document', async () => {
    const r = await http.get<{ openapi: string; paths: Record<string, unknown> }>(
      '/api/v2/openapi.json',
    );
    expect(r.status).toBe(200);
    expect(r.body.paths['/api/v2/health']).toBeDefined();
  });
});
