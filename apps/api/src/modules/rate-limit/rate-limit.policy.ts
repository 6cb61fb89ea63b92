import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export type Budget = 'ingest' | 'api';

/** Route config a controller may set with `@RouteConfig({ rateLimit: 'ingest' | 'api' | 'off' })`. */
export interface RateLimitRouteConfig {
  rateLimit?: Budget | 'off';
}

// Telemetry sent by agents: heartbeats, samples, line protocol, activity, registration.
const INGEST_ROUTE =
  /^\/api\/v[12]\/(agents\/:[^/]+\/(heartbeat|metrics|events|commits)|metrics\/batch|write|agents\/register)$/;

// Login has its own per-IP and per-account throttling in the auth module.
const EXEMPT_ROUTE = /^\/api\/v2\/(auth\/login|health(\/ready)?)$/;

/** Which budget a request counts against, or null when it is not rate limited here. */
export function budgetFor(req: FastifyRequest): Budget | null {
  const route = req.routeOptions.url;
  if (!route) return req.url.startsWith('/api/') ? 'api' : null;
  const configured = (req.routeOptions.config as RateLimitRouteConfig | undefined)?.rateLimit;
  if (configured === 'off') return null;
  if (configured) return configured;
  if (!route.startsWith('/api/')) return null;
  if (EXEMPT_ROUTE.test(route)) return null;
  if (req.method === 'POST' && INGEST_ROUTE.test(route)) return 'ingest';
  return 'api';
}

/**
 * The presented credential (API key or bearer token), hashed: the limiter runs before
 * authentication, so invalid keys are counted too (and a flood of made-up keys still meets
 * the per-IP budget). Null for anonymous requests.
 */
export function credentialKey(req: FastifyRequest): string | null {
  const apiKey = req.headers['x-api-key'];
  let raw = typeof apiKey === 'string' ? apiKey : null;
  if (!raw) {
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^(?:Bearer|Token)\s+(\S+)/i.exec(auth) : null;
    raw = m ? m[1] : null;
  }
  if (!raw) return null;
  return createHash('sha256').update(raw).digest('base64url').slice(0, 22);
}
