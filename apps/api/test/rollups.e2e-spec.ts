import pg from 'pg';
import type { RegisterAgentResponse } from '@agent-monitor/contracts';
import { MetricStore } from '../src/modules/metrics/metric-store.service.js';
import { partitionName, RAW_CHUNK_MS } from '../src/modules/metrics/partitions.js';
import { RollupService } from '../src/modules/metrics/rollup.service.js';
import { createApiKey } from './agents-fixtures.js';
import { RAW_VALUES, registerAgents } from './metrics-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const DAY = 86_400_000;

describe('metrics rollups and retention', () => {
  let t: TestApp;
  let http: Client;
  let agent: RegisterAgentResponse;
  let key: string;
  let rollups: RollupService;

  beforeAll(async () => {
    // Timer off: the test drives the job itself (the same method the timer calls).
    t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms', RETENTION_RAW: '3d' } });
    http = client(t.baseUrl);
    agent = (await registerAgents(t, http, [{ name: 'roll-1' }])).get('roll-1')!;
    key = await createApiKey(t, ['metrics:write']);
    rollups = t.app.get(RollupService);
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  const send = async (samples: Array<{ timestamp: number; metrics: Record<string, number> }>) => {
    const r = await http.post(
      '/api/v2/metrics/batch',
      { samples: samples.map((s) => ({ agentId: agent.id, ...s })) },
      { headers: { authorization: `Bearer ${key}` } },
    );
    expect(r.status).toBe(200);
  };

  /** 1m aggregates recomputed straight from the raw rows. */
  const fromRaw = () =>
    t.sql<{
      field: number;
      bucket: Date;
      cnt: string;
      sum: number;
      min: number;
      max: number;
      last: number;
    }>(
      `SELECT (r.f - 1)::int AS field, date_trunc('minute', r.ts, 'UTC') AS bucket, count(*) AS cnt,
              sum(r.v) AS sum, min(r.v) AS min, max(r.v) AS max, (array_agg(r.v ORDER BY r.ts DESC))[1] AS last
         FROM ${RAW_VALUES} r GROUP BY 1, 2 ORDER BY 1, 2`,
    );
  const level = (l: '1m' | '1h' | '1d') =>
    t.sql<{
      field: number;
      bucket: Date;
      cnt: string;
      sum: number;
      min: number;
      max: number;
      last: number;
    }>(
      `SELECT field::int AS field, bucket, cnt, sum, min, max, last FROM metric_rollup_${l} ORDER BY 1, 2`,
    );

  it('1m, 1h and 1d rollups equal the values recomputed from raw, and reruns change nothing', async () => {
    // 3 hours of samples every 20 s with a spread of values, plus a second field on some.
    const start = Math.floor((Date.now() - 4 * 3_600_000) / 3_600_000) * 3_600_000;
    const samples = [];
    for (let i = 0; i < 540; i++) {
      const metrics: Record<string, number> = { cpu_usage: (i * 37) % 101 };
      if (i % 3 === 0) metrics.memory_usage = 1000 + i;
      samples.push({ timestamp: start + i * 20_000, metrics });
    }
    await send(samples);
    expect(await rollups.runOnce()).toBe(true);

    const raw = await fromRaw();
    const m1 = await level('1m');
    expect(m1.length).toBe(raw.length);
    expect(m1).toEqual(raw);

    // 1h from 1m and 1d from 1h: same totals per (field, hour/day).
    const fold = (rows: typeof raw, width: number) => {
      const out = new Map<string, { cnt: number; sum: number; min: number; max: number }>();
      for (const r of rows) {
        const k = `${r.field}:${Math.floor(r.bucket.getTime() / width) * width}`;
        const o = out.get(k) ?? { cnt: 0, sum: 0, min: Infinity, max: -Infinity };
        o.cnt += Number(r.cnt);
        o.sum += r.sum;
        o.min = Math.min(o.min, r.min);
        o.max = Math.max(o.max, r.max);
        out.set(k, o);
      }
      return [...out.entries()]
        .sort()
        .map(([k, o]) => [k, o.cnt, Math.round(o.sum * 1e6) / 1e6, o.min, o.max]);
    };
    const asRows = (rows: typeof raw) =>
      rows
        .map((r) => [
          `${r.field}:${r.bucket.getTime()}`,
          Number(r.cnt),
          Math.round(r.sum * 1e6) / 1e6,
          r.min,
          r.max,
        ])
        .sort();
    expect(asRows(await level('1h'))).toEqual(fold(raw, 3_600_000));
    expect(asRows(await level('1d'))).toEqual(fold(raw, DAY));

    // The histograms (folded in the API) match the SQL bucket function metric_hkey.
    const sqlHist = await t.sql<{ field: number; bucket: Date; hk: number[]; hc: number[] }>(
      `SELECT field, bucket, array_agg(k ORDER BY k) AS hk, array_agg(c ORDER BY k) AS hc
         FROM (SELECT (r.f - 1)::int AS field, date_trunc('minute', r.ts, 'UTC') AS bucket,
                      metric_hkey(r.v) AS k, count(*)::int AS c
                 FROM ${RAW_VALUES} r GROUP BY 1, 2, 3) g
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(
      await t.sql(`SELECT field::int AS field, bucket, hk, hc FROM metric_rollup_1m ORDER BY 1, 2`),
    ).toEqual(sqlHist);

    // Idempotent: marking everything dirty again and rerunning yields the same rows.
    await t.sql(
      `INSERT INTO metric_rollup_dirty (level, bucket) SELECT DISTINCT '1m', date_trunc('minute', ts, 'UTC') FROM ${RAW_VALUES} r`,
    );
    await rollups.runOnce();
    expect(await level('1m')).toEqual(m1);
  });

  it('late and duplicate samples update the affected buckets (last write wins)', async () => {
    const ts = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000 + 5000;
    await send([{ timestamp: ts, metrics: { cpu_usage: 10 } }]);
    await rollups.runOnce();
    await send([{ timestamp: ts, metrics: { cpu_usage: 90 } }]); // duplicate: replaces
    await send([{ timestamp: ts + 1000, metrics: { cpu_usage: 20 } }]); // late extra sample
    await rollups.runOnce();
    const [row] = await t.sql<{ cnt: string; sum: number; max: number; last: number }>(
      `SELECT r.cnt, r.sum, r.max, r.last FROM metric_rollup_1m r JOIN metric_series s ON s.id = r.series_id
        WHERE r.bucket = $1 AND r.field = 0 AND s.agent_id = $2`,
      [new Date(ts - 5000), agent.id],
    );
    expect([Number(row.cnt), row.sum, row.max, row.last]).toEqual([2, 110, 90, 20]);
    expect(await level('1m')).toEqual(await fromRaw());
  });

  it('compacts a quiet raw window into one chunk per series: same values, a later write still wins', async () => {
    const span = RAW_CHUNK_MS;
    const w = Math.floor((Date.now() - 6 * 3_600_000) / span) * span;
    const recent = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const inWindow = (from: number) => [agent.id, new Date(from), new Date(from + span)];
    const chunks = async (from: number) =>
      (
        await t.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM metric_raw r JOIN metric_series s ON s.id = r.series_id
            WHERE s.agent_id = $1 AND r.t0 >= $2 AND r.t0 < $3`,
          inWindow(from),
        )
      )[0].n;
    const values = () =>
      t.sql<{ ts: Date; name: string; v: number }>(
        `SELECT r.ts, s.fields[r.f] AS name, r.v FROM ${RAW_VALUES} r
           JOIN metric_series s ON s.id = r.series_id
          WHERE s.agent_id = $1 AND r.ts >= $2 AND r.ts < $3 ORDER BY 1, 2`,
        inWindow(w),
      );
    const at = async (ts: number, name: string) =>
      (await values()).find((x) => x.ts.getTime() === ts && x.name === name)?.v;
    // one request per sample, as an agent sends them, and a retry of one with a new cpu value
    for (let i = 0; i < 5; i++) {
      await send([{ timestamp: w + i * 10_000, metrics: { cpu_usage: i, memory_usage: 100 + i } }]);
    }
    await send([{ timestamp: w + 20_000, metrics: { cpu_usage: 42 } }]);
    await send([{ timestamp: recent, metrics: { cpu_usage: 1 } }]);
    await send([{ timestamp: recent + 1000, metrics: { cpu_usage: 2 } }]);
    expect(await chunks(w)).toBe(6);
    const before = await values();
    expect(before).toHaveLength(10);
    expect([await at(w + 20_000, 'cpu_usage'), await at(w + 20_000, 'memory_usage')]).toEqual([
      42, 102,
    ]);

    await rollups.runOnce(); // rolls the minutes up, queues their windows, compacts the old one
    expect(await chunks(w)).toBe(1);
    expect(await values()).toEqual(before);
    expect(await chunks(Math.floor(recent / span) * span)).toBeGreaterThanOrEqual(2); // not yet
    expect(await level('1m')).toEqual(await fromRaw());

    // a write after the compaction is newer than everything merged into the chunk
    await send([{ timestamp: w + 20_000, metrics: { cpu_usage: 43 } }]);
    expect(await at(w + 20_000, 'cpu_usage')).toBe(43);
    await rollups.runOnce();
    expect(await chunks(w)).toBe(1);
    expect(await at(w + 20_000, 'cpu_usage')).toBe(43);
    expect(await at(w + 20_000, 'memory_usage')).toBe(102);
    expect(await level('1m')).toEqual(await fromRaw());

    // While a transaction older than the chunks is open, it could still commit a write the
    // merged chunk would wrongly outrank: the window waits for it.
    const older = new pg.Client({ connectionString: t.databaseUrl });
    await older.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      await send([{ timestamp: w + 30_000, metrics: { cpu_usage: 7 } }]);
      await send([{ timestamp: w + 40_000, metrics: { cpu_usage: 8 } }]);
      await rollups.runOnce();
      expect(await chunks(w)).toBe(3);
      expect(
        (await t.sql(`SELECT 1 FROM metric_raw_compact WHERE window_start = $1`, [new Date(w)]))
          .length,
      ).toBe(1);
      await older.query('COMMIT');
      await rollups.runOnce();
      expect(await chunks(w)).toBe(1);
      expect(await at(w + 40_000, 'cpu_usage')).toBe(8);
    } finally {
      await older.end();
    }
  });

  it('p95 from the rollup histograms is within 3% of the exact value', async () => {
    const r = await http.get<{ points: Array<{ v: number }>; resolution: string }>(
      `/api/v2/metrics/historical/${agent.id}?metric=memory_usage&agg=p95&step=1d&from=${Date.now() - 2 * DAY}`,
      { headers: { authorization: `Bearer ${await createApiKey(t, ['read'], 'rd')}` } },
    );
    expect(r.status).toBe(200);
    expect(r.body.resolution).toBe('1d');
    const [{ p95 }] = await t.sql<{ p95: number }>(
      `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY v) AS p95 FROM ${RAW_VALUES} r WHERE f = 2`,
    );
    const got = r.body.points.reduce((m, p) => Math.max(m, p.v), 0);
    expect(Math.abs(got - p95) / p95).toBeLessThan(0.03);
  });

  it('creates partitions ahead, and retention drops only partitions wholly older than the retention', async () => {
    const store = t.app.get(MetricStore);
    const now = Date.now();
    await store.ensurePartitions('raw', [now - 10 * DAY, now - 4 * DAY, now - 3 * DAY]);
    await store.ensurePartitions('1m', [now - 100 * DAY]);
    await t.sql(
      `INSERT INTO metric_raw (series_id, t0, ts, vals) VALUES (1, $1, ARRAY[$1::timestamptz], '{1}')`,
      [new Date(now - 10 * DAY)],
    );
    await rollups.runOnce({ upkeep: true });
    const raw = await store.listPartitions('raw');
    const day = (ms: number) => partitionName('raw', ms);
    expect(raw).not.toContain(day(now - 10 * DAY));
    expect(raw).not.toContain(day(now - 4 * DAY)); // ended more than 3 days ago
    expect(raw).toContain(day(now - 3 * DAY)); // still holds data younger than 3 days
    expect(raw).toContain(day(now));
    expect(raw).toContain(day(now + 3 * DAY)); // created ahead
    expect(await store.listPartitions('1m')).not.toContain(partitionName('1m', now - 100 * DAY));
    expect(await store.listPartitions('1m')).toContain(partitionName('1m', now));
    expect(await store.listPartitions('1h')).toContain(partitionName('1h', now));
    expect(await store.listPartitions('1d')).toContain(partitionName('1d', now));
    // Recent data survived.
    expect(
      Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${RAW_VALUES} r`))[0].n),
    ).toBeGreaterThan(500);
  });

  it('only the instance holding the leader lock runs the job', async () => {
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(774201001)');
      expect(await rollups.runOnce()).toBe(false);
      await other.query('SELECT pg_advisory_unlock(774201001)');
      expect(await rollups.runOnce()).toBe(true);
    } finally {
      await other.end();
    }
  });
});

describe('metrics rollups at shutdown', () => {
  it('a rollup slice in progress is cancelled, not waited for; its buckets stay marked dirty', async () => {
    const t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '100ms' } });
    const http = client(t.baseUrl);
    const agent = (await registerAgents(t, http, [{ name: 'roll-stop' }])).get('roll-stop')!;
    const key = await createApiKey(t, ['metrics:write']);
    const send = async (v: number) =>
      expect(
        (
          await http.post(
            '/api/v2/metrics/batch',
            { samples: [{ agentId: agent.id, metrics: { cpu_usage: v } }] },
            { headers: { authorization: `Bearer ${key}` } },
          )
        ).status,
      ).toBe(200);
    const dirty = async () =>
      Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM metric_rollup_dirty`))[0].n);
    const blocker = new pg.Client({ connectionString: t.databaseUrl });
    await blocker.connect();
    try {
      // A first run creates the rollup partitions, so the next one only waits to replace its rows.
      await send(1);
      for (let i = 0; i < 100 && (await dirty()) > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE metric_rollup_1m IN ACCESS EXCLUSIVE MODE');
      await send(2);
      // The job's slice is now stuck behind the lock.
      let waiting = 0;
      for (let i = 0; i < 100 && !waiting; i++) {
        await new Promise((r) => setTimeout(r, 50));
        waiting = Number(
          (
            await t.sql<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE 'DELETE FROM metric_rollup_1m%'`,
            )
          )[0].n,
        );
      }
      expect(waiting).toBe(1);
      const started = Date.now();
      await t.close();
      expect(Date.now() - started).toBeLessThan(3000);
      await blocker.query('ROLLBACK');
      const left = await blocker.query<{ n: string }>(
        `SELECT count(*) AS n FROM metric_rollup_dirty`,
      );
      expect(Number(left.rows[0].n)).toBeGreaterThan(0);
    } finally {
      await blocker.end().catch(() => undefined);
      await t.close().catch(() => undefined);
      await t.dropDatabase();
    }
  });
});

describe('metrics rollups under write load', () => {
  it('wait while writes keep the instance busy, not for an ordinary trickle', async () => {
    const t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '100ms' } });
    try {
      const http = client(t.baseUrl);
      const agent = (await registerAgents(t, http, [{ name: 'roll-burst' }])).get('roll-burst')!;
      const key = await createApiKey(t, ['metrics:write']);
      const rolled = async () =>
        Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM metric_rollup_1m`))[0].n);
      let i = 0;
      const send = async () => {
        const samples = Array.from({ length: 200 }, () => ({
          agentId: agent.id,
          timestamp: Date.now() - 120_000 + i++,
          metrics: { c: i },
        }));
        const r = await http.post(
          '/api/v2/metrics/batch',
          { samples },
          { headers: { authorization: `Bearer ${key}` } },
        );
        expect(r.status).toBe(200);
      };
      // A trickle (a batch every 100 ms): the job runs as usual.
      const trickleUntil = Date.now() + 1500;
      let seen = 0;
      while (Date.now() < trickleUntil) {
        await send();
        seen = seen || (await rolled());
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen).toBeGreaterThan(0);
      // A burst (4 writers back to back for 2 s): once it is noticed (a probe takes 250 ms),
      // no run may start, so a rollup marker written 0.6 s in is still there at the end.
      const start = Date.now();
      let marker: string | null = null;
      await Promise.all([
        ...Array.from({ length: 4 }, async () => {
          while (Date.now() < start + 2000) await send();
        }),
        (async () => {
          await new Promise((r) => setTimeout(r, 600));
          const [m] = await t.sql<{ id: string }>(
            `SELECT max(id)::text AS id FROM metric_rollup_dirty WHERE level = '1m'`,
          );
          marker = m.id;
        })(),
      ]);
      expect(marker).not.toBeNull();
      const left = await t.sql(`SELECT 1 FROM metric_rollup_dirty WHERE id = $1`, [marker]);
      expect(left.length).toBe(1);
      await t.sql(`DELETE FROM metric_rollup_1m`);
      // The burst is over: the next run rolls everything up.
      let n = 0;
      for (let k = 0; k < 60 && !n; k++) {
        await new Promise((r) => setTimeout(r, 50));
        n = await rolled();
      }
      expect(n).toBeGreaterThan(0);
    } finally {
      await t.close();
      await t.dropDatabase();
    }
  });
});
