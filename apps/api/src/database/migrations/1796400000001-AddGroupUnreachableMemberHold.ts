import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * "Group unreachable" rules gain `memberHoldSec`: how long a member's status / no-data
 * notification waits for the group's incident before it goes out (topology hold). Stored
 * conditions, the built-in rule's included, get the default of 10 s.
 */
export class AddGroupUnreachableMemberHold1796400000001 implements MigrationInterface {
  name = 'AddGroupUnreachableMemberHold1796400000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE alert_rules SET condition = condition || '{"memberHoldSec": 10}'::jsonb
        WHERE condition->>'kind' = 'group_unreachable' AND NOT condition ? 'memberHoldSec'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE alert_rules SET condition = condition - 'memberHoldSec'
        WHERE condition->>'kind' = 'group_unreachable'`,
    );
  }
}
