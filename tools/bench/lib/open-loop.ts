/**
 * Open-loop HTTP load: requests leave on a fixed schedule (request i is due at
 * start + i / rate) whatever the server's latency, over a bounded pool of keep-alive
 * connections (node:http, no dependency). Latency is measured from the request's *intended*
 * send time, not from when a free connection or the event loop finally let it out, so queueing
 * in the client or the server is counted instead of hidden (no coordinated omission).
 *
 * Only requests due inside the measured window count; requests due during warm-up are sent
 * but not recorded. After the window, requests still in flight get `drainMs` to finish; the
 * ones that do not are counted as errors ('timeout').
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface OpenLoopRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface OpenLoopOptions {
  /** Base URL, http:// only (the bench talks to a local instance). */
  url: string;
  /** Requests per second offered. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Keep-alive connections (upper bound); requests beyond them wait in the client queue. */
  connections: number;
  /** Builds request number i (0-based, in schedule order). */
  request: (i: number) => OpenLoopRequest;
  /** Statuses that count as success (default: 2xx). */
  ok?: (status: number) => boolean;
  /**
   * When the schedule starts, as an epoch in ms (Date.now() scale), so several worker processes
   * can share one schedule. Default: now.
   */
  startAtEpochMs?: number;
  /** How long to wait for in-flight requests after the window (default 10 s). */
  drainMs?: number;
  /** Per-request timeout, counted as an error (default 30 s). */
  timeoutMs?: number;
}

export interface OpenLoopResult {
  /** Requests due inside the window (what the schedule asked for). */
  offered: number;
  /** Of those, responses received (any status). */
  completed: number;
  /** Not ok: non-2xx (or not `ok`), network errors, timeouts. */
  errors: number;
  /** Status code or 'network' / 'timeout' → count, for requests in the window. */
  statuses: Record<string, number>;
  /** Latencies in ms (intended send time → full response received) of completed requests. */
  latencies: number[];
  windowS: number;
  /** Largest number of requests waiting for a connection at once (client-side queue). */
  maxQueued: number;
  /**
   * Largest delay, in the window, between a request's due time and the moment it was handed to
   * node:http (the client's own lateness: event loop busy or timers late).
   */
  maxDispatchLagMs: number;
  /** CPU used by this process during the window, in ms. */
  clientCpuMs: number;
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(o.url);
  if (target.protocol !== 'http:') throw new Error('open-loop: only http:// URLs');
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: o.connections,
    maxFreeSockets: o.connections,
    scheduling: 'fifo',
  });
  const ok = o.ok ?? ((s: number) => s >= 200 && s < 300);
  const drainMs = o.drainMs ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 30_000;

  // One clock: performance.now(); the shared epoch start is converted to it.
  const start =
    o.startAtEpochMs !== undefined ? o.startAtEpochMs - performance.timeOrigin : performance.now();
  const periodMs = 1000 / o.rate;
  const windowStart = start + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const total = Math.floor(((o.warmupMs + o.durationMs) / 1000) * o.rate);

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let offered = 0;
  let completed = 0;
  let errors = 0;
  let inFlight = 0;
  let maxQueued = 0;
  let maxDispatchLagMs = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let cpuMs = 0;
  let closed = false;

  const count = (counted: boolean, key: string, good: boolean) => {
    if (!counted) return;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (!good) errors++;
  };

  const send = (i: number, due: number) => {
    const counted = due >= windowStart && due < windowEnd;
    if (counted) offered++;
    const r = o.request(i);
    inFlight++;
    let done = false;
    const finish = (key: string, good: boolean, responded: boolean) => {
      if (done || closed) return;
      done = true;
      inFlight--;
      if (responded && counted) {
        completed++;
        latencies.push(performance.now() - due);
      }
      count(counted, key, good);
    };
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = Buffer.byteLength(r.body);
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port || 80,
        method: r.method ?? 'POST',
        path: r.path,
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        res.on('data', noop);
        res.on('end', () => finish(String(res.statusCode), ok(res.statusCode ?? 0), true));
        res.on('error', () => finish('network', false, false));
      },
    );
    req.on('error', () => finish('network', false, false));
    req.on('timeout', () => {
      finish('timeout', false, false);
      req.destroy();
    });
    req.end(r.body);
  };

  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (cpu0 === null && now >= windowStart) cpu0 = process.cpuUsage();
      if (cpu0 !== null && cpuMs === 0 && now >= windowEnd) {
        const d = process.cpuUsage(cpu0);
        cpuMs = (d.user + d.system) / 1000;
      }
      while (next < total) {
        const due = start + next * periodMs;
        if (due > now) break;
        if (due >= windowStart && due < windowEnd) {
          maxDispatchLagMs = Math.max(maxDispatchLagMs, now - due);
        }
        send(next, due);
        next++;
      }
      let queued = 0;
      for (const q of Object.values(agent.requests)) queued += q?.length ?? 0;
      maxQueued = Math.max(maxQueued, queued);
      if (next >= total && now >= windowEnd) return resolve();
      // Wake up for the next due request (timers have ~1 ms resolution).
      const wait = next < total ? start + next * periodMs - performance.now() : windowEnd - now;
      setTimeout(tick, Math.max(0, Math.min(wait, 50)));
    };
    const first = start - performance.now();
    setTimeout(tick, Math.max(0, first));
  });
  if (cpuMs === 0 && cpu0 !== null) {
    const d = process.cpuUsage(cpu0);
    cpuMs = (d.user + d.system) / 1000;
  }

  const drainUntil = performance.now() + drainMs;
  while (inFlight > 0 && performance.now() < drainUntil) await sleep(20);
  closed = true;
  // Still without an answer after the drain: counted as timed out.
  const lost = offered - completed - (statuses.network ?? 0) - (statuses.timeout ?? 0);
  if (lost > 0) {
    statuses.timeout = (statuses.timeout ?? 0) + lost;
    errors += lost;
  }
  agent.destroy();
  return {
    offered,
    completed,
    errors,
    statuses,
    latencies,
    windowS: o.durationMs / 1000,
    maxQueued,
    maxDispatchLagMs,
    clientCpuMs: cpuMs,
  };
}

function noop(): void {}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Merges results of several processes that shared one schedule. */
export function mergeResults(rs: OpenLoopResult[]): OpenLoopResult {
  const statuses: Record<string, number> = {};
  for (const r of rs)
    for (const [k, n] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  return {
    offered: sum(rs.map((r) => r.offered)),
    completed: sum(rs.map((r) => r.completed)),
    errors: sum(rs.map((r) => r.errors)),
    statuses,
    latencies: rs.flatMap((r) => r.latencies),
    windowS: Math.max(...rs.map((r) => r.windowS)),
    maxQueued: sum(rs.map((r) => r.maxQueued)),
    maxDispatchLagMs: Math.max(...rs.map((r) => r.maxDispatchLagMs)),
    clientCpuMs: sum(rs.map((r) => r.clientCpuMs)),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
