import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SystemHealthUpdateEvent,
} from '@agent-monitor/contracts';
import { client } from './support/http.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, type TestApp } from './support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metricValue(t: TestApp, pattern: RegExp): Promise<number> {
  const text = (await client(t.baseUrl).get<string>('/metrics')).body;
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('two API instances on one PostgreSQL + Redis behave as one', () => {
  let redis: PrivateRedis;
  let a: TestApp;
  let b: TestApp;
  const backupDir = mkdtempSync(path.join(os.tmpdir(), 'am-scale-backups-'));
  const sockets: Socket<ServerToClientEvents, ClientToServerEvents>[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const env = {
      REDIS_URL: redis.url,
      SYSTEM_HEALTH_INTERVAL: '300ms',
      BACKUP_CRON: '* * * * * *',
      BACKUP_DIR: backupDir,
      BACKUP_KEEP: '100',
      // Instances must share their secrets (or DATA_DIR): a token from one is valid on all.
      JWT_SECRET: 'scale-out-test-jwt-secret-0123456789abcdef',
      JWT_REFRESH_SECRET: 'scale-out-test-refresh-secret-0123456789abcdef',
      ENCRYPTION_KEY: 'scale-out-test-encryption-key-0123456789abcdef',
    };
    a = await startTestApp({ env });
    b = await startTestApp({ databaseUrl: a.databaseUrl, env });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b.close();
    await a.close();
    await a.dropDatabase();
    await redis.stop();
  });

  it('runs a scheduled (singleton) backup once per slot, not once per instance', async () => {
    await sleep(4500);
    const rows = await a.sql<{ slot: Date; instance: string; file: string | null }>(
      'SELECT slot, instance, file FROM backup_runs ORDER BY slot',
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const done = rows.filter((r) => r.file !== null);
    expect(done.length).toBeGreaterThanOrEqual(1);
    // Each instance counts the backups it ran: together exactly the recorded ones (a run may
    // finish while we read, hence the counts before and after; a run counts after its row).
    const doneCount = async () =>
      (
        await a.sql<{ n: number }>(
          'SELECT count(*)::int AS n FROM backup_runs WHERE file IS NOT NULL',
        )
      )[0].n;
    const re = /am_backups_total\{outcome="success"\} (\d+)/;
    const before = await doneCount();
    const ran = (await metricValue(a, re)) + (await metricValue(b, re));
    const after = await doneCount();
    expect(ran).toBeGreaterThanOrEqual(before - 1);
    expect(ran).toBeLessThanOrEqual(after);
    expect(readdirSync(backupDir).length).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it('delivers live events published on either instance to sockets on both', async () => {
    const login = await client(a.baseUrl).post<{ accessToken: string }>('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    expect(login.status).toBe(200);
    const seen = new Map<string, Set<string>>();
    for (const t of [a, b]) {
      const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(
        t.baseUrl + DASHBOARD_NAMESPACE,
        { auth: { token: login.body.accessToken }, transports: ['websocket'], forceNew: true },
      );
      sockets.push(s);
      const got = new Set<string>();
      seen.set(t.baseUrl, got);
      s.on('system_health_update', (e: SystemHealthUpdateEvent) => got.add(String(e.instance)));
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
    }
    for (let i = 0; i < 40; i++) {
      if ([...seen.values()].every((g) => g.size >= 2)) break;
      await sleep(100);
    }
    // Both instances publish their own health snapshots; each socket sees both publishers.
    for (const got of seen.values()) expect(got.size).toBe(2);
    // Each instance counts its own dashboard sockets on /metrics.
    for (const t of [a, b]) {
      expect(await metricValue(t, /am_socket_connections (\d+)/)).toBe(1);
    }
  });
});
