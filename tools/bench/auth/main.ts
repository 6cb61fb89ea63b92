/**
 * Authentication hot paths, over HTTP against the built API on a fresh PostgreSQL database:
 *
 * - login latency (argon2id verify + session insert + audit row), sequential;
 * - refresh latency (compare-and-set rotation + audit row), sequential;
 * - authenticated request throughput (GET /api/v2/users/profile) with a JWT and with an API
 *   key, `--concurrency` requests in flight for `--seconds` each: what every request pays for
 *   the access check (the resolver caches sessions 2 s and keys 5 s).
 *
 *   npx tsx tools/bench/auth/main.ts [--logins 40] [--seconds 5] [--concurrency 32]
 *        [--pg postgres://postgres@127.0.0.1:5432] [--dist apps/api/dist/main.js] [--port N]
 *
 * Build first: cd apps/api && npx swc src -d dist --strip-leading-paths --config-file .swcrc -q
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    logins: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
    dist: { type: 'string', default: 'apps/api/dist/main.js' },
    port: { type: 'string', default: '0' },
  },
});
const ADMIN = { email: 'bench@example.test', password: 'Bench-Admin-Password-7' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(): Promise<{ url: string; child: ChildProcess; dbName: string }> {
  const dbName = `am_bench_auth_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const port = Number(args.port) || (await freePort());
  const child = spawn(process.execPath, [path.resolve(args.dist!)], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `${args.pg}/${dbName}`,
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'am-bench-auth-')),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      SERVE_DASHBOARD: 'false',
      NODE_ENV: 'production',
      RATE_LIMIT_ENABLED: 'false',
      LOGIN_RATE_PER_IP: '100000',
      LOGIN_RATE_PER_ACCOUNT: '100000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`API exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/v2/health/ready`)).ok) return { url, child, dbName };
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error('API did not become ready');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latency(name: string, xs: number[]): void {
  const s = [...xs].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(28)} n=${s.length}  p50=${pct(s, 50).toFixed(1)} ms  p99=${pct(s, 99).toFixed(1)} ms  max=${s[s.length - 1].toFixed(1)} ms`,
  );
}

async function post<T>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${url} → ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function throughput(
  name: string,
  url: string,
  headers: Record<string, string>,
): Promise<void> {
  const until = performance.now() + Number(args.seconds) * 1000;
  const times: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const r = await fetch(url, { headers });
        await r.arrayBuffer();
        if (r.status !== 200) errors++;
        times.push(performance.now() - t0);
      }
    }),
  );
  const rps = times.length / Number(args.seconds);
  console.log(`${name.padEnd(28)} ${rps.toFixed(0)} req/s  errors=${errors}`);
  latency(`  ${name} latency`, times);
  if (errors) throw new Error(`${name}: ${errors} non-200 answers`);
}

async function main(): Promise<void> {
  const { url, child, dbName } = await startServer();
  let failed = false;
  try {
    const api = `${url}/api/v2`;
    const logins: number[] = [];
    let tokens = { accessToken: '', refreshToken: '' };
    for (let i = 0; i < Number(args.logins); i++) {
      const t0 = performance.now();
      tokens = await post(`${api}/auth/login`, ADMIN);
      logins.push(performance.now() - t0);
    }
    latency('login', logins);

    const refreshes: number[] = [];
    for (let i = 0; i < Number(args.logins); i++) {
      const t0 = performance.now();
      const next = await post<typeof tokens>(`${api}/auth/refresh`, {
        refreshToken: tokens.refreshToken,
      });
      refreshes.push(performance.now() - t0);
      tokens = next;
    }
    latency('refresh', refreshes);

    const key = await post<{ key: string }>(
      `${api}/api-keys`,
      { name: 'bench', scopes: ['admin'] },
      { authorization: `Bearer ${tokens.accessToken}` },
    );
    await throughput('GET /users/profile (JWT)', `${api}/users/profile`, {
      authorization: `Bearer ${tokens.accessToken}`,
    });
    await throughput('GET /api-keys?limit=1 (key)', `${api}/api-keys?limit=1`, {
      'x-api-key': key.key,
    });
    await throughput('GET /health (no auth)', `${api}/health`, {});
  } catch (e) {
    failed = true;
    console.error(e);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
  process.exit(failed ? 1 : 0);
}

void main();
