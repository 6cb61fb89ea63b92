import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * 15-minute windows of `metric_raw` that received writes and may hold several chunks per series
 * (one per ingest request). The rollup job queues them as it rolls their minutes up and, once a
 * window is old enough to be quiet, rewrites each such series' chunks as one (RawCompactor).
 */
export class CreateRawCompactionQueue1796500000002 implements MigrationInterface {
  name = 'CreateRawCompactionQueue1796500000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metric_raw_compact" ("window_start" timestamptz PRIMARY KEY)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "metric_raw_compact"`);
  }
}
