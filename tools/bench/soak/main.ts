/**
 * Soak: N simulated agents (heartbeat + 8 metrics every --interval s), dashboards on sockets,
 * two API instances (built `apps/api/dist/main.js`) on one PostgreSQL + a private Redis.
 * Prints throughput, p50/p99 latencies, live-event delivery lag and each instance's RSS
 * every --report-sec s (RSS is sampled every 10 s), then a summary table with a leak verdict:
 * the least-squares slope of each instance's RSS after the warm-up (the first 20 % of the
 * run, at least 2 min), "flat" below 1 MB/min. Loopback only; stops by itself. Ctrl-C or
 * SIGTERM during the run ends it early with the summary; a second one (or one during setup)
 * just cleans up: instances, Redis and the scratch database. Exit code 1 when an instance
 * died, nothing was acknowledged, or RSS grows.
 *
 *   npx tsx tools/bench/soak/main.ts                      # 10,000 agents, 50 dashboards, 30 min
 *   npx tsx tools/bench/soak/main.ts --minutes 3          # a short run
 *   options: --agents N --dashboards N --instances N --interval SEC --report-sec SEC
 *            --pg postgres://…/postgres
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
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
const REPORT_MS = arg('report-sec', 30) * 1000;
const RSS_SAMPLE_MS = 10_000;
/** RSS growth (MB/min, after warm-up) above which the verdict is "growing". */
const LEAK_SLOPE_MB_PER_MIN = 1;
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

/** A few server-side figures from an instance's /metrics. */
async function serverFigures(base: string): Promise<{
  pending: number;
  loopP99Ms: number;
  heapMb: number;
  publishP99Ms: number;
  cpuSec: number;
  requests: number;
}> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const one = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    // p99 of the publish-delay histogram (cumulative since start): the first bucket holding 99 %.
    const buckets = [
      ...text.matchAll(/am_realtime_publish_delay_seconds_bucket\{le="([^"]+)"\} (\d+)/g),
    ].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
    const count = buckets.length ? buckets[buckets.length - 1].n : 0;
    const p99 = buckets.find((b) => b.n >= count * 0.99)?.le ?? NaN;
    return {
      pending: one(/^am_realtime_pending_events (\S+)/m),
      loopP99Ms: one(/^nodejs_eventloop_lag_p99_seconds (\S+)/m) * 1000,
      heapMb: Math.round(one(/^nodejs_heap_size_used_bytes (\S+)/m) / 1024 / 1024),
      publishP99Ms: count ? p99 * 1000 : NaN,
      cpuSec: one(/^process_cpu_seconds_total (\S+)/m),
      requests: [
        ...text.matchAll(/^am_http_request_duration_seconds_count\{[^}]*\} (\d+)/gm),
      ].reduce((n, m) => n + Number(m[1]), 0),
    };
  } catch {
    return {
      pending: NaN,
      loopP99Ms: NaN,
      heapMb: NaN,
      publishP99Ms: NaN,
      cpuSec: NaN,
      requests: NaN,
    };
  }
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den ? num / den : NaN;
}

