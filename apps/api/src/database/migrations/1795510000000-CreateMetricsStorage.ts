import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metrics storage (raw SQL, no entities: the hot path never goes through the ORM).
 *
 * - `metric_series`: one row per series *set* (agent, measurement, label set) with its field
 *   list; ids are cached in memory by the API.
 * - `metric_raw`: one WIDE row per (series set, timestamp) whose `vals[i]` is the value of
 *   `fields[i]` (NULL when absent), range-partitioned by day (`metric_raw_pYYYYMMDD`).
 *   Unique (series_id, ts): a duplicate sample merges into the stored one (last write wins).
 * - `metric_rollup_{1m,1h,1d}`: narrow rows per (series set, field, bucket) with count, sum,
 *   min, max, last and a sparse log-bucket histogram (`hk` keys, `hc` counts) for p95.
 *   Partitions: 1m daily, 1h monthly, 1d yearly. Retention drops whole partitions.
 * - `metric_rollup_dirty`: append-only markers of buckets to (re)compute, written in the
 *   ingest transaction; the rollup job consumes them.
 * No foreign key to agents: deleted agents' series age out with their partitions.
 */
export class CreateMetricsStorage1795510000000 implements MigrationInterface {
  name = 'CreateMetricsStorage1795510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metric_series" (
      "id" serial PRIMARY KEY,
      "agent_id" uuid NOT NULL,
      "measurement" varchar(128) NOT NULL,
      "labels" text NOT NULL DEFAULT '',
      "fields" text[] NOT NULL DEFAULT '{}',
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_metric_series_identity" ON "metric_series" ("agent_id", "measurement", "labels")`,
    );
    await q.query(`CREATE TABLE "metric_raw" (
      "series_id" integer NOT NULL,
      "ts" timestamptz NOT NULL,
      "vals" float8[] NOT NULL
    ) PARTITION BY RANGE ("ts")`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_metric_raw_series_ts" ON "metric_raw" ("series_id", "ts")`,
    );
    // Rollups and retention scan time ranges: a BRIN index is a few pages per day.
    await q.query(`CREATE INDEX "idx_metric_raw_ts" ON "metric_raw" USING brin ("ts")`);
    for (const level of ['1m', '1h', '1d']) {
      await q.query(`CREATE TABLE "metric_rollup_${level}" (
        "series_id" integer NOT NULL,
        "field" smallint NOT NULL,
        "bucket" timestamptz NOT NULL,
        "cnt" bigint NOT NULL,
        "sum" float8 NOT NULL,
        "min" float8 NOT NULL,
        "max" float8 NOT NULL,
        "last" float8 NOT NULL,
        "last_ts" timestamptz NOT NULL,
        "hk" smallint[] NOT NULL,
        "hc" integer[] NOT NULL,
        PRIMARY KEY ("series_id", "field", "bucket")
      ) PARTITION BY RANGE ("bucket")`);
    }
    await q.query(`CREATE TABLE "metric_rollup_dirty" (
      "id" bigserial PRIMARY KEY,
      "level" varchar(4) NOT NULL,
      "bucket" timestamptz NOT NULL
    )`);
    // Histogram key: 0 for zero, else ±(16000 + ceil(log_1.04 |v|)) → ~2% relative error on p95.
    await q.query(`CREATE FUNCTION metric_hkey(v float8) RETURNS smallint
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN abs(v) < 1e-9 THEN 0::smallint
          ELSE (sign(v) * (16000 + greatest(-15000, least(15000, ceil(ln(abs(v)) / ln(1.04))))))::smallint
        END $$`);
    // Field-wise merge of a duplicate sample: the newer value wins, fields it lacks are kept.
    await q.query(`CREATE FUNCTION metric_merge_vals(a float8[], b float8[]) RETURNS float8[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT array_agg(coalesce(b[i], a[i]) ORDER BY i)
          FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS metric_merge_vals(float8[], float8[])`);
    await q.query(`DROP FUNCTION IF EXISTS metric_hkey(float8)`);
    await q.query(`DROP TABLE IF EXISTS "metric_rollup_dirty"`);
    for (const level of ['1d', '1h', '1m']) {
      await q.query(`DROP TABLE IF EXISTS "metric_rollup_${level}" CASCADE`);
    }
    await q.query(`DROP TABLE IF EXISTS "metric_raw" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "metric_series"`);
  }
}
