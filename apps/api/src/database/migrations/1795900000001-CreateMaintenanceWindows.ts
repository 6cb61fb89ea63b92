import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Maintenance windows (raw SQL, no entity): one-off or recurring silences of notifications. */
export class CreateMaintenanceWindows1795900000001 implements MigrationInterface {
  name = 'CreateMaintenanceWindows1795900000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE maintenance_windows (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(200) NOT NULL,
      reason text,
      match jsonb NOT NULL,
      starts_at timestamptz,
      ends_at timestamptz,
      cron varchar(100),
      duration_minutes double precision,
      time_zone varchar(64) NOT NULL DEFAULT 'UTC',
      enabled boolean NOT NULL DEFAULT true,
      source varchar(8) NOT NULL DEFAULT 'user',
      agent_id uuid,
      done_requested boolean NOT NULL DEFAULT false,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(
      `CREATE INDEX idx_maintenance_windows_agent ON maintenance_windows (agent_id) WHERE agent_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE maintenance_windows`);
  }
}
