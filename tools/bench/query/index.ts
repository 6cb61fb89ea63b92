/**
 * History query benchmark.
 *
 *   npx tsx tools/bench/query/index.ts [--days 30] [--every 10] [--queries 200] [--no-build]
 *
 * Starts the built API against a fresh database, stores `days` of one series at one sample
 * per `every` seconds (JSON batches of 10,000), waits until the rollup job has caught up,
 * then times GET /api/v2/metrics/historical/:agentId at step=auto for 30 d (and 24 h, 7 d,
 * 1 h for context) and prints p50/p99 and the resolution chosen. Exits non-zero on errors.
 */
import {
  buildApi,
  createDatabase,
  fmt,
  insertKey,
  percentile,
  registerAgents,
  startApi,
  waitForRollups,
} from '../ingest/common.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const DAYS = opt('days', 30);
const EVERY_S = opt('every', 10);
const QUERIES = opt('queries', 200);
const DAY = 86_400_000;

async function main(): Promise<void> {
  if (!args.includes('--no-build')) buildApi();
  const db = await createDatabase();
  // Raw retention a little longer than the data so the oldest samples are accepted.
  const api = await startApi(db.url, {
    RETENTION_RAW: `${DAYS + 1}d`,
    METRICS_ROLLUP_INTERVAL: '2s',
  });
  try {
    const regKey = await insertKey(db.url, ['agents:register']);
    const writeKey = await insertKey(db.url, ['metrics:write']);
    const readKey = await insertKey(db.url, ['read']);
    const [agentId] = await registerAgents(api.baseUrl, regKey, 1, 'query-bench');
    const now = Date.now();
    const start = now - DAYS * DAY + 60_000;
    const total = Math.floor((now - start) / (EVERY_S * 1000));
    console.log(`storing ${fmt(total)} samples (${DAYS} d at one per ${EVERY_S} s)…`);
    const t0 = performance.now();
    for (let i = 0; i < total; i += 10_000) {
      const samples = [];
      for (let j = i; j < Math.min(total, i + 10_000); j++) {
        const ts = start + j * EVERY_S * 1000;
        samples.push({
          agentId,
          timestamp: ts,
          metrics: { cpu_usage: 50 + 40 * Math.sin(j / 500) },
        });
      }
      const r = await fetch(`${api.baseUrl}/api/v2/metrics/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writeKey}` },
        body: JSON.stringify({ samples }),
      });
      if (r.status !== 200) throw new Error(`batch → ${r.status} ${await r.text()}`);
    }
    console.log(`  stored in ${fmt((performance.now() - t0) / 1000, 1)} s; waiting for rollups…`);
    const caught = await waitForRollups(db.url, {
      timeoutMs: 600_000,
      also: async (c) =>
        Number(
          (await c.query<{ n: string }>(`SELECT count(*) AS n FROM metric_rollup_1d`)).rows[0].n,
        ) > 0,
    });
    console.log(`  rollups caught up in ${fmt(caught.seconds, 1)} s\n`);

    for (const [label, span] of [
      ['30d', 30 * DAY],
      ['7d', 7 * DAY],
      ['24h', DAY],
      ['1h', 3_600_000],
    ] as const) {
      const lat: number[] = [];
      let points = 0;
      let resolution = '';
      for (let i = 0; i < QUERIES; i++) {
        const to = Date.now();
        const s = performance.now();
        const r = await fetch(
          `${api.baseUrl}/api/v2/metrics/historical/${agentId}?metric=cpu_usage&step=auto&from=${to - span}&to=${to}`,
          { headers: { authorization: `Bearer ${readKey}` } },
        );
        const body = (await r.json()) as { points: unknown[]; resolution: string };
        lat.push(performance.now() - s);
        if (r.status !== 200) throw new Error(`historical → ${r.status}`);
        points = body.points.length;
        resolution = body.resolution;
      }
      lat.sort((a, b) => a - b);
      console.log(
        `history ${label.padEnd(4)} step=auto: ${fmt(points).padStart(5)} points from ${resolution.padEnd(3)}  ` +
          `p50 ${fmt(percentile(lat, 0.5), 1).padStart(6)} ms  p99 ${fmt(percentile(lat, 0.99), 1).padStart(6)} ms  (${QUERIES} queries)`,
      );
    }
  } finally {
    await api.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
