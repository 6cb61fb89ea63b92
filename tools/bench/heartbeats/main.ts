/**
 * Heartbeat load: N agents (default 10,000) each heartbeating every 10 s, i.e. 1,000 req/s,
 * against one API instance. See README.md beside this file for usage and how to read it.
 *
 * By default it starts the built API itself (apps/api/dist/main.js) on a fresh PostgreSQL
 * database, registers the agents, then offers the load open-loop (tools/bench/lib/open-loop.ts:
 * fixed schedule, bounded keep-alive connections, latency from the intended send time) and
 * prints achieved req/s, p50/p90/p99/max, errors, and the API's CPU (also per heartbeat) and RSS.
 *
 *   npx tsx tools/bench/heartbeats/main.ts [--agents 10000] [--interval 10] [--duration 60]
 *        [--warmup 20] [--connections 32] [--workers 1] [--cpu-prof DIR]
 *        [--pg postgres://postgres@127.0.0.1:5432] [--dist apps/api/dist/main.js]
 *   npx tsx tools/bench/heartbeats/main.ts --url http://host:3000 --key am_… [--pid N]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  mergeResults,
  percentile,
  runOpenLoop,
  sleep,
  type OpenLoopResult,
} from '../lib/open-loop.js';
import { ProcessMeter, cpuMsOf } from '../lib/proc-stats.js';

interface Registered {
  id: string;
  agentKey: string;
}

/** What the parent hands each worker process: its share of the agents and of the schedule. */
interface WorkerJob {
  url: string;
  agents: Registered[];
  rate: number;
  startAtEpochMs: number;
  warmupMs: number;
  durationMs: number;
  connections: number;
}

const ADMIN = { email: 'bench@example.test', password: 'Bench-Admin-Password-7' };

