import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../src/database/embedded-postgres.js';
import { RAW_VALUES } from './metrics-fixtures.js';
import { client, type Client } from './support/http.js';
import { insertKeyWith } from './support/root-key.js';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  createTestDatabase,
  dropTestDatabase,
} from './support/test-app.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BASE_TS = Date.now() - 600_000;

interface Running {
  child: ChildProcess;
  http: Client;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
}

/** The built server (`apps/api/dist/main.js`, as `npm start` runs it) as a child process. */
async function startServer(databaseUrl: string): Promise<Running> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the API first (npm run build)`);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'am-shutdown-')),
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SERVE_DASHBOARD: 'false',
    LOG_LEVEL: 'info',
    DATABASE_POOL_SIZE: '10',
  };
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const http = client(`http://127.0.0.1:${port}`);
  for (let i = 0; i < 300; i++) {
    const ok = await http.get('/api/v2/health/ready').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { child, http, exited, output: () => out };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${out}`);
}

function batch(agentId: string, from: number, n: number) {
  return {
    samples: Array.from({ length: n }, (_, i) => ({
      agentId,
      timestamp: BASE_TS + from + i,
      metrics: { a: i, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6, h: 7 },
    })),
  };
}

/** Stored samples of the agent (from `fromOffset` ms after BASE_TS on, when given). */
async function storedCount(url: string, agentId: string, fromOffset?: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(
      `SELECT count(DISTINCT r.ts)::int AS n FROM ${RAW_VALUES} r
         JOIN metric_series s ON s.id = r.series_id
        WHERE s.agent_id = $1 AND ($2::timestamptz IS NULL OR r.ts >= $2)`,
      [agentId, fromOffset === undefined ? null : new Date(BASE_TS + fromOffset)],
    );
    return r.rows[0].n;
  } finally {
    await c.end();
  }
}

async function lastUsed(url: string, key: string): Promise<Date | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ at: Date | null }>(
      `SELECT last_used_at AS at FROM api_keys WHERE key_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
      [key],
    );
    return r.rows[0]?.at ?? null;
  } finally {
    await c.end();
  }
}

describe('process lifecycle of the built server', () => {
  let databaseUrl: string;
  let agentId: string;
  let agentHeaders: Record<string, string>;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    await dropTestDatabase(databaseUrl);
  });

  it('SIGTERM: finishes in-flight ingest, refuses new work, exits 0 within 10 s', async () => {
    const s = await startServer(databaseUrl);
    try {
      const admin = await insertKeyWith(databaseUrl, ['admin'], 'S');
      const reg = await s.http.post<{ id: string; agentKey: string }>(
        '/api/v2/agents/register',
        { name: 'shutdown-agent', type: 'worker', host: 'sd-host' },
        { headers: admin.headers },
      );
      expect(reg.status).toBe(201);
      agentId = reg.body.id;
      agentHeaders = { authorization: `Bearer ${reg.body.agentKey}` };

      // A key whose last use is only buffered (written at most once a second, off the
      // request path): the shutdown must flush it.
      const flushKey = await insertKeyWith(databaseUrl, ['read'], 'U');
      expect((await s.http.get('/api/v2/agents', { headers: flushKey.headers })).status).toBe(200);

      // Big batches in flight, then SIGTERM.
      const answeredAt: number[] = [];
      const inflight = [0, 1, 2, 3].map((k) =>
        s.http
          .post('/api/v2/metrics/batch', batch(agentId, k * 10_000, 2000), {
            headers: agentHeaders,
          })
          .then((r) => {
            answeredAt.push(Date.now());
            return { status: r.status, message: (r.body as { message?: string }).message };
          }),
      );
      // SIGTERM once the server is working on them (or they wait for an ingest slot).
      for (let i = 0; i < 100; i++) {
        const text = (await s.http.get<string>('/metrics')).body;
        const busy = /^am_ingest_(?:in_flight|queued) ([1-9]\d*)/m.test(text);
        if (busy) break;
        await sleep(10);
      }
      const sentAt = Date.now();
      s.child.kill('SIGTERM');
      // Stop accepting: once the process has seen the signal (it logs that first), a new
      // request is not taken on.
      for (let i = 0; i < 600 && !s.output().includes('SIGTERM received'); i++) await sleep(5);
      const late = await s.http
        .post('/api/v2/metrics/batch', batch(agentId, 90_000, 10), { headers: agentHeaders })
        .then(
          (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') }),
          () => ({ status: 0, retryAfter: null }),
        );
      const lateAt = Date.now();
      const results = await Promise.all(inflight.map((p) => p.catch(() => ({ status: 0 }))));
      const exit = await s.exited;
      const drainMs = exit.at - sentAt;
      console.log(
        `SIGTERM → exit ${exit.code} in ${drainMs} ms; in-flight answers ${results.map((r) => ('message' in r && r.status >= 300 ? `${r.status} (${r.message})` : r.status)).join(', ')}; ` +
          `late request → ${late.status || 'connection refused'}` +
          (answeredAt.some((t) => t > lateAt) ? ' while in-flight work was still finishing' : ''),
      );
      expect(exit.code).toBe(0);
      expect(drainMs).toBeLessThan(10_000);
      expect(s.output()).toContain('SIGTERM received');
      expect(s.output()).toMatch(/drained in \d+ ms/);
      expect([0, 503]).toContain(late.status);
      if (late.status === 503) expect(Number(late.retryAfter ?? '1')).toBeGreaterThanOrEqual(1);
      // Finish in-flight: every request that was in flight got its answer, and each 2xx is stored.
      for (const r of results) expect([200, 201, 202, 204, 503]).toContain(r.status);
      const acked = results.filter((r) => r.status >= 200 && r.status < 300).length;
      expect(acked).toBeGreaterThan(0);
      expect(await storedCount(databaseUrl, agentId)).toBeGreaterThanOrEqual(acked * 2000);
      expect(await storedCount(databaseUrl, agentId, 90_000)).toBe(0);
      // Flush: the buffered key use reached the database before the pool closed.
      expect(await lastUsed(databaseUrl, flushKey.key)).not.toBeNull();
      // And it is gone: no new connection is accepted.
      await expect(s.http.get('/api/v2/health')).rejects.toThrow();
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  }, 60_000);

  it('kill -9 during ingest: every acknowledged batch is stored', async () => {
    const s = await startServer(databaseUrl);
    const before = await storedCount(databaseUrl, agentId);
    let acked = 0;
    let running = true;
    let next = 100_000;
    const writers = Array.from({ length: 4 }, async () => {
      while (running) {
        const from = next;
        next += 50;
        const r = await s.http
          .post('/api/v2/metrics/batch', batch(agentId, from, 50), { headers: agentHeaders })
          .catch(() => ({ status: 0 }));
        if (r.status >= 200 && r.status < 300) acked += 50;
      }
    });
    await sleep(1500);
    s.child.kill('SIGKILL');
    await s.exited;
    running = false;
    await Promise.all(writers);
    expect(acked).toBeGreaterThan(0);
    expect((await storedCount(databaseUrl, agentId)) - before).toBeGreaterThanOrEqual(acked);
  }, 60_000);
});
