import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each fired alert records the notification group it was sent in: the id of the alert that
 * led it (itself when it led), as the outbox correlated them (one rule across agents, or one
 * agent across rules, within the group window). The Alerts page shows such groups together.
 */
export class AddAlertInstanceCorrelationId1796400000000 implements MigrationInterface {
  name = 'AddAlertInstanceCorrelationId1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE alert_instances ADD COLUMN correlation_id uuid`);
    await q.query(
      `CREATE INDEX idx_alert_instances_correlation ON alert_instances (correlation_id) WHERE correlation_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX idx_alert_instances_correlation`);
    await q.query(`ALTER TABLE alert_instances DROP COLUMN correlation_id`);
  }
}
