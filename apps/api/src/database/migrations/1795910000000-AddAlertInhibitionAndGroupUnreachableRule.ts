import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Fixed id of the built-in "Group unreachable" rule (editable; deleting it turns topology inhibition off). */
export const GROUP_UNREACHABLE_RULE_ID = '6a0c6f1e-7d1b-4f5e-9a53-0c2f6b1d9e01';

/**
 * Topology inhibition: an alert instance may be held back by a "group unreachable" alert
 * (`inhibited_by`) or attributed to a dependency that is down (`caused_by_agent_id`); and the
 * built-in rule that raises one alert per group/region when most of its members are unreachable.
 */
export class AddAlertInhibitionAndGroupUnreachableRule1795910000000 implements MigrationInterface {
  name = 'AddAlertInhibitionAndGroupUnreachableRule1795910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE alert_instances
         ADD COLUMN inhibited_by uuid REFERENCES alert_instances(id) ON DELETE SET NULL,
         ADD COLUMN caused_by_agent_id uuid,
         ADD COLUMN caused_by_name varchar(200)`,
    );
    await q.query(
      `CREATE INDEX idx_alert_instances_inhibited_by ON alert_instances (inhibited_by) WHERE inhibited_by IS NOT NULL`,
    );
    await q.query(
      `INSERT INTO alert_rules (id, name, description, enabled, severity, scope, condition, summary_template, created_by)
       VALUES ($1, 'Group unreachable',
         'Built in: fires once per agent group or region when most of its members are offline or stale together, and holds back their own alerts.',
         true, 'critical', '{}', $2,
         '{{labels.scope}} unreachable: {{value}} of {{threshold}} agents down', 'system')`,
      [
        GROUP_UNREACHABLE_RULE_ID,
        JSON.stringify({
          kind: 'group_unreachable',
          fraction: 0.5,
          minMembers: 3,
          statuses: ['offline', 'stale', 'down'],
          includeRegions: true,
        }),
      ],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM alert_rules WHERE id = $1`, [GROUP_UNREACHABLE_RULE_ID]);
    await q.query(`DROP INDEX idx_alert_instances_inhibited_by`);
    await q.query(
      `ALTER TABLE alert_instances DROP COLUMN caused_by_name, DROP COLUMN caused_by_agent_id, DROP COLUMN inhibited_by`,
    );
  }
}
