import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per scheduled backup slot (BACKUP_CRON). The primary key on the slot makes the
 * scheduled backup run once across any number of API instances: the instance whose insert
 * wins runs it. Raw SQL only (no entity).
 */
export class CreateBackupRunsTable1795480000001 implements MigrationInterface {
  name = 'CreateBackupRunsTable1795480000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "backup_runs" (
        "slot" timestamptz PRIMARY KEY,
        "instance" varchar(200) NOT NULL,
        "started_at" timestamptz NOT NULL DEFAULT now(),
        "finished_at" timestamptz,
        "file" text,
        "bytes" bigint,
        "method" varchar(20),
        "error" text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "backup_runs"`);
  }
}
