import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { ApiKey, CreatedApiKey, Page } from '@agent-monitor/contracts';
import { ApiKeysService } from '../src/modules/api-keys/api-keys.service.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('API keys (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  /** A bootstrap admin-scoped key written straight to the table (no login needed). */
  const rootKey = 'am_' + 'R'.repeat(40);
  const asRoot = { headers: { 'x-api-key': rootKey } };

  beforeAll(async () => {
    t = await startTestApp();
    http = client(t.baseUrl);
    await t.sql(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('root', $1, $2, '{admin}')`,
      [rootKey.slice(0, 11), sha256(rootKey)],
    );
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('creates a key, shows the secret once, stores only its SHA-256', async () => {
    const r = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'ci reader', scopes: ['read'] },
      asRoot,
    );
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(/^am_[0-9A-Za-z]{40}$/);
    expect(r.body.prefix).toBe(r.body.key.slice(0, 11));
    expect(r.body.scopes).toEqual(['read']);
    const rows = await t.sql<{ key_hash: string }>(`SELECT key_hash FROM api_keys WHERE id = $1`, [
      r.body.id,
    ]);
    expect(rows[0].key_hash).toBe(sha256(r.body.key));

    const list = await http.get<Page<ApiKey>>('/api/v2/api-keys?limit=10', asRoot);
    expect(list.status).toBe(200);
    const listed = list.body.items.find((k) => k.id === r.body.id)!;
    expect(listed).toMatchObject({ name: 'ci reader', prefix: r.body.prefix, revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(r.body.key);
    expect(JSON.stringify(list.body)).not.toContain(sha256(r.body.key));
    expect(Object.keys(listed)).not.toContain('key');
  });

  it('accepts a key as Bearer, Token and X-API-Key; refuses it once revoked', async () => {
    const { body } = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'admin tool', scopes: ['admin'] },
      asRoot,
    );
    for (const headers of <Array<Record<string, string>>>[
      { authorization: `Bearer ${body.key}` },
      { authorization: `Token ${body.key}` },
      { 'x-api-key': body.key },
    ]) {
      expect((await http.get('/api/v2/api-keys', { headers })).status).toBe(200);
    }
    const del = await http.delete<ApiKey>(`/api/v2/api-keys/${body.id}`, asRoot);
    expect(del.status).toBe(200);
    expect(del.body.revokedAt).not.toBeNull();
    const after = await http.get('/api/v2/api-keys', { headers: { 'x-api-key': body.key } });
    expect(after.status).toBe(401);
  });

  it('records when a key was last used (batched, within about a second)', async () => {
    const { body } = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'usage probe', scopes: ['read', 'admin'] },
      asRoot,
    );
    expect(body.lastUsedAt).toBeNull();
    expect(
      (await http.get('/api/v2/api-keys', { headers: { 'x-api-key': body.key } })).status,
    ).toBe(200);
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 40 && !lastUsedAt; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = await http.get<Page<ApiKey>>('/api/v2/api-keys?limit=100', asRoot);
      lastUsedAt = list.body.items.find((k) => k.id === body.id)?.lastUsedAt ?? null;
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.now() - Date.parse(lastUsedAt!)).toBeLessThan(10_000);
  });

  it('refuses an expired key', async () => {
    const { body } = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      {
        name: 'short lived',
        scopes: ['admin'],
        expiresAt: new Date(Date.now() + 1_500).toISOString(),
      },
      asRoot,
    );
    const asShort = { headers: { 'x-api-key': body.key } };
    expect((await http.get('/api/v2/api-keys', asShort)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_700));
    const r = await http.get<{ message: string }>('/api/v2/api-keys', asShort);
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('API key expired');
  });

  it('issues agent keys bound to one agent and revokes them on re-registration', async () => {
    const keys = t.app.get(ApiKeysService);
    const ds = t.app.get(DataSource);
    const agentId = randomUUID();
    const first = await ds.transaction((m) => keys.issueAgentKey(m, agentId, 'worker-1'));
    expect(first.key).toMatch(/^am_[0-9A-Za-z]{40}$/);
    const [row] = await t.sql<{ scopes: string[]; agent_id: string; key_hash: string }>(
      `SELECT scopes, agent_id, key_hash FROM api_keys WHERE id = $1`,
      [first.id],
    );
    expect(row).toEqual({
      scopes: ['agents:write'],
      agent_id: agentId,
      key_hash: sha256(first.key),
    });
    // Authenticated (403: an agent key may not manage keys), not anonymous (401).
    expect(
      (await http.get('/api/v2/api-keys', { headers: { 'x-api-key': first.key } })).status,
    ).toBe(403);

    const second = await ds.transaction(async (m) => {
      expect(await keys.revokeAgentKeys(m, agentId)).toEqual([first.id]);
      return keys.issueAgentKey(m, agentId, 'worker-1');
    });
    expect(
      (await http.get('/api/v2/api-keys', { headers: { 'x-api-key': first.key } })).status,
    ).toBe(401);
    expect(
      (await http.get('/api/v2/api-keys', { headers: { 'x-api-key': second.key } })).status,
    ).toBe(403);
    const listed = await http.get<Page<ApiKey>>(`/api/v2/api-keys?agentId=${agentId}`, asRoot);
    expect(listed.body.items.map((k) => [k.id, k.revokedAt === null])).toEqual(
      expect.arrayContaining([
        [first.id, false],
        [second.id, true],
      ]),
    );
  });

  it('refuses a revoked agent key at once even when a request re-cached it before the commit', async () => {
    const keys = t.app.get(ApiKeysService);
    const ds = t.app.get(DataSource);
    const agentId = randomUUID();
    const old = await ds.transaction((m) => keys.issueAgentKey(m, agentId, 'racer'));
    const asOld = { headers: { 'x-api-key': old.key } };
    await ds.transaction(async (m) => {
      await keys.revokeAgentKeys(m, agentId);
      // Not committed yet: this request sees the key live and caches it.
      expect((await http.get('/api/v2/api-keys', asOld)).status).toBe(403);
    });
    expect((await http.get('/api/v2/api-keys', asOld)).status).toBe(401);
  });

  it('refuses a key revoked by another instance within seconds (revocation feed)', async () => {
    const { body } = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'revoked elsewhere', scopes: ['read'] },
      asRoot,
    );
    const asKey = { headers: { 'x-api-key': body.key } };
    expect((await http.get('/api/v2/agents', asKey)).status).toBe(200); // now cached here
    // Revoked the way another API instance (or an operator in psql) would: in the database,
    // without this instance's forgetApiKey. The revocation feed must drop the cached key.
    await t.sql(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [body.id]);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 4_000) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await http.get('/api/v2/agents', asKey)).status;
    }
    expect(status).toBe(401);
  });

  it('refuses bad input and writes nothing', async () => {
    const before = await t.sql<{ n: string }>(`SELECT count(*) AS n FROM api_keys`);
    const bad: unknown[] = [
      {},
      { name: '', scopes: ['read'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['root'] },
      { name: 'x', scopes: ['read'], keyHash: 'abc' },
      { name: 'x', scopes: ['read'], id: '00000000-0000-0000-0000-000000000000' },
      { name: 'x', scopes: ['agents:write'] },
      { name: 'x', scopes: ['read'], expiresAt: 'tomorrow' },
      { name: 'x', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x'.repeat(121), scopes: ['read'] },
    ];
    for (const json of bad) {
      const r = await http.post<{ statusCode: number; message: string }>(
        '/api/v2/api-keys',
        json,
        asRoot,
      );
      expect({ json, status: r.status }).toEqual({ json, status: 400 });
      expect(r.body.message).toBeTruthy();
    }
    const after = await t.sql<{ n: string }>(`SELECT count(*) AS n FROM api_keys`);
    expect(after[0].n).toBe(before[0].n);
    expect((await http.delete('/api/v2/api-keys/not-a-uuid', asRoot)).status).toBe(400);
    expect(
      (await http.delete('/api/v2/api-keys/00000000-0000-4000-8000-000000000000', asRoot)).status,
    ).toBe(404);
  });

  it('refuses keys without the admin scope and anonymous callers', async () => {
    const { body } = await http.post<CreatedApiKey>(
      '/api/v2/api-keys',
      { name: 'reader', scopes: ['read', 'metrics:write'] },
      asRoot,
    );
    const asReader = { headers: { 'x-api-key': body.key } };
    expect((await http.get('/api/v2/api-keys', asReader)).status).toBe(403);
    expect(
      (await http.post('/api/v2/api-keys', { name: 'y', scopes: ['admin'] }, asReader)).status,
    ).toBe(403);
    expect((await http.get('/api/v2/api-keys')).status).toBe(401);
    expect(
      (await http.get('/api/v2/api-keys', { headers: { 'x-api-key': 'am_nope' } })).status,
    ).toBe(401);
  });

  it('pages and filters the list', async () => {
    const p1 = await http.get<Page<ApiKey>>('/api/v2/api-keys?limit=2&page=1', asRoot);
    const p2 = await http.get<Page<ApiKey>>('/api/v2/api-keys?limit=2&page=2', asRoot);
    expect(p1.body.items).toHaveLength(2);
    expect(p1.body.total).toBeGreaterThanOrEqual(4);
    expect(p2.body.items[0].id).not.toBe(p1.body.items[0].id);
    const live = await http.get<Page<ApiKey>>('/api/v2/api-keys?revoked=false&limit=100', asRoot);
    expect(live.body.items.every((k) => k.revokedAt === null)).toBe(true);
    const named = await http.get<Page<ApiKey>>('/api/v2/api-keys?q=reader', asRoot);
    expect(named.body.items.map((k) => k.name).sort()).toEqual(['ci reader', 'reader']);
    expect((await http.get('/api/v2/api-keys?limit=5000', asRoot)).status).toBe(400);
  });
});
