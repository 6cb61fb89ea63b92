import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled reports (raw-SQL tables, no entities: the scheduler claims due rows with
 * FOR UPDATE SKIP LOCKED).
 *
 * - report_schedules: what to generate (scope, filters, format), when (cron in a time zone;
 *   next_run_at is the next occurrence) and which e-mail channels receive it.
 * - report_schedule_runs: every generation and sending, scheduled or by hand, with its outcome.
 */
export class CreateReportSchedules1796207000000 implements MigrationInterface {
  name = 'CreateReportSchedules1796207000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE report_schedules (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(120) NOT NULL,
      scope text NOT NULL DEFAULT 'all',
      environment varchar(64),
      region varchar(64),
      format varchar(8) NOT NULL,
      cron varchar(100) NOT NULL,
      time_zone varchar(64) NOT NULL DEFAULT 'UTC',
      channel_ids uuid[] NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      next_run_at timestamptz,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_report_schedules_name UNIQUE (name),
      CONSTRAINT chk_report_schedules_format CHECK (format IN ('pdf','csv'))
    )`);
    await q.query(
      `CREATE INDEX idx_report_schedules_due ON report_schedules (next_run_at) WHERE enabled`,
    );
    await q.query(`CREATE TABLE report_schedule_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      schedule_id uuid NOT NULL REFERENCES report_schedules(id) ON DELETE CASCADE,
      trigger varchar(16) NOT NULL,
      status varchar(16) NOT NULL DEFAULT 'running',
      period_from timestamptz NOT NULL,
      period_to timestamptz NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      error text,
      deliveries jsonb NOT NULL DEFAULT '[]',
      attachment_bytes int,
      created_by varchar(254),
      CONSTRAINT chk_report_schedule_runs_status CHECK (status IN ('running','sent','failed')),
      CONSTRAINT chk_report_schedule_runs_trigger CHECK (trigger IN ('schedule','manual'))
    )`);
    await q.query(
      `CREATE INDEX idx_report_schedule_runs_schedule ON report_schedule_runs (schedule_id, started_at DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE report_schedule_runs`);
    await q.query(`DROP TABLE report_schedules`);
  }
}
