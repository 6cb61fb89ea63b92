import type { FastifyRequest } from 'fastify';
import { budgetFor, credentialKey } from './rate-limit.policy.js';

function req(
  method: string,
  route: string | undefined,
  headers: Record<string, string> = {},
  config = {},
) {
  return {
    method,
    url: route?.replace(/:\w+/g, 'x') ?? '/api/v2/unknown',
    headers,
    routeOptions: { url: route, config },
  } as unknown as FastifyRequest;
}

describe('rate-limit policy', () => {
  it('puts agent telemetry in the ingest budget and the rest of the API in the api budget', () => {
    for (const r of [
      '/api/v2/agents/:id/heartbeat',
      '/api/v2/agents/:id/metrics',
      '/api/v2/agents/:id/events',
      '/api/v2/agents/:id/commits',
      '/api/v2/metrics/batch',
      '/api/v2/write',
      '/api/v2/agents/register',
      '/api/v1/agents/register',
    ]) {
      expect(budgetFor(req('POST', r))).toBe('ingest');
    }
    expect(budgetFor(req('GET', '/api/v2/agents/:id/metrics'))).toBe('api');
    expect(budgetFor(req('GET', '/api/v2/agents'))).toBe('api');
    expect(budgetFor(req('POST', '/api/v2/alerts/rules'))).toBe('api');
    expect(budgetFor(req('GET', undefined))).toBe('api');
  });

  it('leaves login (own throttling), health, /metrics and the dashboard files alone', () => {
    expect(budgetFor(req('POST', '/api/v2/auth/login'))).toBeNull();
    expect(budgetFor(req('GET', '/api/v2/health/ready'))).toBeNull();
    expect(budgetFor(req('GET', '/metrics'))).toBeNull();
    expect(budgetFor(req('GET', '/*'))).toBeNull();
  });

  it('honours a route-level override', () => {
    expect(budgetFor(req('POST', '/api/v2/x', {}, { rateLimit: 'ingest' }))).toBe('ingest');
    expect(budgetFor(req('GET', '/api/v2/x', {}, { rateLimit: 'off' }))).toBeNull();
  });

  it('keys credentials by a hash of X-API-Key, Bearer or Token, never the secret itself', () => {
    const a = credentialKey(req('GET', '/x', { 'x-api-key': 'am_secret' }));
    expect(a).toBe(credentialKey(req('GET', '/x', { authorization: 'Bearer am_secret' })));
    expect(a).toBe(credentialKey(req('GET', '/x', { authorization: 'Token am_secret' })));
    expect(a).not.toContain('secret');
    expect(credentialKey(req('GET', '/x', { authorization: 'Bearer other' }))).not.toBe(a);
    expect(credentialKey(req('GET', '/x'))).toBeNull();
  });
});
