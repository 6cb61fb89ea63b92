/**
 * Metrics ingest benchmark.
 *
 *   npx tsx tools/bench/ingest/index.ts [--peer influxdb] [--values 2000000] [--agents 1000]
 *       [--batch 5000] [--concurrency 4] [--rounds 1] [--warmup 10] [--no-json] [--no-build]
 *       [--compact-after 1d]
 *
 * Starts the built API (apps/api/dist) against a fresh database on the local PostgreSQL,
 * registers the agents, then sends the same generated data as InfluxDB line protocol
 * (POST /api/v2/write) and as JSON batches (POST /api/v2/metrics/batch): `agents` agents ×
 * 8 fields per line, `batch` lines per request, `concurrency` connections, `values` field
 * values in total. Prints lines/s, values/s, p50/p99 per request, API and PostgreSQL CPU,
 * API RSS and on-disk bytes per stored value. With `--peer influxdb` it starts Debian's
 * `influxd` (1.x) with its data in a temp dir on loopback, sends the same line protocol to
 * its /write and prints both side by side with the ratio; `--rounds N` adds N-1 more line-protocol
 * rounds alternating the two (fresh timestamps each) and prints the median ratio, for shared
 * machines whose load changes between runs. Before measuring, each server gets `--warmup` batches
 * (default 10, at older timestamps, not measured; `--warmup 0` measures cold starts).
 * The generated samples are backdated (up to ~2 h, warm-up included), so with the product's
 * METRICS_COMPACT_AFTER (15m) the raw compaction of their windows would start at once; the
 * bench starts the API with `--compact-after` (default 1d: no compaction, the bytes per value
 * are those of freshly written chunks). `--compact-after 0ms` compacts every window right
 * away: the "caught up" lines then include the compaction's time and PostgreSQL CPU.
 * `BENCH_DEBUG=1` also prints every request's latency in send
 * order (the first batches create the series). Exits non-zero on any failed request.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  buildApi,
  cpuByName,
  cpuSinceByName,
  cpuTimes,
  createDatabase,
  fmt,
  freePort,
  insertKey,
  percentile,
  registerAgents,
  rssMiB,
  waitForRollups,
  startApi,
  threadCpu,
} from './common.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const peer = args.includes('--peer') ? args[args.indexOf('--peer') + 1] : null;
/** METRICS_COMPACT_AFTER of the API under test (see the header). */
const COMPACT_AFTER = args.includes('--compact-after')
  ? args[args.indexOf('--compact-after') + 1]
  : '1d';
const COMPACT_AFTER_MS = (() => {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(COMPACT_AFTER);
  if (!m) throw new Error('--compact-after: a duration like 0ms, 15m or 1d');
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
})();
const caughtUp = (url: string) => waitForRollups(url, { compactAfterMs: COMPACT_AFTER_MS });
const TOTAL_VALUES = opt('values', 2_000_000);
const AGENTS = opt('agents', 1000);
const BATCH = opt('batch', 5000);
const CONCURRENCY = opt('concurrency', 4);
/** With --peer: rounds of line protocol, alternating agent-monitor and the peer. */
const ROUNDS = opt('rounds', 1);
/**
 * Batches sent to each server before anything is measured (older timestamps, not counted):
 * both then run warm, as a server that has been up for a while does (JIT-compiled code, the
 * fleet's series known). 0 measures cold starts; the first batches then create the series.
 */
const WARMUP = opt('warmup', 10);
const FIELDS = 8;
const LINES = Math.ceil(TOTAL_VALUES / FIELDS);
const STEP_MS = 10_000;

