import type {
  ApiKeyScope,
  CreatedApiKey,
  LoginResponse,
  Role,
  User,
} from '@agent-monitor/contracts';
import { BASE_URL, E2E_ADMIN } from '../../playwright.config.js';

/**
 * REST helpers for setting up data without clicking: log in as the e2e admin once and create
 * users, keys (or anything else with `request`). Names get a unique suffix so tests never collide.
 */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export class ApiClient {
  private constructor(private readonly token: string) {}

  static async login(email = E2E_ADMIN.email, password = E2E_ADMIN.password): Promise<ApiClient> {
    const res = await fetch(`${BASE_URL}/api/v2/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    if (!res.ok) throw new Error(`login as ${email}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as LoginResponse;
    return new ApiClient(body.accessToken);
  }

  /** Any API call as this user; throws with the API's message on a non-2xx. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${BASE_URL}/api/v2${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  createUser(opts: {
    role: Role;
    email?: string;
    name?: string;
    password?: string;
  }): Promise<User & { password: string }> {
    const email = opts.email ?? `${unique(opts.role)}@e2e.test`;
    const password = opts.password ?? `Pw-${unique('x')}-Aa1`;
    return this.request<User>('POST', '/users', {
      email,
      name: opts.name ?? `E2E ${opts.role}`,
      role: opts.role,
      password,
    }).then((u) => ({ ...u, password }));
  }

  createApiKey(opts: { name?: string; scopes: ApiKeyScope[] }): Promise<CreatedApiKey> {
    return this.request<CreatedApiKey>('POST', '/api-keys', {
      name: opts.name ?? unique('key'),
      scopes: opts.scopes,
    });
  }
}
