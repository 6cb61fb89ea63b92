import type { LoginResponse, Role, User } from '@agent-monitor/contracts';
import type { Client } from './http.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './test-app.js';

/** Logs in over HTTP; throws with the answer when it fails. */
export async function login(
  http: Client,
  email = ADMIN_EMAIL,
  password = ADMIN_PASSWORD,
  headers?: Record<string, string>,
): Promise<LoginResponse> {
  const r = await http.post<LoginResponse>('/api/v2/auth/login', { email, password }, { headers });
  if (r.status !== 200) throw new Error(`login ${email} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Creates a user as the given admin and logs them in; returns their tokens. */
export async function userWithRole(
  http: Client,
  adminToken: string,
  role: Role,
  email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.test`,
  password = 'Unusual-Pass-4-Tests',
): Promise<LoginResponse & { password: string; created: User }> {
  const r = await http.post<User>(
    '/api/v2/users',
    { email, name: `${role} user`, role, password },
    { token: adminToken },
  );
  if (r.status !== 201) throw new Error(`create ${role} → ${r.status} ${JSON.stringify(r.body)}`);
  return { ...(await login(http, email, password)), password, created: r.body };
}
