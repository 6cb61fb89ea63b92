import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InternalEvent, ingestedBatchOf, type IngestedBatch } from '../../src/common/events.js';
import { client, type Client } from './http.js';
import { insertKey } from './root-key.js';
import { startTestApp, type TestApp } from './test-app.js';

/** Test timings: evaluation every 50 ms, retries from 100 ms, 1 s per attempt. */
export const FAST_ALERTING_ENV = {
  ALERT_EVAL_INTERVAL: '50ms',
  NOTIFY_RETRY_BASE: '100ms',
  NOTIFY_RETRY_MAX: '2s',
  NOTIFY_POLL_INTERVAL: '100ms',
  NOTIFY_TIMEOUT: '1s',
  NOTIFY_MAX_ATTEMPTS: '6',
  ALLOW_PRIVATE_WEBHOOK_TARGETS: 'true',
};

/** A started app on a fresh database, its HTTP client and an admin and a read-only key. */
export interface KeyedApp {
  t: TestApp;
  http: Client;
  admin: Record<string, string>;
  reader: Record<string, string>;
}

/** Starts an app (alerting timings unless `env` says otherwise) with an admin and a reader key. */
export async function startKeyedApp(
  env: Record<string, string> = FAST_ALERTING_ENV,
): Promise<KeyedApp> {
  const t = await startTestApp({ env });
  return {
    t,
    http: client(t.baseUrl),
    admin: (await insertKey(t, ['admin'], 'A')).headers,
    reader: (await insertKey(t, ['read'], 'B')).headers,
  };
}

/** Registers a worker agent named `<name>-<random>` and returns its id. */
export async function registerAgent(
  http: Client,
  headers: Record<string, string>,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await http.post<{ id: string }>(
    '/api/v2/agents/register',
    {
      name: `${name}-${Math.random().toString(36).slice(2, 7)}`,
      type: 'worker',
      host: 'h',
      ...extra,
    },
    { headers },
  );
  if (r.status !== 201) throw new Error(`register ${name}: ${r.status}`);
  return r.body.id;
}

/** Stops the app and drops its database. */
export async function stopKeyedApp(t: TestApp): Promise<void> {
  await t.close();
  await t.dropDatabase();
}

/**
 * Publishes samples on the app's internal bus exactly as the metrics domain does after its
 * commit (InternalEvent.MetricsIngested), so these suites exercise the alert engine without
 * depending on the ingest pipeline.
 */
export function ingest(
  t: TestApp,
  samples: Array<{ agentId: string; values: Record<string, number>; ts?: number }>,
): void {
  const bus = t.app.get(EventEmitter2);
  const payload: IngestedBatch = ingestedBatchOf(
    samples.map((s) => ({ agentId: s.agentId, ts: s.ts ?? Date.now(), values: s.values })),
  );
  bus.emit(InternalEvent.MetricsIngested, payload);
}

export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

/** A loopback HTTP receiver answering from a script (status codes, delays, headers). */
export async function receiver(
  respond: (
    n: number,
    req: http.IncomingMessage,
  ) => { status: number; headers?: Record<string, string>; hang?: boolean } = () => ({
    status: 200,
  }),
) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      received.push({
        at: Date.now(),
        headers: req.headers,
        raw,
        body: raw ? JSON.parse(raw) : null,
      });
      const r = respond(received.length, req);
      if (r.hang) {
        hanging.add(res);
        return;
      }
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.status >= 400 ? 'nope' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
