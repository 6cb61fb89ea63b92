import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { ApiKeyScope, Role } from '@agent-monitor/contracts';
import { generateApiKey, apiKeyPrefix } from '../src/modules/api-keys/api-key-secret.js';
import { hashApiKey } from '../src/modules/auth/principal-resolver.service.js';
import type { TestApp } from './support/test-app.js';

/**
 * Credentials for the agents/realtime suites, written straight into the suite's database so
 * these suites do not depend on the login flow: an API key with given scopes, and a user with
 * a live session and a signed access token (exactly what login would hand out).
 */
export async function createApiKey(
  t: TestApp,
  scopes: ApiKeyScope[],
  name = 'test',
): Promise<string> {
  const key = generateApiKey();
  await t.sql(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)`, [
    name,
    apiKeyPrefix(key),
    hashApiKey(key),
    scopes,
  ]);
  return key;
}

export interface TestUser {
  userId: string;
  sessionId: string;
  token: string;
}

export async function createUser(
  t: TestApp,
  role: Role,
  opts: { expiresInSec?: number } = {},
): Promise<TestUser> {
  const email = `${role}-${randomUUID().slice(0, 8)}@example.test`;
  const [u] = await t.sql<{ id: string }>(
    `INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
    [email, `${role} user`, role],
  );
  const sessionId = randomUUID();
  await t.sql(
    `INSERT INTO user_sessions (id, user_id, current_token_id, last_used_at, expires_at)
     VALUES ($1, $2, $3, now(), now() + interval '1 day')`,
    [sessionId, u.id, randomUUID()],
  );
  return {
    userId: u.id,
    sessionId,
    token: signAccess(t, u.id, sessionId, role, opts.expiresInSec ?? 900),
  };
}

export function signAccess(
  t: TestApp,
  userId: string,
  sessionId: string,
  role: Role,
  expiresInSec: number,
): string {
  return new JwtService({}).sign(
    { sub: userId, sid: sessionId, typ: 'access', role },
    { secret: t.config.jwtSecret, algorithm: 'HS256', expiresIn: expiresInSec },
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 5000,
  stepMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await sleep(stepMs);
  }
}
