/**
 * Soak: N simulated agents (heartbeat + 8 metrics every --interval s), dashboards on sockets,
 * two API instances (built `apps/api/dist/main.js`) on one PostgreSQL + a private Redis.
 * Prints throughput, p50/p99 latencies, live-event delivery lag and each instance's RSS
 * every 30 s, then a summary. Loopback only; stops by itself.
 *
 *   npx tsx tools/bench/soak/main.ts                      # 10,000 agents, 50 dashboards, 30 min
 *   npx tsx tools/bench/soak/main.ts --minutes 2          # a short run
 *   options: --agents N --dashboards N --instances N --interval SEC --pg postgres://…/postgres
 *
 * Needs `npm run build` (API + contracts) first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(ROOT, 'apps/api/dist/main.js');

function arg(name: string, def: number): number;
function arg(name: string, def: string): string;
function arg(name: string, def: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return typeof def === 'number' ? Number(v) : v;
}

const MINUTES = arg('minutes', 30);
const AGENTS = arg('agents', 10_000);
const DASHBOARDS = arg('dashboards', 50);
const INSTANCES = arg('instances', 2);
const INTERVAL_MS = arg('interval', 10) * 1000;
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/postgres');
const MAX_IN_FLIGHT = 512;
const EMAIL = 'soak@example.test';
const PASSWORD = 'Soak-Test-Password-9!';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

class Window {
  lat: Record<string, number[]> = { heartbeat: [], metrics: [] };
  ok: Record<string, number> = { heartbeat: 0, metrics: 0 };
  errors = new Map<string, number>();
  lag: number[] = [];
  events = 0;
  late = 0;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
  const dbName = `am_soak_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(PG_ADMIN);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();

  const children: ChildProcess[] = [];
  const redisPort = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.push(redis);
  await sleep(300);

  const secrets = {
    JWT_SECRET: randomBytes(32).toString('hex'),
    JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-soak-'));
  const bases: string[] = [];
  const pids: (number | undefined)[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        DATABASE_POOL_SIZE: '20',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        DATA_DIR: dataDir,
        ADMIN_EMAIL: EMAIL,
        ADMIN_PASSWORD: PASSWORD,
        SERVE_DASHBOARD: 'false',
        LOG_LEVEL: 'warn',
        // Every simulated agent shares one loopback address.
        RATE_LIMIT_INGEST_PER_IP: '100000000',
        RATE_LIMIT_API_PER_IP: '100000000',
        ...secrets,
      },
    });
    children.push(child);
    pids.push(child.pid);
    bases.push(`http://127.0.0.1:${port}`);
    // One at a time: the first runs the migrations.
    await waitReady(bases[i]);
  }
  const cleanup = async () => {
    for (const c of children.slice(1)) c.kill('SIGTERM');
    await sleep(3000);
    redis.kill('SIGTERM');
    const a = new pg.Client({ connectionString: PG_ADMIN });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a.end();
  };

  try {
    const login = await post<{ accessToken: string }>(bases[0], '/api/v2/auth/login', {
      email: EMAIL,
      password: PASSWORD,
    });
    const token = login.accessToken;
    console.log(`soak: ${INSTANCES} instances, registering ${AGENTS} agents…`);
    const t0 = Date.now();
    const agents: { id: string; key: string; base: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < AGENTS) {
          const i = next++;
          const base = bases[i % bases.length];
          const r = await post<{ id: string; agentKey: string }>(
            base,
            '/api/v2/agents/register',
            {
              name: `soak-${i}`,
              type: 'worker',
              host: `host-${i % 500}`,
              heartbeatIntervalSec: INTERVAL_MS / 1000,
            },
            token,
          );
          agents[i] = { id: r.id, key: r.agentKey, base };
        }
      }),
    );
    console.log(`soak: registered ${AGENTS} agents in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    let win = new Window();
    const total = new Window();
    const sockets: Socket[] = [];
    for (let d = 0; d < DASHBOARDS; d++) {
      const s = io(bases[d % bases.length] + '/dashboard', {
        auth: { token },
        transports: ['websocket'],
        forceNew: true,
      });
      // Live charts (new_metrics_data, throttled per agent) and the System health page
      // (system_health_update): lag from the event's own timestamp to arrival here.
      const onEvent = (e: { at: string }) => {
        const lag = Date.now() - Date.parse(e.at);
        win.lag.push(lag);
        total.lag.push(lag);
        win.events++;
        total.events++;
      };
      s.on('new_metrics_data', onEvent);
      s.on('system_health_update', onEvent);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      // Each dashboard watches 20 agents (an agent detail page or a small wall).
      for (let k = 0; k < 20; k++) {
        s.emit('join_agent', { agentId: agents[(d * 20 + k) % AGENTS].id });
      }
      sockets.push(s);
    }
    console.log(`soak: ${DASHBOARDS} dashboards connected; running ${MINUTES} min`);

    // Each agent fires at its own phase within the interval.
    const phase = agents.map(() => Math.random() * INTERVAL_MS);
    const start = Date.now();
    const end = start + MINUTES * 60_000;
    let inFlight = 0;
    let tick = 0;
    const send = async (
      kind: 'heartbeat' | 'metrics',
      a: { id: string; key: string; base: string },
    ) => {
      inFlight++;
      const t = performance.now();
      const body =
        kind === 'heartbeat'
          ? {}
          : {
              metrics: {
                cpu_usage: Math.random() * 100,
                memory_usage: Math.random() * 100,
                disk_usage: 40 + Math.random(),
                net_in: Math.random() * 1e6,
                net_out: Math.random() * 1e6,
                tasks: Math.floor(Math.random() * 10),
                errors: Math.floor(Math.random() * 2),
                latency_ms: Math.random() * 200,
              },
            };
      try {
        const res = await fetch(`${a.base}/api/v2/agents/${a.id}/${kind}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${a.key}` },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        const ms = performance.now() - t;
        if (res.ok) {
          win.ok[kind]++;
          total.ok[kind]++;
          win.lat[kind].push(ms);
          total.lat[kind].push(ms);
        } else {
          const k = `${kind} ${res.status}`;
          win.errors.set(k, (win.errors.get(k) ?? 0) + 1);
          total.errors.set(k, (total.errors.get(k) ?? 0) + 1);
        }
      } catch (e) {
        const k = `${kind} ${(e as Error).message}`;
        win.errors.set(k, (win.errors.get(k) ?? 0) + 1);
        total.errors.set(k, (total.errors.get(k) ?? 0) + 1);
      } finally {
        inFlight--;
      }
    };

    let lastPrint = start;
    const fired = new Array<number>(AGENTS).fill(-1);
    const rssSeries: string[] = [];
    while (Date.now() < end) {
      const now = Date.now();
      const round = Math.floor((now - start) / INTERVAL_MS);
      const within = (now - start) % INTERVAL_MS;
      for (let i = 0; i < AGENTS; i++) {
        if (fired[i] >= round || phase[i] > within) continue;
        if (inFlight >= MAX_IN_FLIGHT) {
          win.late++;
          total.late++;
          break;
        }
        fired[i] = round;
        void send('heartbeat', agents[i]);
        void send('metrics', agents[i]);
      }
      if (now - lastPrint >= 30_000) {
        lastPrint = now;
        const secs = 30;
        const hb = win.lat.heartbeat.sort((a, b) => a - b);
        const mt = win.lat.metrics.sort((a, b) => a - b);
        const lag = win.lag.sort((a, b) => a - b);
        const rss = pids.map((p) => rssMb(p));
        rssSeries.push(`${Math.round(((now - start) / 60_000) * 10) / 10}m:${rss.join('/')}`);
        console.log(
          `t=${((now - start) / 1000).toFixed(0)}s req/s=${((win.ok.heartbeat + win.ok.metrics) / secs).toFixed(0)} ` +
            `values/s=${((win.ok.metrics * 8) / secs).toFixed(0)} hb p50/p99=${pct(hb, 0.5).toFixed(1)}/${pct(hb, 0.99).toFixed(1)}ms ` +
            `metrics p50/p99=${pct(mt, 0.5).toFixed(1)}/${pct(mt, 0.99).toFixed(1)}ms events=${win.events} ` +
            `lag p50/p99=${pct(lag, 0.5).toFixed(0)}/${pct(lag, 0.99).toFixed(0)}ms errors=${JSON.stringify(Object.fromEntries(win.errors))} ` +
            `behind=${win.late} rssMB=${rss.join('/')}`,
        );
        win = new Window();
      }
      tick++;
      await sleep(50);
    }
    while (inFlight > 0) await sleep(50);
    for (const s of sockets) s.disconnect();
    const secs = (Date.now() - start) / 1000;
    const hb = total.lat.heartbeat.sort((a, b) => a - b);
    const mt = total.lat.metrics.sort((a, b) => a - b);
    const lag = total.lag.sort((a, b) => a - b);
    console.log('\n=== soak summary');
    console.log(
      `duration ${secs.toFixed(0)} s, ${AGENTS} agents, ${DASHBOARDS} dashboards, ${INSTANCES} instances`,
    );
    console.log(
      `heartbeats ok ${total.ok.heartbeat} (${(total.ok.heartbeat / secs).toFixed(0)}/s), p50 ${pct(hb, 0.5).toFixed(1)} ms, p99 ${pct(hb, 0.99).toFixed(1)} ms`,
    );
    console.log(
      `metric posts ok ${total.ok.metrics} (${(total.ok.metrics / secs).toFixed(0)}/s, ${((total.ok.metrics * 8) / secs).toFixed(0)} values/s), p50 ${pct(mt, 0.5).toFixed(1)} ms, p99 ${pct(mt, 0.99).toFixed(1)} ms`,
    );
    console.log(
      `live events received ${total.events}, delivery lag p50 ${pct(lag, 0.5).toFixed(0)} ms, p99 ${pct(lag, 0.99).toFixed(0)} ms`,
    );
    console.log(
      `errors ${JSON.stringify(Object.fromEntries(total.errors))}; scheduler behind ${total.late} times`,
    );
    console.log(`RSS over time (MB per instance): ${rssSeries.join('  ')}`);
    void tick;
  } finally {
    await cleanup();
  }
}

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/api/v2/health/ready`)).ok) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${base} did not become ready`);
}

async function post<T>(base: string, p: string, body: unknown, token?: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce<T>(base, p, body, token);
    } catch (e) {
      // 503/429 carry Retry-After: honour a few, as an agent SDK does.
      if (attempt >= 10 || !/: (503|429) /.test((e as Error).message)) throw e;
      await sleep(500 * (attempt + 1));
    }
  }
}

async function postOnce<T>(base: string, p: string, body: unknown, token?: string): Promise<T> {
  const r = await fetch(base + p, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${p}: ${r.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`soak failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
