/**
 * Shared helpers of the metrics benchmarks: start the built API against a fresh database,
 * credentials straight in SQL, process CPU/RSS from /proc, percentiles.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ADMIN_URL =
  process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `am_bench_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export function buildApi(): void {
  console.log('building the API (swc → apps/api/dist)…');
  execFileSync(
    'npx',
    ['swc', 'src', '-d', 'dist', '--strip-leading-paths', '--config-file', '.swcrc', '-q'],
    {
      cwd: path.join(ROOT, 'apps/api'),
      stdio: 'inherit',
    },
  );
}

export interface ApiServer {
  baseUrl: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startApi(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ApiServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-bench-'));
  // BENCH_NODE_ARGS: extra node flags for the API, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'apps/api/dist/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SERVE_DASHBOARD: 'false',
      RATE_LIMIT_ENABLED: 'false',
      DATABASE_POOL_SIZE: '10',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`API exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${baseUrl}/api/v2/health`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('API did not start within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    baseUrl,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** Inserts an API key with the given scopes; returns the secret. */
export async function insertKey(databaseUrl: string, scopes: string[]): Promise<string> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const key = 'am_' + Array.from(randomBytes(40), (b) => alphabet[b % 62]).join('');
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  await c.query(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)`, [
    `bench-${scopes.join('-')}`,
    key.slice(0, 11),
    createHash('sha256').update(key).digest('hex'),
    scopes,
  ]);
  await c.end();
  return key;
}

/** Registers `n` agents over HTTP (8 at a time); returns their ids in order. */
export async function registerAgents(
  baseUrl: string,
  key: string,
  n: number,
  prefix = 'bench',
): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  const types = ['web_server', 'worker', 'llm_agent', 'database'];
  const envs = ['prod', 'staging', 'dev'];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        const r = await fetch(`${baseUrl}/api/v2/agents/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({
            name: `${prefix}-${i}`,
            type: types[i % types.length],
            environment: envs[i % envs.length],
            host: `${prefix}-${i}.local`,
          }),
        });
        if (r.status >= 300) throw new Error(`register → ${r.status} ${await r.text()}`);
        ids[i] = ((await r.json()) as { id: string }).id;
      }
    }),
  );
  return ids;
}

/** utime+stime in seconds of a process (0 when gone). */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** utime and stime in seconds of a process (0 when gone). */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(parts[11]) / clockTicks(), sys: Number(parts[12]) / clockTicks() };
  } catch {
    return { user: 0, sys: 0 };
  }
}

/**
 * CPU seconds of a process's threads: the main thread, "other threads" (Node names all its
 * threads like the process: the parser thread, V8's GC and compiler helpers, libuv's pool), and
 * any thread with a name of its own by that name.
 */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let main = '';
  try {
    main = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const parts = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = tid === String(pid) ? 'main' : comm === main ? 'other threads' : comm;
        out.set(
          name,
          (out.get(name) ?? 0) + (Number(parts[11]) + Number(parts[12])) / clockTicks(),
        );
      } catch {
        /* thread ended */
      }
    }
  } catch {
    /* process ended */
  }
  return out;
}

let ticks = 0;
function clockTicks(): number {
  if (!ticks) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds of every process whose command name is `name` (e.g. all postgres backends), by pid. */
export function cpuByName(name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== name) continue;
      const parts = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(d, (Number(parts[11]) + Number(parts[12])) / clockTicks());
    } catch {
      /* process ended */
    }
  }
  return out;
}

/**
 * CPU seconds those processes used since `before` (cpuByName): processes that exited meanwhile
 * are left out (their time is gone with them), so the figure never goes negative.
 */
export function cpuSinceByName(name: string, before: Map<string, number>): number {
  let total = 0;
  for (const [pid, s] of cpuByName(name)) total += Math.max(0, s - (before.get(pid) ?? 0));
  return total;
}

/** Current and peak RSS in MiB. */
export function rssMiB(pid: number): { rss: number; peak: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/**
 * Waits until the rollup job has processed everything marked dirty (all levels), compacted
 * every raw window due by `compactAfterMs` (METRICS_COMPACT_AFTER) and finished its run, and
 * `also` holds; returns how long that took and the PostgreSQL CPU spent meanwhile.
 */
export async function waitForRollups(
  databaseUrl: string,
  opts: {
    timeoutMs?: number;
    compactAfterMs?: number;
    also?: (c: pg.Client) => Promise<boolean>;
  } = {},
): Promise<{ seconds: number; pgCpu: number }> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  const t0 = performance.now();
  const pg0 = cpuByName('postgres');
  try {
    for (;;) {
      // the leader's advisory lock (RollupService LEADER_LOCK) is held for the whole run
      const { rows } = await c.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM metric_rollup_dirty)
              + (SELECT count(*) FROM metric_raw_compact
                  WHERE window_start < now() - make_interval(secs => $1::float8 / 1000))
              + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 774201001)
                AS n`,
        [15 * 60_000 + (opts.compactAfterMs ?? 15 * 60_000)],
      );
      if (Number(rows[0].n) === 0 && (!opts.also || (await opts.also(c)))) break;
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(`rollups did not catch up in ${Math.round(timeoutMs / 60_000)} min`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await c.end();
  }
  return { seconds: (performance.now() - t0) / 1000, pgCpu: cpuSinceByName('postgres', pg0) };
}
