import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerting (raw-SQL tables, no entities: the alert state machine and the outbox need
 * conditional UPDATEs and SKIP LOCKED that the ORM would only get in the way of).
 *
 * - alert_rules: rule definitions (condition tree and scope as jsonb).
 * - alert_instances: one row per (rule, agent, label set) occurrence; at most one open
 *   (pending/firing) row per key, enforced by a partial unique index so two API instances
 *   cannot both open it.
 * - alert_transitions: the history of every state change, ack and escalation.
 * - notification_channels: channel config; secrets AES-256-GCM encrypted in secret_enc.
 * - notification_outbox: one row per (alert transition, channel), written in the
 *   transition's transaction, unique dedup_key; drained with FOR UPDATE SKIP LOCKED.
 * - notification_attempts: every delivery attempt.
 */
export class CreateAlertingTables1795900000000 implements MigrationInterface {
  name = 'CreateAlertingTables1795900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE alert_rules (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(200) NOT NULL,
      description text,
      enabled boolean NOT NULL DEFAULT true,
      severity varchar(16) NOT NULL,
      scope jsonb NOT NULL DEFAULT '{}',
      condition jsonb NOT NULL,
      for_sec double precision NOT NULL DEFAULT 0,
      keep_firing_for_sec double precision NOT NULL DEFAULT 0,
      labels jsonb NOT NULL DEFAULT '{}',
      summary_template text NOT NULL,
      channel_ids uuid[] NOT NULL DEFAULT '{}',
      escalation jsonb NOT NULL DEFAULT '[]',
      group_window_sec double precision NOT NULL DEFAULT 10,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE alert_instances (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      rule_id uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
      agent_id uuid,
      agent_name varchar(200),
      label_key text NOT NULL DEFAULT '',
      labels jsonb NOT NULL DEFAULT '{}',
      severity varchar(16) NOT NULL,
      state varchar(16) NOT NULL,
      value double precision,
      threshold double precision,
      summary text NOT NULL DEFAULT '',
      group_key text NOT NULL,
      started_at timestamptz NOT NULL,
      fired_at timestamptz,
      resolved_at timestamptz,
      resolved_by varchar(254),
      acked_at timestamptz,
      acked_by varchar(254),
      ack_comment text,
      ack_expires_at timestamptz,
      suppressed boolean NOT NULL DEFAULT false,
      escalation_step int NOT NULL DEFAULT 0,
      next_escalation_at timestamptz,
      version int NOT NULL DEFAULT 1,
      CONSTRAINT chk_alert_instances_state CHECK (state IN ('pending','firing','resolved'))
    )`);
    await q.query(
      `CREATE UNIQUE INDEX uq_alert_instances_open ON alert_instances (rule_id, COALESCE(agent_id, '00000000-0000-0000-0000-000000000000'::uuid), label_key) WHERE state <> 'resolved'`,
    );
    await q.query(
      `CREATE INDEX idx_alert_instances_state ON alert_instances (state, started_at DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_alert_instances_agent ON alert_instances (agent_id, started_at DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_alert_instances_escalation ON alert_instances (next_escalation_at) WHERE state = 'firing' AND next_escalation_at IS NOT NULL`,
    );
    await q.query(`CREATE TABLE alert_transitions (
      id bigserial PRIMARY KEY,
      alert_id uuid NOT NULL REFERENCES alert_instances(id) ON DELETE CASCADE,
      type varchar(32) NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      by varchar(254),
      comment text,
      value double precision
    )`);
    await q.query(`CREATE INDEX idx_alert_transitions_alert ON alert_transitions (alert_id, id)`);
    await q.query(`CREATE TABLE notification_channels (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(200) NOT NULL,
      type varchar(16) NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      config jsonb NOT NULL DEFAULT '{}',
      secret_enc text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE notification_outbox (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      dedup_key text NOT NULL,
      channel_id uuid NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
      alert_id uuid REFERENCES alert_instances(id) ON DELETE SET NULL,
      event varchar(32) NOT NULL,
      payload jsonb NOT NULL,
      status varchar(16) NOT NULL DEFAULT 'pending',
      attempts int NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz
    )`);
    await q.query(
      `CREATE UNIQUE INDEX uq_notification_outbox_dedup ON notification_outbox (dedup_key)`,
    );
    await q.query(
      `CREATE INDEX idx_notification_outbox_due ON notification_outbox (next_attempt_at) WHERE status IN ('pending','sending')`,
    );
    await q.query(
      `CREATE INDEX idx_notification_outbox_channel ON notification_outbox (channel_id, created_at DESC)`,
    );
    await q.query(`CREATE TABLE notification_attempts (
      id bigserial PRIMARY KEY,
      outbox_id uuid NOT NULL REFERENCES notification_outbox(id) ON DELETE CASCADE,
      attempt int NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      status_code int,
      error text,
      duration_ms int NOT NULL
    )`);
    await q.query(
      `CREATE INDEX idx_notification_attempts_outbox ON notification_attempts (outbox_id, attempt)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_attempts`);
    await q.query(`DROP TABLE notification_outbox`);
    await q.query(`DROP TABLE notification_channels`);
    await q.query(`DROP TABLE alert_transitions`);
    await q.query(`DROP TABLE alert_instances`);
    await q.query(`DROP TABLE alert_rules`);
  }
}
