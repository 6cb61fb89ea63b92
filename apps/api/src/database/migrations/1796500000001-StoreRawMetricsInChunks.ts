import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `metric_raw` stores raw samples in chunks: one row per (series set, ingest transaction,
 * 15-minute window) holding every timestamp of that set the write carried, instead of one row
 * per (set, timestamp).
 *
 *   series_id  the series set
 *   t0         the chunk's first timestamp (partition key; index (series_id, t0))
 *   ts         timestamps, ascending, all in the 15-minute window (UTC, from the epoch) of t0
 *   vals       n × w values flattened row by row (w = cardinality(vals) / cardinality(ts), the
 *              set's field count when written; fields are only appended, so field f of row i
 *              is vals[(i-1)*w + f + 1] when f < w), NULL where a sample lacks the field
 *   xid        the writing transaction (pg_current_xact_id(): 64-bit, never wraps)
 *
 * A batch of 5 samples per series writes one row and one index entry where it wrote 5: about
 * 2.7× less PostgreSQL CPU per sample and 40% fewer bytes per value (tools/bench/ingest).
 *
 * Duplicates: two chunks of a set may hold the same timestamp (a retried batch). Readers keep,
 * per (set, timestamp, field), the non-NULL value of the newest transaction — the "last write
 * wins" that the unique index's merge gave before. `metric_raw_values()` does that for SQL
 * readers; the rollup job does it while folding.
 */
const WINDOW = `interval '15 minutes'`;

async function partitionsOf(q: QueryRunner, parent: string): Promise<string[]> {
  const rows: Array<{ name: string }> = await q.query(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = $1 ORDER BY c.relname`,
    [parent],
  );
  return rows.map((r) => r.name);
}

/** Day range of a `metric_raw_pYYYYMMDD` partition. */
function dayRange(name: string): [string, string] | null {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const start = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  return [new Date(start).toISOString(), new Date(start + 86_400_000).toISOString()];
}

/** Renames `metric_raw` and its partitions to `metric_raw_old*`; returns the day partitions. */
async function moveAside(q: QueryRunner): Promise<string[]> {
  const parts = await partitionsOf(q, 'metric_raw');
  for (const p of parts) {
    await q.query(`ALTER TABLE "${p}" RENAME TO "${p.replace(/^metric_raw/, 'metric_raw_old')}"`);
  }
  await q.query(`ALTER TABLE "metric_raw" RENAME TO "metric_raw_old"`);
  return parts;
}

async function createPartitions(q: QueryRunner, parts: string[]): Promise<void> {
  for (const p of parts) {
    const range = dayRange(p);
    if (!range) continue;
    await q.query(
      `CREATE TABLE "${p}" PARTITION OF "metric_raw" FOR VALUES FROM ('${range[0]}') TO ('${range[1]}')`,
    );
  }
}

export class StoreRawMetricsInChunks1796500000001 implements MigrationInterface {
  name = 'StoreRawMetricsInChunks1796500000001';

  async up(q: QueryRunner): Promise<void> {
    const parts = await moveAside(q);
    await q.query(`CREATE TABLE "metric_raw" (
      "series_id" integer NOT NULL,
      "t0" timestamptz NOT NULL,
      "ts" timestamptz[] NOT NULL,
      "vals" float8[] NOT NULL,
      "xid" xid8 NOT NULL DEFAULT pg_current_xact_id()
    ) PARTITION BY RANGE ("t0")`);
    await q.query(`CREATE INDEX "idx_metric_raw_series_t0" ON "metric_raw" ("series_id", "t0")`);
    await createPartitions(q, parts);
    // Stored rows regrouped into chunks per (set, 15-minute window), each row padded to the
    // window's widest row.
    await q.query(`INSERT INTO "metric_raw" ("series_id", "t0", "ts", "vals")
      SELECT series_id, min(ts), array_agg(ts ORDER BY ts),
             ARRAY(SELECT unnest(array_agg(padded ORDER BY ts)))
        FROM (SELECT series_id, ts, win,
                     vals || array_fill(NULL::float8, ARRAY[w - cardinality(vals)]) AS padded
                FROM (SELECT series_id, ts, vals,
                             floor(extract(epoch FROM ts) / 900) AS win,
                             max(cardinality(vals)) OVER (
                               PARTITION BY series_id, floor(extract(epoch FROM ts) / 900)) AS w
                        FROM "metric_raw_old") r) p
       GROUP BY series_id, win`);
    await q.query(`DROP TABLE "metric_raw_old" CASCADE`);
    // Every stored value of the sets `ids` in [t_from, t_to), one per (set, ts, field): the
    // newest transaction's. f is the 1-based field position in metric_series.fields.
    await q.query(`CREATE FUNCTION metric_raw_values(ids int[], t_from timestamptz, t_to timestamptz)
      RETURNS TABLE (series_id int, ts timestamptz, f int, v float8)
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT DISTINCT ON (c.series_id, u.ts, x.f) c.series_id, u.ts, x.f::int, x.v
          FROM metric_raw c
         CROSS JOIN LATERAL (SELECT cardinality(c.vals) / cardinality(c.ts) AS w) k
         CROSS JOIN LATERAL unnest(c.ts) WITH ORDINALITY AS u(ts, i)
         CROSS JOIN LATERAL unnest(c.vals[(u.i - 1) * k.w + 1 : u.i * k.w]) WITH ORDINALITY AS x(v, f)
         WHERE c.series_id = ANY(ids) AND c.t0 > t_from - ${WINDOW} AND c.t0 < t_to
           AND u.ts >= t_from AND u.ts < t_to AND x.v IS NOT NULL
         ORDER BY c.series_id, u.ts, x.f, c.xid DESC
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS metric_raw_values(int[], timestamptz, timestamptz)`);
    const parts = await moveAside(q);
    await q.query(`CREATE TABLE "metric_raw" (
      "series_id" integer NOT NULL,
      "ts" timestamptz NOT NULL,
      "vals" float8[] NOT NULL
    ) PARTITION BY RANGE ("ts")`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_metric_raw_series_ts" ON "metric_raw" ("series_id", "ts")`,
    );
    await createPartitions(q, parts);
    // One row per (set, ts); duplicates merged field by field, the newest transaction winning.
    await q.query(`CREATE AGGREGATE pg_temp.metric_merge(float8[]) (
      SFUNC = metric_merge_vals, STYPE = float8[], INITCOND = '{}')`);
    await q.query(`INSERT INTO "metric_raw" ("series_id", "ts", "vals")
      SELECT c.series_id, u.ts,
             pg_temp.metric_merge(c.vals[(u.i - 1) * k.w + 1 : u.i * k.w] ORDER BY c.xid)
        FROM "metric_raw_old" c
       CROSS JOIN LATERAL (SELECT cardinality(c.vals) / cardinality(c.ts) AS w) k
       CROSS JOIN LATERAL unnest(c.ts) WITH ORDINALITY AS u(ts, i)
       GROUP BY c.series_id, u.ts`);
    await q.query(`DROP AGGREGATE pg_temp.metric_merge(float8[])`);
    await q.query(`DROP TABLE "metric_raw_old" CASCADE`);
  }
}
