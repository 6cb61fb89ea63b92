import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Grouped notifications correlate by several keys: the alert's group (one rule across agents)
 * and its agent (one agent across rules). Leaders are found through the channel index by
 * time, so the single-key group index goes.
 */
export class AddOutboxCorrelationKeys1796300000000 implements MigrationInterface {
  name = 'AddOutboxCorrelationKeys1796300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notification_outbox ADD COLUMN group_keys text[]`);
    await q.query(
      `UPDATE notification_outbox SET group_keys = ARRAY[group_key] WHERE group_key IS NOT NULL`,
    );
    await q.query(`DROP INDEX idx_notification_outbox_group`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX idx_notification_outbox_group ON notification_outbox (channel_id, group_key, created_at DESC) WHERE group_key IS NOT NULL`,
    );
    await q.query(`ALTER TABLE notification_outbox DROP COLUMN group_keys`);
  }
}
