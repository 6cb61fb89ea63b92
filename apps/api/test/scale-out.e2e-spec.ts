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
import { RealtimePublisher } from '../src/common/realtime-publisher.js';
import { RealtimeService } from '../src/modules/realtime/realtime.service.js';
import { client } from './support/http.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, type TestApp } from './support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Disconnects the sockets, stops both instances (if they started), drops their database, stops Redis. */
async function stopAll(
  sockets: Array<{ disconnect(): unknown }>,
  a: TestApp | undefined,
  b: TestApp | undefined,
  redis: PrivateRedis,
): Promise<void> {
  for (const s of sockets) s.disconnect();
  await b?.close();
  await a?.close();
  await a?.dropDatabase();
  await redis.stop();
}

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
  afterAll(() => stopAll(sockets, a, b, redis));

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

describe('Redis absent at boot, coming up later, and dying while running', () => {
  let redis: PrivateRedis;
  let a: TestApp;
  let b: TestApp;
  const sockets: Socket<ServerToClientEvents, ClientToServerEvents>[] = [];
  /** Per socket (one on each instance): [publishing instance, when received]. */
  const received = new Map<string, { instance: string; at: number }[]>();

  const instancesSince = (baseUrl: string, since: number) =>
    new Set((received.get(baseUrl) ?? []).filter((e) => e.at >= since).map((e) => e.instance));
  async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await cond()) return true;
      await sleep(100);
    }
    return cond();
  }
  const redisStatus = async (t: TestApp, token: string) =>
    (
      await client(t.baseUrl).get<{ current: { redisStatus: string } }>(
        '/api/v2/system/health?minutes=1',
        { token },
      )
    ).body.current.redisStatus;

  beforeAll(async () => {
    // The port is reserved but nothing listens on it yet.
    redis = await startPrivateRedis({ started: false });
    const env = {
      REDIS_URL: redis.url,
      SYSTEM_HEALTH_INTERVAL: '300ms',
      JWT_SECRET: 'redis-late-test-jwt-secret-0123456789abcdef',
      JWT_REFRESH_SECRET: 'redis-late-test-refresh-secret-0123456789abcdef',
      ENCRYPTION_KEY: 'redis-late-test-encryption-key-0123456789abcdef',
    };
    const bootStarted = Date.now();
    a = await startTestApp({ env });
    b = await startTestApp({ databaseUrl: a.databaseUrl, env });
    // Booting does not wait for Redis (it used to hang for ever on the realtime connect).
    expect(Date.now() - bootStarted).toBeLessThan(30_000);
  }, 60_000);
  afterAll(() => stopAll(sockets, a, b, redis));

  it('serves in-process without Redis, switches to Redis when it starts, keeps serving when it dies, and reconnects', async () => {
    const http = client(a.baseUrl);
    expect((await http.get('/api/v2/health/ready')).status).toBe(200);
    const login = await http.post<{ accessToken: string }>('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    expect(login.status).toBe(200);
    const token = login.body.accessToken;
    expect(await redisStatus(a, token)).toBe('down');

    for (const t of [a, b]) {
      const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(
        t.baseUrl + DASHBOARD_NAMESPACE,
        { auth: { token }, transports: ['websocket'], forceNew: true },
      );
      sockets.push(s);
      const log: { instance: string; at: number }[] = [];
      received.set(t.baseUrl, log);
      s.on('system_health_update', (e: SystemHealthUpdateEvent) =>
        log.push({ instance: String(e.instance), at: Date.now() }),
      );
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
    }

    // 1. No Redis: each socket gets its own instance's events, not the other's.
    const t0 = Date.now();
    await sleep(2000);
    for (const t of [a, b]) expect(instancesSince(t.baseUrl, t0).size).toBe(1);

    // 2. Redis starts: both instances pick it up by themselves (already-connected sockets too).
    await redis.start();
    const t1 = Date.now();
    expect(
      await waitFor(() => [a, b].every((t) => instancesSince(t.baseUrl, t1).size === 2), 15_000),
    ).toBe(true);
    expect(await waitFor(async () => (await redisStatus(a, token)) === 'up', 10_000)).toBe(true);

    // 3. Redis dies: the API keeps serving (login, reads, readiness) and local events flow.
    await redis.stop();
    await sleep(500);
    const t2 = Date.now();
    expect((await http.get('/api/v2/health/ready')).status).toBe(200);
    const again = await client(b.baseUrl).post('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    expect(again.status).toBe(200);
    expect((await http.get('/api/v2/agents', { token })).status).toBe(200);
    // Ingest too (rate limits and the latest-values cache fall back to the instance).
    const reg = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name: 'no-redis-agent', type: 'worker', host: 'h' },
      { token },
    );
    expect(reg.status).toBe(201);
    const agentAuth = { authorization: `Bearer ${reg.body.agentKey}` };
    expect(
      (await http.post(`/api/v2/agents/${reg.body.id}/heartbeat`, {}, { headers: agentAuth }))
        .status,
    ).toBeLessThan(300);
    expect(
      (
        await http.post(
          `/api/v2/agents/${reg.body.id}/metrics`,
          { metrics: { cpu_usage: 12 } },
          { headers: agentAuth },
        )
      ).status,
    ).toBeLessThan(300);
    expect(await waitFor(async () => (await redisStatus(a, token)) === 'down', 10_000)).toBe(true);
    expect(
      await waitFor(() => [a, b].every((t) => instancesSince(t.baseUrl, t2).size >= 1), 5000),
    ).toBe(true);

    // 4. Redis returns (empty, as after a crash): fan-out across instances resumes.
    await redis.start();
    const t3 = Date.now();
    expect(
      await waitFor(() => [a, b].every((t) => instancesSince(t.baseUrl, t3).size === 2), 15_000),
    ).toBe(true);
    expect(await waitFor(async () => (await redisStatus(a, token)) === 'up', 10_000)).toBe(true);
    for (const s of sockets) expect(s.connected).toBe(true);
  }, 90_000);
});