/** Deterministic pseudo-random numbers (mulberry32), so every run sends the same data. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample {
  agent: number;
  ts: number;
  v: number[];
}

const FIELD_NAMES = [
  'cpu_usage',
  'memory_usage',
  'disk_usage',
  'network_in',
  'network_out',
  'tasks_completed',
  'error_rate',
  'response_time',
];

function samples(start: number, offsetMs: number): Sample[][] {
  const rand = rng(42);
  const out: Sample[][] = [];
  for (let b = 0; b * BATCH < LINES; b++) {
    const batch: Sample[] = [];
    for (let i = b * BATCH; i < Math.min(LINES, (b + 1) * BATCH); i++) {
      const agent = i % AGENTS;
      const ts = start + Math.floor(i / AGENTS) * STEP_MS + offsetMs;
      batch.push({
        agent,
        ts,
        v: [
          Math.round(rand() * 10000) / 100,
          Math.round(rand() * 10000) / 100,
          Math.round(rand() * 10000) / 100,
          Math.floor(rand() * 1e6),
          Math.floor(rand() * 1e6),
          Math.floor(rand() * 1000),
          Math.round(rand() * 500) / 100,
          Math.round(rand() * 50000) / 100,
        ],
      });
    }
    out.push(batch);
  }
  return out;
}

function lineProtocol(batch: Sample[], ids: string[]): string {
  let s = '';
  for (const x of batch) {
    s += `agent_metrics,agent_id=${ids[x.agent]} cpu_usage=${x.v[0]},memory_usage=${x.v[1]},disk_usage=${x.v[2]},network_in=${x.v[3]}i,network_out=${x.v[4]}i,tasks_completed=${x.v[5]}i,error_rate=${x.v[6]},response_time=${x.v[7]} ${x.ts}\n`;
  }
  return s;
}

function jsonBatch(batch: Sample[], ids: string[]): string {
  return JSON.stringify({
    samples: batch.map((x) => ({
      agentId: ids[x.agent],
      timestamp: x.ts,
      metrics: Object.fromEntries(FIELD_NAMES.map((f, i) => [f, x.v[i]])),
    })),
  });
}

interface RunResult {
  label: string;
  seconds: number;
  lines: number;
  values: number;
  p50: number;
  p99: number;
  max: number;
  cpu: number;
  cpuUser: number;
  cpuSys: number;
  pgCpu: number;
  rss: { rss: number; peak: number };
  /** agent-monitor only: seconds per ingest phase (am_ingest_phase_seconds_total deltas) */
  phases?: Record<string, number>;
  /** CPU seconds per thread role (main, worker, V8 helpers…) */
  threads: Map<string, number>;
}

/** am_ingest_phase_seconds_total by phase, from the API's /metrics. */
async function phaseSeconds(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^am_ingest_phase_seconds_total\{phase="([^"]+)"\} (\S+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

