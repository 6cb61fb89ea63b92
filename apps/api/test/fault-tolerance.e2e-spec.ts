import pg from 'pg';
import { RAW_VALUES } from './metrics-fixtures.js';
import { client, type Client } from './support/http.js';
import { startControlledPostgres, type ControlledPostgres } from './support/controlled-postgres.js';
import { insertKeyWith } from './support/root-key.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Near now: ingest accepts samples within the stored partitions and retention.
const BASE_TS = Date.now() - 120_000;
/** How long PostgreSQL stays stopped (the acceptance: 30 s). */
const OUTAGE_MS = 30_000;

interface Writer {
  acked: number[];
  statuses: Map<number, number>;
  retryAfter: Set<string>;
}

/** Sends one-sample batches with unique timestamps until `until()` is false. */
async function writer(
  http: Client,
  agentId: string,
  headers: Record<string, string>,
  next: () => number,
  until: () => boolean,
  out: Writer,
): Promise<void> {
  while (until()) {
    const i = next();
    const r = await http
      .post(
        '/api/v2/metrics/batch',
        { samples: [{ agentId, timestamp: BASE_TS + i, metrics: { ft_seq: i } }] },
        { headers },
      )
      .catch(() => ({ status: 0, headers: new Headers() }));
    out.statuses.set(r.status, (out.statuses.get(r.status) ?? 0) + 1);
    if (r.status >= 200 && r.status < 300) out.acked.push(i);
    else {
      if (r.status === 503) out.retryAfter.add(r.headers.get('retry-after') ?? '');
      await sleep(20);
    }
  }
}

async function storedSeqs(url: string, agentId: string): Promise<Set<number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ ts: Date }>(
      `SELECT DISTINCT r.ts FROM ${RAW_VALUES} r JOIN metric_series s ON s.id = r.series_id
        WHERE s.agent_id = $1`,
      [agentId],
    );
    return new Set(r.rows.map((x) => x.ts.getTime() - BASE_TS));
  } finally {
    await c.end();
  }
}

describe('fault tolerance: PostgreSQL goes away during ingest and comes back', () => {
  let db: ControlledPostgres;
  let t: TestApp;
  let http: Client;

  beforeAll(async () => {
    db = await startControlledPostgres();
    // The writers retry a 503 after 20 ms, ignoring Retry-After (harsher than a client that
    // honours Retry-After): lift the per-key ingest budget so 429s don't mask recovery.
    t = await startTestApp({
      databaseUrl: db.url,
      env: { RATE_LIMIT_INGEST_PER_KEY: '1000000' },
    });
    http = client(t.baseUrl);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.dispose();
  });

  it('answers 503 + Retry-After while it is down, recovers by itself, and loses no acknowledged value', async () => {
    const admin = await insertKeyWith(db.url, ['admin'], 'F');
    const reg = await http.post<{ id: string; agentKey: string }>(
      '/api/v2/agents/register',
      { name: 'ft-agent', type: 'worker', host: 'ft-host' },
      { headers: admin.headers },
    );
    expect(reg.status).toBe(201);
    const agent = { authorization: `Bearer ${reg.body.agentKey}` };

    const out: Writer = { acked: [], statuses: new Map(), retryAfter: new Set() };
    let seq = 0;
    let running = true;
    const writers = Array.from({ length: 4 }, () =>
      writer(
        http,
        reg.body.id,
        agent,
        () => seq++,
        () => running,
        out,
      ),
    );
    await sleep(2500);
    const ackedBeforeStop = out.acked.length;
    expect(ackedBeforeStop).toBeGreaterThan(5);

    await db.stop();
    const downSince = Date.now();
    // While PostgreSQL is down (30 s, as in the acceptance): never ready, the process stays
    // alive, and ingest answers 503 with Retry-After; nothing is acknowledged.
    const readiness = new Map<number, number>();
    let ackedEarlyInOutage = -1;
    while (Date.now() - downSince < OUTAGE_MS) {
      const ready = await http.get('/api/v2/health/ready');
      readiness.set(ready.status, (readiness.get(ready.status) ?? 0) + 1);
      expect((await http.get('/api/v2/health')).status).toBe(200);
      if (ackedEarlyInOutage < 0 && Date.now() - downSince > 1000) {
        ackedEarlyInOutage = out.acked.length;
      }
      await sleep(250);
    }
    const outageMs = Date.now() - downSince;
    expect(outageMs).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect([...readiness.keys()]).toEqual([503]);
    expect(readiness.get(503)).toBeGreaterThan(10);
    expect(out.acked.length).toBe(ackedEarlyInOutage);
    expect(out.statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect([...out.retryAfter].every((v) => Number(v) >= 1)).toBe(true);
    console.log(
      `PostgreSQL down for ${(outageMs / 1000).toFixed(1)} s: readiness ${JSON.stringify(Object.fromEntries(readiness))}, ` +
        `ingest ${JSON.stringify(Object.fromEntries(out.statuses))}, acked before ${ackedBeforeStop}`,
    );

    await db.start();
    // Recovery without restarting the API: ready again and ingest acknowledged again.
    const upAt = Date.now();
    let ready = 0;
    while (Date.now() - upAt < 15_000) {
      ready = (await http.get('/api/v2/health/ready')).status;
      if (ready === 200) break;
      await sleep(200);
    }
    expect(ready).toBe(200);
    const ackedAtRestart = out.acked.length;
    // Ingest acknowledges again (the pool's connections are re-made on demand).
    const resumeBy = Date.now() + 15_000;
    while (out.acked.length < ackedAtRestart + 20 && Date.now() < resumeBy) await sleep(100);
    running = false;
    await Promise.all(writers);
    expect(out.acked.length).toBeGreaterThan(ackedAtRestart);

    // Only 2xx, 503 (database unavailable or ingest saturated) and nothing else, never a 500.
    for (const status of out.statuses.keys()) expect([200, 201, 202, 204, 503]).toContain(status);
    // Every acknowledged value is stored.
    const stored = await storedSeqs(db.url, reg.body.id);
    const missing = out.acked.filter((i) => !stored.has(i));
    expect(missing).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(out.acked.length);
  }, 120_000);
});