function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(cells[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}

class Window {
  lat: Record<string, number[]> = { heartbeat: [], metrics: [] };
  ok: Record<string, number> = { heartbeat: 0, metrics: 0 };
  errors = new Map<string, number>();
  lag: number[] = [];
  events = 0;
  late = 0;
}

let failed = false;
let running = false;
let stopRequested = false;

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
  const died: string[] = [];
  let stopping = false;
  const redisPort = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.push(redis);
  await sleep(300);

  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      stopping = true;
      const instances = children.slice(1);
      for (const c of instances) c.kill('SIGTERM');
      for (let i = 0; i < 120 && instances.some((c) => c.exitCode === null && !c.signalCode); i++) {
        await sleep(100);
      }
      for (const c of instances) if (c.exitCode === null && !c.signalCode) c.kill('SIGKILL');
      redis.kill('SIGTERM');
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await a.end();
    })());
  // Unattended runs: an interrupt still stops the instances and drops the scratch database.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // During the run, the first signal ends it early with the summary; otherwise (or on a
      // second signal) clean up and leave.
      if (running && !stopRequested) {
        stopRequested = true;
        console.error(`soak: ${sig}, ending the run early (summary follows)`);
        return;
      }
      console.error(`soak: ${sig}, cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const bases: string[] = [];
  const pids: (number | undefined)[] = [];
  try {
    const secrets = {
      JWT_SECRET: randomBytes(32).toString('hex'),
      JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    };
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-soak-'));
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
      const n = i + 1;
      child.once('exit', (code, signal) => {
        if (!stopping) died.push(`instance ${n} exited (code ${code}, signal ${signal})`);
      });
      bases.push(`http://127.0.0.1:${port}`);
      // One at a time: the first runs the migrations.
      await waitReady(bases[i]);
    }
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
    let lastSample = start - RSS_SAMPLE_MS;
    // This process is the load generator: when its own event loop lags, latencies and event lag
    // it reports include its own delay (the summary says so).
    const clientLoop = monitorEventLoopDelay({ resolution: 20 });
    clientLoop.enable();
    let clientLoopWorstP99 = 0;
    // Server CPU per request: a figure that does not depend on how busy the machine is.
    const firstServer = await Promise.all(bases.map((b) => serverFigures(b)));
    let lastServer = firstServer;
    const fired = new Array<number>(AGENTS).fill(-1);
    /** Per instance: (minutes since start, RSS MB). */
    const rss: { x: number; y: number }[][] = pids.map(() => []);
    running = true;
    while (Date.now() < end && !stopRequested) {
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
      if (now - lastSample >= RSS_SAMPLE_MS) {
        lastSample = now;
        pids.forEach((p, k) => {
          const mb = rssMb(p);
          if (Number.isFinite(mb)) rss[k].push({ x: (now - start) / 60_000, y: mb });
        });
      }
      if (now - lastPrint >= REPORT_MS) {
        const secs = (now - lastPrint) / 1000;
        lastPrint = now;
        // Swap the window first: requests finishing during the scrapes below go to the next one.
        const w = win;
        win = new Window();
        const hb = w.lat.heartbeat.sort((a, b) => a - b);
        const mt = w.lat.metrics.sort((a, b) => a - b);
        const lag = w.lag.sort((a, b) => a - b);
        const current = pids.map((p) => rssMb(p));
        const clientP99 = clientLoop.percentile(99) / 1e6;
        clientLoopWorstP99 = Math.max(clientLoopWorstP99, clientP99);
        clientLoop.reset();
        lastServer = await Promise.all(bases.map((b) => serverFigures(b)));
        const server = lastServer
          .map(
            (f) =>
              `pending=${f.pending} loopP99=${f.loopP99Ms.toFixed(0)}ms heap=${f.heapMb}MB publishP99=${f.publishP99Ms}ms`,
          )
          .join(' | ');
        console.log(
          `t=${((now - start) / 1000).toFixed(0)}s req/s=${((w.ok.heartbeat + w.ok.metrics) / secs).toFixed(0)} ` +
            `values/s=${((w.ok.metrics * 8) / secs).toFixed(0)} hb p50/p99=${pct(hb, 0.5).toFixed(1)}/${pct(hb, 0.99).toFixed(1)}ms ` +
            `metrics p50/p99=${pct(mt, 0.5).toFixed(1)}/${pct(mt, 0.99).toFixed(1)}ms events=${w.events} ` +
            `lag p50/p99=${pct(lag, 0.5).toFixed(0)}/${pct(lag, 0.99).toFixed(0)}ms errors=${JSON.stringify(Object.fromEntries(w.errors))} ` +
            `behind=${w.late} rssMB=${current.join('/')} clientLoopP99=${clientP99.toFixed(0)}ms`,
        );
        console.log(`  server: ${server}`);
      }
      if (died.length) break;
      tick++;
      await sleep(50);
    }
    while (inFlight > 0) await sleep(50);
    running = false;
    lastServer = await Promise.all(bases.map((b) => serverFigures(b)));
    for (const s of sockets) s.disconnect();
    const secs = (Date.now() - start) / 1000;
    const hb = total.lat.heartbeat.sort((a, b) => a - b);
    const mt = total.lat.metrics.sort((a, b) => a - b);
    const lag = total.lag.sort((a, b) => a - b);
    const expectedPerSec = (AGENTS * 2) / (INTERVAL_MS / 1000);
    const okPerSec = (total.ok.heartbeat + total.ok.metrics) / secs;
    const errorCount = [...total.errors.values()].reduce((a, b) => a + b, 0);

    // Leak verdict: RSS slope after the warm-up.
    const warmupMin = Math.max(2, (secs / 60) * 0.2);
    const verdicts = rss.map((series, k) => {
      const steady = series.filter((p) => p.x >= warmupMin);
      const spanMin = steady.length ? steady[steady.length - 1].x - steady[0].x : 0;
      const mbPerMin = slope(steady);
      const first = series[0]?.y ?? NaN;
      const last = series[series.length - 1]?.y ?? NaN;
      const peak = Math.max(...series.map((p) => p.y));
      const verdict =
        spanMin < 5
          ? Number.isFinite(mbPerMin) && mbPerMin > LEAK_SLOPE_MB_PER_MIN
            ? `growing? (only ${spanMin.toFixed(1)} min after warm-up)`
            : `inconclusive (only ${spanMin.toFixed(1)} min after warm-up; 5 needed)`
          : mbPerMin > LEAK_SLOPE_MB_PER_MIN
            ? 'GROWING (leak suspected)'
            : 'flat (no leak)';
      return {
        k,
        first,
        last,
        peak,
        mbPerMin,
        verdict,
        leak: spanMin >= 5 && mbPerMin > LEAK_SLOPE_MB_PER_MIN,
      };
    });

    console.log('\n=== soak summary');
    console.log(
      `${AGENTS} agents (heartbeat + 8 metrics every ${INTERVAL_MS / 1000} s), ${DASHBOARDS} dashboards, ` +
        `${INSTANCES} instances + Redis, ${(secs / 60).toFixed(1)} min, load generator in this process`,
    );
    console.log(
      table([
        ['figure', 'value'],
        [
          'requests acknowledged /s (target)',
          `${okPerSec.toFixed(0)} (${expectedPerSec.toFixed(0)})`,
        ],
        ['metric values stored /s', ((total.ok.metrics * 8) / secs).toFixed(0)],
        ['heartbeats ok', total.ok.heartbeat],
        ['heartbeat p50 / p99 ms', `${pct(hb, 0.5).toFixed(1)} / ${pct(hb, 0.99).toFixed(1)}`],
        ['metric posts ok', total.ok.metrics],
        ['metric post p50 / p99 ms', `${pct(mt, 0.5).toFixed(1)} / ${pct(mt, 0.99).toFixed(1)}`],
        ['live events received', total.events],
        [
          'event delivery lag p50 / p99 ms',
          `${pct(lag, 0.5).toFixed(0)} / ${pct(lag, 0.99).toFixed(0)}`,
        ],
        ['errors', errorCount ? JSON.stringify(Object.fromEntries(total.errors)) : '0'],
        ['scheduler behind (client saturated)', total.late],
        ['load generator event loop p99, worst ms', clientLoopWorstP99.toFixed(0)],
        ...lastServer.map((f, k) => {
          const cpu = f.cpuSec - firstServer[k].cpuSec;
          const req = f.requests - firstServer[k].requests;
          return [
            `instance ${k + 1} server CPU ms per request, all work (requests)`,
            `${req > 0 ? ((cpu * 1000) / req).toFixed(2) : '-'} (${req})`,
          ];
        }),
        ...lastServer.map((f, k) => [
          `instance ${k + 1} server: pending events, loop p99, heap, publish p99`,
          `${f.pending}, ${f.loopP99Ms.toFixed(0)} ms, ${f.heapMb} MB, ≤${f.publishP99Ms} ms`,
        ]),
        ...verdicts.map((v) => [
          `instance ${v.k + 1} RSS MB start/peak/end`,
          `${v.first}/${v.peak}/${v.last}`,
        ]),
        ...verdicts.map((v) => [
          `instance ${v.k + 1} RSS slope after ${warmupMin.toFixed(1)} min`,
          `${Number.isFinite(v.mbPerMin) ? v.mbPerMin.toFixed(2) : '-'} MB/min: ${v.verdict}`,
        ]),
        ...died.map((d) => ['DIED', d]),
      ]),
    );
    console.log('\nRSS over time (min: MB per instance):');
    const times = rss[0]?.map((p) => p.x) ?? [];
    const every = Math.max(1, Math.ceil(times.length / 30));
    for (let i = 0; i < times.length; i += every) {
      console.log(
        `  ${times[i].toFixed(1).padStart(5)}  ${rss.map((r) => r[i]?.y ?? '-').join(' / ')}`,
      );
    }
    failed = died.length > 0 || total.ok.metrics === 0 || verdicts.some((v) => v.leak);
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
  () => process.exit(failed ? 1 : 0),
  (e: unknown) => {
    console.error(`soak failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