async function run(
  label: string,
  bodies: string[],
  send: (body: string) => Promise<Response>,
  pid: number,
  lines: number,
): Promise<RunResult> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = cpuTimes(pid);
  const threads0 = threadCpu(pid);
  const pg0 = cpuByName('postgres');
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const s = performance.now();
        const r = await send(body);
        const text = await r.text();
        lat.push(performance.now() - s);
        if (r.status >= 300) throw new Error(`${label}: HTTP ${r.status} ${text.slice(0, 300)}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (process.env.BENCH_DEBUG) console.log(label, lat.map((x) => Math.round(x)).join(' '));
  lat.sort((a, b) => a - b);
  return {
    label,
    seconds,
    lines,
    values: lines * FIELDS,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    max: lat[lat.length - 1],
    ...(() => {
      const c = cpuTimes(pid);
      const user = c.user - cpu0.user;
      const sys = c.sys - cpu0.sys;
      return { cpu: user + sys, cpuUser: user, cpuSys: sys };
    })(),
    pgCpu: cpuSinceByName('postgres', pg0),
    threads: new Map(
      [...threadCpu(pid)]
        .map(([k, v]): [string, number] => [k, v - (threads0.get(k) ?? 0)])
        .filter(([, v]) => v >= 0.05)
        .sort((a, b) => b[1] - a[1]),
    ),
    rss: rssMiB(pid),
  };
}

function print(r: RunResult, bytesPerValue: number | null, pgCounted: boolean): void {
  console.log(
    `${r.label.padEnd(28)} ${fmt(r.lines / r.seconds).padStart(10)} lines/s ${fmt(r.values / r.seconds).padStart(12)} values/s` +
      `  p50 ${fmt(r.p50).padStart(5)} ms  p99 ${fmt(r.p99).padStart(5)} ms  max ${fmt(r.max).padStart(5)} ms` +
      `  server CPU ${fmt(r.cpu, 1)} s (${fmt((r.cpu / r.lines) * 1e6, 1)} µs/line: user ${fmt((r.cpuUser / r.lines) * 1e6, 1)} + sys ${fmt((r.cpuSys / r.lines) * 1e6, 1)})` +
      `${pgCounted ? ` + postgres ${fmt(r.pgCpu, 1)} s` : ''}` +
      `  RSS ${fmt(r.rss.rss)} MiB (peak ${fmt(r.rss.peak)})` +
      (bytesPerValue !== null ? `  ${fmt(bytesPerValue, 1)} B/value on disk` : ''),
  );
  if (r.threads.size > 1) {
    console.log(
      `${''.padEnd(28)} CPU by thread (µs/line): ` +
        [...r.threads].map(([k, v]) => `${k} ${fmt((v / r.lines) * 1e6, 2)}`).join(', '),
    );
  }
  if (r.phases) {
    console.log(
      `${''.padEnd(28)} ingest phases (wall µs/line, includes waiting): ` +
        Object.entries(r.phases)
          .map(([k, v]) => `${k} ${fmt((v / r.lines) * 1e6, 2)}`)
          .join(', '),
    );
  }
}

async function rawBytes(
  databaseUrl: string,
): Promise<{ heap: number; index: number; values: number }> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  await c.query('CHECKPOINT').catch(() => undefined);
  const [sizes] = (
    await c.query(`SELECT coalesce(sum(pg_table_size(i.inhrelid)), 0) AS heap,
                          coalesce(sum(pg_indexes_size(i.inhrelid)), 0) AS index
                     FROM pg_inherits i WHERE i.inhparent = 'metric_raw'::regclass`)
  ).rows as Array<{ heap: string; index: string }>;
  const [vals] = (
    await c.query(
      `SELECT coalesce(sum(cardinality(array_remove(vals, NULL))), 0) AS n FROM metric_raw`,
    )
  ).rows as Array<{ n: string }>;
  await c.end();
  return { heap: Number(sizes.heap), index: Number(sizes.index), values: Number(vals.n) };
}

async function startInflux(): Promise<{
  url: string;
  pid: number;
  dir: string;
  stop: () => Promise<void>;
}> {
  try {
    execFileSync('influxd', ['version'], { stdio: 'ignore' });
  } catch {
    console.log(
      'influxd not found: installing Debian package `influxdb` (apt-get install -y influxdb)…',
    );
    try {
      execFileSync('apt-get', ['install', '-y', 'influxdb'], { stdio: 'inherit' });
    } catch {
      throw new Error(
        'Debian package influxdb could not be installed here (try `apt-cache policy influxdb influxdb2`)',
      );
    }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'am-bench-influx-'));
  const port = await freePort();
  const rpc = await freePort();
  const conf = path.join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0
`,
  );
  const proc = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  proc.stderr?.on('data', (d: Buffer) => (errText = (errText + d.toString()).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`influxd exited: ${errText}`);
    try {
      const r = await fetch(`${url}/ping`);
      if (r.status === 204) break;
    } catch {
      /* starting */
    }
    if (Date.now() > deadline) throw new Error('influxd did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const q = await fetch(`${url}/query?q=${encodeURIComponent('CREATE DATABASE bench')}`, {
    method: 'POST',
  });
  if (!q.ok) throw new Error(`CREATE DATABASE → ${q.status}`);
  return {
    url,
    pid: proc.pid!,
    dir,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);
}