describe('event positions across Redis loss and return: resume exactly, or resync, never a silent gap', () => {
  type Dash = Socket<ServerToClientEvents, ClientToServerEvents>;
  interface Got {
    /** configVersion = the published event's id. */
    ids: Set<number>;
    last: { epoch: string; seq: number } | null;
    resyncs: { reason: string; at: number }[];
    /** When each id arrived. */
    at: Map<number, number>;
  }
  const AGENT = '00000000-0000-4000-8000-0000000000aa';
  let redis: PrivateRedis;
  let a: TestApp;
  let b: TestApp;
  let token: string;
  const sockets: Dash[] = [];
  /** id → [instance, published at]. */
  const published = new Map<number, { on: TestApp; at: number }>();
  let nextId = 1;

  function publish(on: TestApp): void {
    const id = nextId++;
    published.set(id, { on, at: Date.now() });
    on.app.get(RealtimePublisher).publish('config_pushed', {
      agentId: AGENT,
      configVersion: id,
      at: new Date().toISOString(),
    });
  }
  /** Publishes on both instances alternately (~200 events/s) until the returned stop(). */
  function flow(): () => Promise<void> {
    let on = true;
    const timer = setInterval(() => {
      publish(a);
      publish(b);
    }, 10);
    return async () => {
      if (!on) return;
      on = false;
      clearInterval(timer);
      await sleep(50);
      for (const t of [a, b]) await t.app.get(RealtimeService).flush();
      await sleep(300); // cross-instance delivery through Redis pub/sub
    };
  }
  async function connectTo(t: TestApp, got: Got = newGot()): Promise<{ s: Dash; got: Got }> {
    const s: Dash = io(t.baseUrl + DASHBOARD_NAMESPACE, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(s);
    s.on('config_pushed', (e) => {
      got.ids.add(e.configVersion);
      got.at.set(e.configVersion, Date.now());
      if (!got.last || got.last.epoch !== e.epoch || e.seq > got.last.seq) {
        got.last = { epoch: e.epoch, seq: e.seq };
      }
    });
    s.on('resync', (e) => {
      got.resyncs.push({ reason: e.reason, at: Date.now() });
      got.last = { epoch: e.epoch, seq: e.currentSeq };
    });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    return { s, got };
  }
  function newGot(): Got {
    return { ids: new Set(), last: null, resyncs: [], at: new Map() };
  }
  const idsBetween = (from: number, to: number) =>
    [...published.keys()].filter((id) => id >= from && id < to);
  async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until && !cond()) await sleep(50);
    return cond();
  }

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const env = {
      REDIS_URL: redis.url,
      JWT_SECRET: 'redis-epoch-test-jwt-secret-0123456789abcdef',
      JWT_REFRESH_SECRET: 'redis-epoch-test-refresh-secret-0123456789abcdef',
      ENCRYPTION_KEY: 'redis-epoch-test-encryption-key-0123456789abcdef',
    };
    a = await startTestApp({ env });
    b = await startTestApp({ databaseUrl: a.databaseUrl, env });
    const login = await client(a.baseUrl).post<{ accessToken: string }>('/api/v2/auth/login', {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    token = login.body.accessToken;
  }, 60_000);
  afterAll(() => stopAll(sockets, a, b, redis));

  it('resuming on the other instance replays exactly the missed events while Redis is up', async () => {
    // Wait until events published on A reach a socket on B (both use the Redis log).
    const probe = await connectTo(b);
    expect(
      await waitFor(() => {
        publish(a);
        return probe.got.ids.size > 0;
      }, 15_000),
    ).toBe(true);
    await sleep(500);

    const x = await connectTo(a);
    const stop = flow();
    await sleep(600);
    x.s.disconnect(); // flaky network: gone mid-flow
    const lastPos = x.got.last;
    expect(lastPos).not.toBeNull();
    await sleep(600);
    const firstId = Math.min(...x.got.ids);
    await stop();

    const y = await connectTo(b);
    const ack = await y.s.emitWithAck('resume', { epoch: lastPos!.epoch, lastSeq: lastPos!.seq });
    expect(ack.ok).toBe(true);
    await waitFor(() => y.got.ids.size >= (ack.replayed ?? 0), 5000);
    expect(y.got.resyncs).toEqual([]);
    const missed = idsBetween(firstId, nextId).filter((id) => !x.got.ids.has(id));
    expect(missed.length).toBeGreaterThan(10);
    // Exactly what was missed: nothing lost, nothing received twice.
    expect([...y.got.ids].sort((p, q) => p - q)).toEqual(missed);
    expect(ack.replayed).toBe(missed.length);
  }, 60_000);

  it('Redis killed mid-flow and restarted: a staying client and a resuming client get every event or a resync', async () => {
    const stay = await connectTo(b); // stays connected to B throughout
    const x = await connectTo(a);
    const stop = flow();
    await sleep(500);
    const firstId = nextId;
    await sleep(300);
    x.s.disconnect();
    const lastPos = x.got.last!;
    const idsAtDisconnect = new Set(x.got.ids);

    await redis.stop(); // killed (SIGKILL), comes back empty like after a crash
    await sleep(1500);
    await redis.start();
    // Every instance that lost Redis starts a new shared epoch and says `resync`.
    expect(await waitFor(() => stay.got.resyncs.length > 0, 20_000)).toBe(true);
    await sleep(1000);
    await stop();

    // The staying client: whatever it did not receive was published before its last resync.
    const lastResync = Math.max(...stay.got.resyncs.map((r) => r.at));
    const stayMissed = idsBetween(firstId, nextId).filter((id) => !stay.got.ids.has(id));
    expect(stayMissed.length).toBeGreaterThan(0); // A's events while Redis was down
    for (const id of stayMissed) expect(published.get(id)!.at).toBeLessThanOrEqual(lastResync);
    expect(stay.got.resyncs.every((r) => r.reason === 'epoch_changed')).toBe(true);
    // After the resync it is back in sync: every later event arrived.
    const after = [...published.entries()].filter(([, p]) => p.at > lastResync + 200);
    expect(after.length).toBeGreaterThan(10);
    for (const [id] of after) expect(stay.got.ids.has(id)).toBe(true);

    // The client that dropped before the outage resumes (on the other instance) with its
    // last position: either exactly the missed events, or a resync hint — never a silent gap.
    const w = await connectTo(b);
    const ack = await w.s.emitWithAck('resume', { epoch: lastPos.epoch, lastSeq: lastPos.seq });
    expect(ack.ok).toBe(true);
    await sleep(300);
    const missed = idsBetween(firstId, nextId).filter((id) => !idsAtDisconnect.has(id));
    if (w.got.resyncs.length === 0) {
      expect([...w.got.ids].sort((p, q) => p - q)).toEqual(missed);
    } else {
      expect(w.got.resyncs).toEqual([{ reason: 'epoch_changed', at: expect.any(Number) }]);
      expect(w.got.ids.size).toBe(0);
      // Its new position is current: resuming from it replays nothing and needs no resync.
      const again = await w.s.emitWithAck('resume', {
        epoch: w.got.last!.epoch,
        lastSeq: w.got.last!.seq,
      });
      expect(again).toEqual({ ok: true, replayed: 0 });
    }
    // Numbers never collide inside one epoch (local numbering uses an epoch of its own).
    const seen = new Map<string, number>();
    stay.s.on('config_pushed', (e) => {
      const k = `${e.epoch}:${e.seq}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    });
    const stop2 = flow();
    await sleep(500);
    await stop2();
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.size).toBeGreaterThan(50);
  }, 90_000);
});
