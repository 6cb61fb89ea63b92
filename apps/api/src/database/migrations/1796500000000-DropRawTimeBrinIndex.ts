import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `metric_raw` loses its BRIN index on `ts`. Its only reader was the rollup job's time-range
 * scan, which now walks the unique (series_id, ts) index series by series (it needs the rows in
 * that order anyway); keeping the BRIN summaries current cost ~15% of PostgreSQL's CPU per
 * ingested row.
 */
export class DropRawTimeBrinIndex1796500000000 implements MigrationInterface {
  name = 'DropRawTimeBrinIndex1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "idx_metric_raw_ts"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_metric_raw_ts" ON "metric_raw" USING brin ("ts")`);
  }
}