/** Drives a share of the agents; the same file runs as parent and (with --worker) as worker. */
function runJob(job: WorkerJob): Promise<OpenLoopResult> {
  const bodies = job.agents.map((a) => ({
    path: `/api/v2/agents/${a.id}/heartbeat`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${a.agentKey}` },
  }));
  return runOpenLoop({
    url: job.url,
    rate: job.rate,
    warmupMs: job.warmupMs,
    durationMs: job.durationMs,
    connections: job.connections,
    startAtEpochMs: job.startAtEpochMs,
    request: (i) => {
      const b = bodies[i % bodies.length];
      return {
        method: 'POST',
        path: b.path,
        headers: b.headers,
        body: `{"status":"active","uptimeSec":${Math.floor(i / bodies.length)}}`,
      };
    },
  });
}

if (process.argv.includes('--worker')) {
  process.send!('ready');
  process.once('message', (job: WorkerJob) => {
    runJob(job).then(
      (r) => process.send!(r, () => process.exit(0)),
      (e: unknown) => {
        console.error(`worker failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((e: unknown) => {
    console.error(`bench failed: ${(e as Error).message}`);
    process.exit(1);
  });
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      agents: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '10' },
      duration: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '20' },
      connections: { type: 'string', default: '32' },
      workers: { type: 'string', default: '1' },
      pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
      dist: { type: 'string', default: 'apps/api/dist/main.js' },
      port: { type: 'string', default: '3197' },
      'cpu-prof': { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      pid: { type: 'string' },
    },
  });
  const AGENTS = Number(args.agents);
  const INTERVAL_S = Number(args.interval);
  const WORKERS = Math.max(1, Number(args.workers));
  const CONNECTIONS = Math.max(1, Number(args.connections));
  const rate = AGENTS / INTERVAL_S;

  let server: { url: string; child: ChildProcess; dbName: string } | null = null;
  const url = args.url ?? (server = await startServer(args)).url;
  try {
    const key = await registrationKey(url, args.key);
    const t0 = performance.now();
    const agents = await registerAll(url, key, AGENTS, INTERVAL_S);
    console.log(`registered ${AGENTS} agents in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const apiPid = server?.child.pid ?? (args.pid ? Number(args.pid) : null);
    const apiMeter = apiPid ? new ProcessMeter(() => [apiPid]) : null;
    // PostgreSQL backends serving the bench database (only when the server is local and
    // readable; the shared WAL writer and checkpointer are not included).
    const pgPids = server ? await backendPids(args.pg!, server.dbName) : [];
    const pgMeter = pgPids.every((p) => cpuMsOf(p) !== null)
      ? new ProcessMeter(() => pgPids)
      : null;

    const warmupMs = Number(args.warmup) * 1000;
    const durationMs = Number(args.duration) * 1000;
    // Worker processes are loaded first, so the shared schedule does not start before them.
    const workers =
      WORKERS > 1 ? await Promise.all(Array.from({ length: WORKERS }, startWorker)) : [];
    const startAtEpochMs = Date.now() + 300;
    const period = 1000 / rate;
    const jobs: WorkerJob[] = Array.from({ length: WORKERS }, (_, w) => ({
      url,
      agents: agents.filter((_a, i) => i % WORKERS === w),
      rate: rate / WORKERS,
      // Interleaved: worker w sends the w-th of every WORKERS consecutive beats.
      startAtEpochMs: startAtEpochMs + w * period,
      warmupMs,
      durationMs,
      connections: Math.max(1, Math.round(CONNECTIONS / WORKERS)),
    }));
    console.log(
      `offering ${rate} req/s from ${WORKERS} process(es) over ${CONNECTIONS} connections: ` +
        `warm-up ${args.warmup} s, then measuring ${args.duration} s…`,
    );
    let commits0: Promise<number | null> = Promise.resolve(null);
    let commits1: Promise<number | null> = Promise.resolve(null);
    const meterAt = setTimeout(
      () => {
        apiMeter?.start();
        pgMeter?.start();
        if (server) commits0 = commitsOf(args.pg!, server.dbName);
      },
      startAtEpochMs + warmupMs - Date.now(),
    );
    let apiStats: ReturnType<ProcessMeter['stop']> | null = null;
    let pgStats: ReturnType<ProcessMeter['stop']> | null = null;
    const meterStop = setTimeout(
      () => {
        apiStats = apiMeter?.stop() ?? null;
        pgStats = pgMeter?.stop() ?? null;
        if (server) commits1 = commitsOf(args.pg!, server.dbName);
      },
      startAtEpochMs + warmupMs + durationMs - Date.now(),
    );
    const results =
      WORKERS === 1
        ? [await runJob(jobs[0])]
        : await Promise.all(jobs.map((j, w) => workers[w](j)));
    clearTimeout(meterAt);
    clearTimeout(meterStop);
    const r = mergeResults(results);
    const [c0, c1] = await Promise.all([commits0, commits1]);

    const sorted = Float64Array.from(r.latencies).sort();
    const p = (q: number) => percentile(sorted, q).toFixed(1);
    const perBeat = (ms: number) => (r.completed ? ms / r.completed : NaN).toFixed(3);
    const pctCore = (ms: number) => ((ms / durationMs) * 100).toFixed(0);
    const line = (k: string, v: string) => console.log(`${k.padEnd(12)}${v}`);
    console.log('');
    line(
      'load:',
      `${AGENTS} agents every ${INTERVAL_S} s = ${rate} req/s offered for ${args.duration} s ` +
        `(${WORKERS} client process(es), ${CONNECTIONS} keep-alive connections, ${os.cpus().length} cores, ` +
        `load avg ${os.loadavg()[0].toFixed(1)})`,
    );
    line(
      'achieved:',
      `${r.completed} responses of ${r.offered} offered = ${(r.completed / r.windowS).toFixed(0)} req/s`,
    );
    line(
      'latency:',
      `p50 ${p(50)} ms   p90 ${p(90)} ms   p99 ${p(99)} ms   max ${p(100)} ms  (from the scheduled send time)`,
    );
    line(
      'errors:',
      `${r.errors} (${Object.entries(r.statuses)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')})`,
    );
    if (apiStats) {
      const a = apiStats as ReturnType<ProcessMeter['stop']>;
      line(
        'API:',
        `CPU ${pctCore(a.cpuMs)} % of one core = ${perBeat(a.cpuMs)} ms CPU per heartbeat; ` +
          `RSS ${a.rssMiB.toFixed(0)} MiB (peak ${a.peakRssMiB.toFixed(0)} MiB)`,
      );
    } else line('API:', 'CPU/RSS not measured (pass --pid for an existing local server)');
    if (pgStats) {
      const g = pgStats as ReturnType<ProcessMeter['stop']>;
      line(
        'PostgreSQL:',
        `${pgPids.length} backends of the bench DB: CPU ${pctCore(g.cpuMs)} % of one core = ` +
          `${perBeat(g.cpuMs)} ms per heartbeat` +
          (c0 !== null && c1 !== null
            ? `; ${c1 - c0} transactions = ${(r.completed / Math.max(1, c1 - c0)).toFixed(1)} heartbeats per commit`
            : ''),
      );
    }
    line(
      'client:',
      `CPU ${pctCore(r.clientCpuMs)} % of one core; max ${r.maxQueued} requests waiting for a ` +
        `connection; max dispatch lag ${r.maxDispatchLagMs.toFixed(1)} ms`,
    );
    const achieved = r.completed >= r.offered * 0.99;
    const ok = r.errors === 0 && achieved && percentile(sorted, 99) < 50;
    console.log(
      ok
        ? 'PASS: p99 < 50 ms, no errors, offered rate achieved'
        : 'FAIL: target is p99 < 50 ms with no errors at the offered rate',
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (server) await stopServer(server, args.pg!);
  }
}

/** Forks a worker process and resolves once it is loaded and waiting for its job. */
function startWorker(): Promise<(job: WorkerJob) => Promise<OpenLoopResult>> {
  return new Promise((ready, fail) => {
    const child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: 'inherit' });
    const result = new Promise<OpenLoopResult>((resolve, reject) => {
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited with ${code}`));
      });
      child.once('message', () => {
        child.once('message', (m) => resolve(m as OpenLoopResult));
        ready((job) => {
          child.send(job);
          return result;
        });
      });
    });
    result.catch(fail);
  });
}

async function startServer(args: {
  pg?: string;
  port?: string;
  dist?: string;
  'cpu-prof'?: string;
}): Promise<{ url: string; child: ChildProcess; dbName: string }> {
  const dbName = `am_bench_hb_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const port = Number(args.port);
  const nodeArgs = args['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, path.resolve(args.dist!)], {
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
    if (child.exitCode !== null) break;
    await sleep(500);
  }
  // Not up: stop it and drop the database rather than leave them behind.
  const why =
    child.exitCode !== null ? `API exited with ${child.exitCode}` : 'API not ready in 60 s';
  await stopServer({ child, dbName }, args.pg!);
  throw new Error(why);
}

async function stopServer(
  server: { child: ChildProcess; dbName: string },
  pgUrl: string,
): Promise<void> {
  if (server.child.exitCode === null) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  const admin = new pg.Client({ connectionString: `${pgUrl}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${server.dbName} WITH (FORCE)`);
  await admin.end();
}

async function backendPids(pgUrl: string, dbName: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: `${pgUrl}/postgres` });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1`,
      [dbName],
    );
    return rows.map((x) => x.pid);
  } finally {
    await c.end();
  }
}

/** Committed transactions of the bench database so far (pg_stat_database, updated ~1/s). */
async function commitsOf(pgUrl: string, dbName: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: `${pgUrl}/postgres` });
  try {
    await c.connect();
    const { rows } = await c.query<{ n: string }>(
      `SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1`,
      [dbName],
    );
    return rows[0] ? Number(rows[0].n) : null;
  } catch {
    return null;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function registrationKey(url: string, given: string | undefined): Promise<string> {
  if (given) return given;
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

async function registerAll(
  url: string,
  key: string,
  count: number,
  intervalS: number,
): Promise<Registered[]> {
  const out: Registered[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await fetch(`${url}/api/v2/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          name: `bench-${i}`,
          type: 'web_server',
          host: `bench-${i % 500}.lan`,
          heartbeatIntervalSec: intervalS,
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