async function main(): Promise<void> {
  console.log(
    `ingest benchmark: ${fmt(AGENTS)} agents × ${FIELDS} fields, ${fmt(BATCH)}-line batches, ` +
      `${CONCURRENCY} connections, ${fmt(LINES * FIELDS)} values (${fmt(LINES)} lines) per run; ${os.cpus().length} CPUs`,
  );
  if (!args.includes('--no-build')) buildApi();
  const db = await createDatabase();
  let api: Awaited<ReturnType<typeof startApi>> | null = null;
  let influx: Awaited<ReturnType<typeof startInflux>> | null = null;
  try {
    api = await startApi(db.url, { METRICS_COMPACT_AFTER: COMPACT_AFTER });
    const regKey = await insertKey(db.url, ['agents:register']);
    const key = await insertKey(db.url, ['metrics:write']);
    console.log(`registering ${fmt(AGENTS)} agents…`);
    const ids = await registerAgents(api.baseUrl, regKey, AGENTS);
    const start = Date.now() - Math.ceil(LINES / AGENTS) * STEP_MS - 60_000;
    const lpBodies = samples(start, 0).map((b) => lineProtocol(b, ids));
    console.log(
      `line protocol: ${lpBodies.length} bodies, ${fmt(lpBodies.reduce((n, b) => n + b.length, 0) / 1048576, 1)} MiB`,
    );
    const results: Array<[RunResult, number | null]> = [];
    // Warm-up data sits before the measured data (distinct timestamps), so nothing collides.
    const warmBodies = WARMUP
      ? samples(start - 3 * STEP_MS * Math.ceil(LINES / AGENTS), 0)
          .slice(0, WARMUP)
          .map((b) => lineProtocol(b, ids))
      : [];
    const warm = async (label: string, send: (body: string) => Promise<Response>) => {
      if (!warmBodies.length) return;
      const t0 = performance.now();
      for (const body of warmBodies) {
        const r = await send(body);
        if (r.status >= 300)
          throw new Error(`${label} warm-up: HTTP ${r.status} ${await r.text()}`);
      }
      console.log(
        `  ${label}: warm-up ${warmBodies.length} batches (${fmt(warmBodies.length * BATCH)} lines, not measured) in ${fmt(performance.now() - t0)} ms`,
      );
    };
    await warm('agent-monitor', (body) =>
      fetch(`${api!.baseUrl}/api/v2/write?bucket=bench&precision=ms`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Token ${key}` },
        body,
      }),
    );
    await caughtUp(db.url);
    const ph0 = await phaseSeconds(api.baseUrl);
    const lp = await run(
      'agent-monitor /api/v2/write',
      lpBodies,
      (body) =>
        fetch(`${api!.baseUrl}/api/v2/write?bucket=bench&precision=ms`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Token ${key}` },
          body,
        }),
      api.proc.pid!,
      LINES,
    );
    const ph1 = await phaseSeconds(api.baseUrl);
    lp.phases = Object.fromEntries(Object.entries(ph1).map(([k, v]) => [k, v - (ph0[k] ?? 0)]));
    const done = await caughtUp(db.url);
    console.log(
      `  rollups (1m, 1h, 1d)${COMPACT_AFTER_MS < 86_400_000 ? ` and raw compaction (after ${COMPACT_AFTER})` : ''} caught up ${fmt(done.seconds, 1)} s after the last batch` +
        ` (PostgreSQL CPU meanwhile ${fmt(done.pgCpu, 1)} s); InfluxDB keeps no rollups`,
    );
    const afterLp = await rawBytes(db.url);
    results.push([lp, (afterLp.heap + afterLp.index) / afterLp.values]);
    console.log(
      `  stored ${fmt(afterLp.values)} values: heap ${fmt(afterLp.heap / 1048576, 1)} MiB + index ${fmt(afterLp.index / 1048576, 1)} MiB`,
    );
    if (afterLp.values !== (LINES + warmBodies.length * BATCH) * FIELDS)
      throw new Error(`expected ${LINES * FIELDS} stored values, found ${afterLp.values}`);

    if (!args.includes('--no-json')) {
      const jsonBodies = samples(start, 5000).map((b) => jsonBatch(b, ids));
      const jph0 = await phaseSeconds(api.baseUrl);
      const js = await run(
        'agent-monitor /metrics/batch',
        jsonBodies,
        (body) =>
          fetch(`${api!.baseUrl}/api/v2/metrics/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body,
          }),
        api.proc.pid!,
        LINES,
      );
      const jph1 = await phaseSeconds(api.baseUrl);
      js.phases = Object.fromEntries(Object.entries(jph1).map(([k, v]) => [k, v - (jph0[k] ?? 0)]));
      results.push([js, null]);
    }

    if (peer === 'influxdb') {
      await caughtUp(db.url);
      console.log('starting influxd (Debian package influxdb) on loopback…');
      influx = await startInflux();
      // Its own database: the bytes per value below count only the measured data.
      const q = await fetch(
        `${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE warmup')}`,
        {
          method: 'POST',
        },
      );
      if (!q.ok) throw new Error(`CREATE DATABASE warmup → ${q.status}`);
      await warm('influxdb', (body) =>
        fetch(`${influx!.url}/write?db=warmup&precision=ms`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body,
        }),
      );
      const inf = await run(
        'influxdb 1.x /write',
        lpBodies,
        (body) =>
          fetch(`${influx!.url}/write?db=bench&precision=ms`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain; charset=utf-8' },
            body,
          }),
        influx.pid,
        LINES,
      );
      await new Promise((r) => setTimeout(r, 2000));
      const bytes =
        duBytes(path.join(influx.dir, 'data', 'bench')) +
        duBytes(path.join(influx.dir, 'wal', 'bench'));
      results.push([inf, bytes / (LINES * FIELDS)]);
    } else if (peer) {
      throw new Error(`unknown peer ${peer} (only influxdb)`);
    }

    console.log('');
    for (const [r, b] of results) print(r, b, !r.label.startsWith('influx'));
    const inf = results.find(([r]) => r.label.startsWith('influx'));
    if (inf) {
      const ratio = lp.values / lp.seconds / (inf[0].values / inf[0].seconds);
      console.log(
        `\nline protocol values/s: agent-monitor / influxdb = ${fmt(ratio, 2)}×` +
          `   bytes/value: agent-monitor ${fmt(results[0][1] ?? 0, 1)} vs influxdb ${fmt(inf[1] ?? 0, 1)}` +
          ' (influxdb measured right after the run: WAL + TSM before compaction)',
      );
    }
    // More rounds, alternating the two servers on fresh timestamps: on a shared machine the
    // load changes from minute to minute, and alternating puts both through the same spells.
    if (inf && ROUNDS > 1) {
      const sendAm = (body: string) =>
        fetch(`${api!.baseUrl}/api/v2/write?bucket=bench&precision=ms`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Token ${key}` },
          body,
        });
      const sendInflux = (body: string) =>
        fetch(`${influx!.url}/write?db=bench&precision=ms`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body,
        });
      const ratios = [lp.values / lp.seconds / (inf[0].values / inf[0].seconds)];
      const rate = (r: RunResult) => r.values / r.seconds;
      console.log(`\n${ROUNDS - 1} more rounds, alternating (values/s, p99 per batch):`);
      for (let round = 1; round < ROUNDS; round++) {
        const bodies = samples(start, round).map((b) => lineProtocol(b, ids));
        const ph0 = await phaseSeconds(api.baseUrl);
        const a = await run('agent-monitor', bodies, sendAm, api.proc.pid!, LINES);
        const ph1 = await phaseSeconds(api.baseUrl);
        // Our rollup work belongs to our run, not to the peer's: let it finish first.
        const roll = await caughtUp(db.url);
        const b = await run('influxdb', bodies, sendInflux, influx!.pid, LINES);
        ratios.push(rate(a) / rate(b));
        console.log(
          `  round ${round + 1}: agent-monitor ${fmt(rate(a)).padStart(9)} p99 ${fmt(a.p99).padStart(5)} ms` +
            ` (${fmt((a.cpu / a.lines) * 1e6, 1)} µs/line)   influxdb ${fmt(rate(b)).padStart(9)} p99 ${fmt(b.p99).padStart(5)} ms` +
            `   ratio ${fmt(rate(a) / rate(b), 2)}×   (rollups caught up after ${fmt(roll.seconds, 1)} s)`,
        );
        console.log(
          `           agent-monitor: postgres ${fmt((a.pgCpu / a.lines) * 1e6, 1)} µs/line; phases (wall µs/line): ` +
            Object.entries(ph1)
              .map(([k, v]) => `${k} ${fmt(((v - (ph0[k] ?? 0)) / a.lines) * 1e6, 2)}`)
              .join(', '),
        );
      }
      ratios.sort((x, y) => x - y);
      console.log(
        `line protocol ratio over ${ROUNDS} rounds: median ${fmt(ratios[Math.floor(ratios.length / 2)], 2)}×, ` +
          `min ${fmt(ratios[0], 2)}×, max ${fmt(ratios[ratios.length - 1], 2)}×`,
      );
    }
    console.log(
      '\nCPU: "server" is the API process; PostgreSQL backends are counted separately (the machine is shared, so they include other load).',
    );
  } finally {
    await influx?.stop().catch(() => undefined);
    await api?.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
