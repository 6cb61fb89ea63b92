/**
 * Alert latency: ingest a sample that crosses a threshold and measure the time until
 * (a) a dashboard socket receives `alert_triggered` and (b) a loopback webhook receiver gets
 * the notification; p50/p99/max over N alerts (default 200), with background ingest running.
 *
 * Starts the built API (apps/api/dist/main.js) on a fresh PostgreSQL database, logs in, opens
 * the /dashboard socket, creates a webhook channel and one rule (`bench_cpu > 90`, no grouping),
 * registers N alert agents and a background fleet, then fires the alerts one after another
 * while the background fleet keeps ingesting. Time is measured from just before the ingest
 * request is sent (so it includes the ingest commit) and, separately, from its 2xx.
 *
 *   npx tsx tools/bench/alert-latency/main.ts [--alerts 200] [--bg-values 100000] [--bg-agents 100]
 *        [--bg-streams 6] [--bg-batch 1000] [--pg postgres://postgres@127.0.0.1:5432]
 *        [--dist apps/api/dist/main.js]
 *
 * Background ingest runs as `--bg-streams` concurrent request loops (one sequential loop tops
 * out at batch size / request latency), each paced to its share of `--bg-values`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import type {
  AlertEvent,
  ClientToServerEvents,
  ServerToClientEvents,
} from '@agent-monitor/contracts';

const { values: args } = parseArgs({
  options: {
    alerts: { type: 'string', default: '200' },
    'bg-values': { type: 'string', default: '100000' },
    'bg-agents': { type: 'string', default: '100' },
    'bg-streams': { type: 'string', default: '6' },
    'bg-batch': { type: 'string', default: '1000' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
    dist: { type: 'string', default: 'apps/api/dist/main.js' },
    port: { type: 'string', default: '3198' },
  },
});
const ALERTS = Number(args.alerts);
const BG_VALUES = Number(args['bg-values']);
const BG_AGENTS = Number(args['bg-agents']);
const BG_STREAMS = Math.max(1, Number(args['bg-streams']));
const BG_BATCH = Math.max(1, Number(args['bg-batch']));
const ADMIN = { email: 'bench@example.test', password: 'Bench-Admin-Password-7' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(): Promise<{ url: string; child: ChildProcess; dbName: string }> {
  const dbName = `am_bench_alert_${Date.now().toString(36)}`;
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
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'am-bench-alert-')),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      SERVE_DASHBOARD: 'false',
      NODE_ENV: 'production',
      ALLOW_PRIVATE_WEBHOOK_TARGETS: 'true',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/api/v2/health/ready`)).ok) return { url, child, dbName };
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error('API did not become ready');
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${name.padEnd(34)} n=${s.length}  p50=${pct(s, 50).toFixed(1)} ms  p99=${pct(s, 99).toFixed(1)} ms  max=${s[s.length - 1].toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const { url, child, dbName } = await startServer();
  let failed = false;
  let stopBg = false;
  const hook = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const at = performance.now();
      res.writeHead(200).end('ok');
      try {
        const body = JSON.parse(raw) as { alerts: Array<{ agentId: string }> };
        for (const a of body.alerts) webhookAt.set(a.agentId, at);
      } catch {
        // ignore
      }
    });
  });
  const webhookAt = new Map<string, number>();
  const socketAt = new Map<string, number>();
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  try {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const login = await fetch(`${url}/api/v2/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    if (!login.ok) throw new Error(`login: HTTP ${login.status}`);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` };
    const post = async <T>(p: string, body: unknown): Promise<T> => {
      const r = await fetch(`${url}${p}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    };

    socket = io(`${url}/dashboard`, { auth: { token: accessToken }, transports: ['websocket'] });
    socket.on('alert_triggered', (e: AlertEvent) => {
      if (e.agentId) socketAt.set(e.agentId, performance.now());
    });
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', () => resolve());
      socket!.once('connect_error', (e) => reject(e));
    });

    const channel = await post<{ id: string }>('/api/v2/notification-channels', {
      type: 'webhook',
      name: 'bench',
      config: { url: hookUrl },
    });
    const register = async (name: string) =>
      (
        await post<{ id: string }>('/api/v2/agents/register', {
          name,
          type: 'bench',
          host: 'bench',
        })
      ).id;
    const alertAgents: string[] = [];
    for (let i = 0; i < ALERTS; i++) alertAgents.push(await register(`alert-${i}`));
    const bgAgents: string[] = [];
    for (let i = 0; i < BG_AGENTS; i++) bgAgents.push(await register(`bg-${i}`));
    await post('/api/v2/alerts/rules', {
      name: 'bench cpu',
      groupWindowSec: 0,
      channelIds: [channel.id],
      scope: { agentIds: alertAgents },
      condition: { kind: 'threshold', metric: 'bench_cpu', op: '>', value: 90 },
    });

    // Background ingest: BG_STREAMS concurrent loops posting batches of BG_BATCH samples with
    // 10 values each, together paced to BG_VALUES values/s.
    let bgValues = 0;
    const bgStart = performance.now();
    const stream = async (n: number) => {
      const perBatch = BG_BATCH; // samples
      const valuesPerBatch = perBatch * 10;
      const intervalMs = (valuesPerBatch / Math.max(BG_VALUES / BG_STREAMS, 1)) * 1000;
      let next = performance.now() + (intervalMs * n) / BG_STREAMS;
      while (!stopBg && BG_VALUES > 0) {
        const now = Date.now();
        const samples = Array.from({ length: perBatch }, (_, i) => ({
          agentId: bgAgents[i % bgAgents.length],
          // Streams write distinct timestamps (no cross-stream duplicates to merge).
          timestamp: new Date(now - (i % 50) - n * 100).toISOString(),
          metrics: Object.fromEntries(
            Array.from({ length: 10 }, (_, k) => [`bg_m${k}`, Math.random() * 100]),
          ),
        }));
        try {
          await post('/api/v2/metrics/batch', { samples });
          bgValues += valuesPerBatch;
        } catch (e) {
          console.error(`background ingest: ${(e as Error).message}`);
        }
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(Math.min(wait, 250));
        else next = performance.now();
      }
    };
    const bg = Promise.all(Array.from({ length: BG_STREAMS }, (_, n) => stream(n)));
    await sleep(1000);

    const toSocket: number[] = [];
    const toHook: number[] = [];
    const toSocketFromAck: number[] = [];
    const ingestMs: number[] = [];
    for (const agentId of alertAgents) {
      const t0 = performance.now();
      await post('/api/v2/metrics/batch', {
        samples: [{ agentId, timestamp: new Date().toISOString(), metrics: { bench_cpu: 99 } }],
      });
      const tAck = performance.now();
      ingestMs.push(tAck - t0);
      const until = Date.now() + 5000;
      while ((!socketAt.has(agentId) || !webhookAt.has(agentId)) && Date.now() < until)
        await sleep(1);
      const s = socketAt.get(agentId);
      const h = webhookAt.get(agentId);
      if (s === undefined || h === undefined) {
        console.error(
          `alert for ${agentId} missing (socket=${s !== undefined}, webhook=${h !== undefined})`,
        );
        failed = true;
        continue;
      }
      toSocket.push(s - t0);
      toSocketFromAck.push(Math.max(0, s - tAck));
      toHook.push(h - t0);
      await sleep(10);
    }
    stopBg = true;
    await bg;
    const bgRate = bgValues / ((performance.now() - bgStart) / 1000);

    console.log(
      `\nalert latency over ${toSocket.length} alerts, background ingest ${Math.round(bgRate).toLocaleString()} values/s (target ${BG_VALUES.toLocaleString()})`,
    );
    console.log(summary('ingest request (send → 2xx)', ingestMs));
    console.log(summary('send → socket alert_triggered', toSocket));
    console.log(summary('2xx → socket alert_triggered', toSocketFromAck));
    console.log(summary('send → webhook received', toHook));
    const s = [...toSocket].sort((a, b) => a - b);
    const h = [...toHook].sort((a, b) => a - b);
    const okSocket = pct(s, 99) < 100;
    const okHook = pct(h, 99) < 250;
    console.log(
      `targets: p99 socket < 100 ms ${okSocket ? 'MET' : 'MISSED'}; p99 webhook < 250 ms ${okHook ? 'MET' : 'MISSED'}`,
    );
  } finally {
    stopBg = true;
    socket?.close();
    hook.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const admin = new pg.Client({ connectionString: `${args.pg}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
  if (failed) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
