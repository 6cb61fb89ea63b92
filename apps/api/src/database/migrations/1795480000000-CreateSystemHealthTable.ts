import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Self-monitoring snapshots, one row per API instance per SYSTEM_HEALTH_INTERVAL. Raw SQL
 * only (no entity): written and read by the system module, pruned by age.
 */
export class CreateSystemHealthTable1795480000000 implements MigrationInterface {
  name = 'CreateSystemHealthTable1795480000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "system_health" (
        "id" bigserial PRIMARY KEY,
        "at" timestamptz NOT NULL,
        "instance" varchar(200) NOT NULL,
        "data" jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX "IDX_system_health_at" ON "system_health" ("at")`);
    await q.query(
      `CREATE INDEX "IDX_system_health_instance_at" ON "system_health" ("instance", "at" DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "system_health"`);
  }
}
