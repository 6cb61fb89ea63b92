import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Grouping: outbox rows carry their alert group so followers can join a pending batch. */
export class AddOutboxGroupKey1795900000002 implements MigrationInterface {
  name = 'AddOutboxGroupKey1795900000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notification_outbox ADD COLUMN group_key text`);
    await q.query(
      `CREATE INDEX idx_notification_outbox_group ON notification_outbox (channel_id, group_key, created_at DESC) WHERE group_key IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX idx_notification_outbox_group`);
    await q.query(`ALTER TABLE notification_outbox DROP COLUMN group_key`);
  }
}
