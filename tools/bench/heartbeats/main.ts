/**
 * Heartbeat load: N agents (default 10,000) each heartbeating every 10 s, i.e. 1,000 req/s,
 * against one API instance. By default it starts the built API itself (apps/api/dist/main.js)
 * on a fresh PostgreSQL database, registers the agents, then measures for --duration seconds
 * and prints p50/p90/p99/max latency, errors, achieved rate and the server's CPU.
 *
 *   npx tsx tools/bench/heartbeats/main.ts [--agents 10000] [--interval 10] [--duration 60]
 *        [--pg postgres://postgres@127.0.0.1:5432] [--dist apps/api/dist/main.js]
 *   npx tsx tools/bench/heartbeats/main.ts --url http://host:3000 --key am_…   (existing server)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    interval: { type: 'string', default: '10' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
    dist: { type: 'string', default: 'apps/api/dist/main.js' },
    port: { type: 'string', default: '3197' },
    url: { type: 'string' },
    key: { type: 'string' },
  },
});

const AGENTS = Number(args.agents);
const INTERVAL_S = Number(args.interval);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const ADMIN = { email: 'bench@example.test', password: 'Bench-Admin-Password-7' };

interface Registered {
  id: string;
  agentKey: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  // /proc/<pid>/stat fields 14/15: utime, stime in clock ticks (100/s on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

async function startServer(): Promise<{ url: string; child: ChildProcess; dbName: string }> {
  const dbName = `am_bench_hb_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const port = Number(args.port);
  const child = spawn(process.execPath, [path.resolve(args.dist!)], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `${args.pg}/${dbName}`,
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'am-bench-hb-')),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      SERVE_DASHBOARD: 'false',
      NODE_ENV: 'production',
      // Setup registers every agent with one key in a burst; the per-agent heartbeats that are
      // measured stay far below the per-key budget, and the per-IP budget still applies.
      RATE_LIMIT_INGEST_PER_KEY: '1000000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${url}/api/v2/health/ready`)).ok) return { url, child, dbName };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`API exited with ${child.exitCode}`);
    await sleep(500);
  }
  throw new Error('API did not become ready in 60 s');
}

async function registrationKey(url: string): Promise<string> {
  if (args.key) return args.key;
  const login = await fetch(`${url}/api/v2/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  if (!login.ok) throw new Error(`login: HTTP ${login.status}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const r = await fetch(`${url}/api/v2/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ name: 'heartbeat bench', scopes: ['agents:register'] }),
  });
  if (!r.ok) throw new Error(`api key: HTTP ${r.status}`);
  return ((await r.json()) as { key: string }).key;
}

async function registerAll(url: string, key: string): Promise<Registered[]> {
  const out: Registered[] = new Array(AGENTS);
  let next = 0;
  const worker = async () => {
    while (next < AGENTS) {
      const i = next++;
      const r = await fetch(`${url}/api/v2/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          name: `bench-${i}`,
          type: 'web_server',
          host: `bench-${i % 500}.lan`,
          heartbeatIntervalSec: INTERVAL_S,
          tags: { bench: 'heartbeats' },
        }),
      });
      if (r.status !== 201) throw new Error(`register ${i}: HTTP ${r.status} ${await r.text()}`);
      out[i] = (await r.json()) as Registered;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return out;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  let server: { url: string; child: ChildProcess; dbName: string } | null = null;
  const url = args.url ?? (server = await startServer()).url;
  try {
    const key = await registrationKey(url);
    const t0 = performance.now();
    const agents = await registerAll(url, key);
    console.log(`registered ${AGENTS} agents in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const rate = AGENTS / INTERVAL_S;
    const TICK_MS = 10;
    const perTick = rate / (1000 / TICK_MS);
    const latencies: number[] = [];
    const statusCounts = new Map<string, number>();
    let errors = 0;
    let sent = 0;
    let measuring = false;
    let inflight = 0;
    let maxInflight = 0;
    let cursor = 0;
    let carry = 0;

    const beat = async (a: Registered) => {
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      const start = performance.now();
      let status = 'network';
      try {
        const r = await fetch(`${url}/api/v2/agents/${a.id}/heartbeat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${a.agentKey}` },
          body: JSON.stringify({ status: 'active', uptimeSec: Math.round(start / 1000) }),
        });
        await r.arrayBuffer();
        status = String(r.status);
      } catch {
        // counted as an error below
      }
      inflight--;
      if (!measuring) return;
      latencies.push(performance.now() - start);
      statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1);
      if (status !== '200') errors++;
    };

    // Open loop: a steady 1,000 req/s whatever the latencies, as a fleet would send them.
    const started = performance.now();
    const timer = setInterval(() => {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) {
        void beat(agents[cursor]);
        cursor = (cursor + 1) % agents.length;
        if (measuring) sent++;
      }
    }, TICK_MS);

    console.log(`warming up ${WARMUP_S} s at ${rate} req/s…`);
    await sleep(WARMUP_S * 1000);
    measuring = true;
    const cpu0 = server ? cpuTicks(server.child.pid!) : 0;
    const client0 = process.cpuUsage();
    const m0 = performance.now();
    console.log(`measuring ${DURATION_S} s…`);
    await sleep(DURATION_S * 1000);
    const elapsed = (performance.now() - m0) / 1000;
    const cpu1 = server ? cpuTicks(server.child.pid!) : 0;
    const clientCpu = process.cpuUsage(client0);
    measuring = false;
    clearInterval(timer);
    await sleep(1000);
    void started;

    const sorted = latencies.sort((a, b) => a - b);
    const serverCores = server ? (cpu1 - cpu0) / 100 / elapsed : NaN;
    console.log('');
    console.log(
      `heartbeats: ${AGENTS} agents every ${INTERVAL_S} s (target ${rate} req/s), ${os.cpus().length} cores`,
    );
    console.log(
      `requests:   ${latencies.length} completed of ${sent} sent in ${elapsed.toFixed(1)} s = ${(latencies.length / elapsed).toFixed(0)} req/s`,
    );
    console.log(
      `latency:    p50 ${pct(sorted, 50).toFixed(2)} ms   p90 ${pct(sorted, 90).toFixed(2)} ms   p99 ${pct(sorted, 99).toFixed(2)} ms   max ${sorted[sorted.length - 1]?.toFixed(1)} ms`,
    );
    console.log(
      `errors:     ${errors} (${[...statusCounts].map(([s, n]) => `${s}: ${n}`).join(', ')})`,
    );
    console.log(`in flight:  max ${maxInflight}`);
    if (server)
      console.log(`server CPU: ${(serverCores * 100).toFixed(0)} % of one core (API process)`);
    console.log(
      `client CPU: ${(((clientCpu.user + clientCpu.system) / 1e6 / elapsed) * 100).toFixed(0)} % of one core (this load generator, same machine)`,
    );
    const ok = errors === 0 && pct(sorted, 99) < 50;
    console.log(ok ? 'PASS: p99 < 50 ms, no errors' : 'FAIL: target is p99 < 50 ms with no errors');
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server!.child.once('exit', r));
      const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${server.dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
