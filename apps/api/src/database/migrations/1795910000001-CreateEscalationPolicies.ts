import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Escalation policies become reusable objects that rules reference by id. Inline steps of
 * existing rules move into one policy per rule (named "<rule> escalation", the policy takes
 * the rule's id) and the inline column goes. down() copies each linked policy's steps back
 * inline (a policy's repeat interval has no inline equivalent and is dropped).
 */
export class CreateEscalationPolicies1795910000001 implements MigrationInterface {
  name = 'CreateEscalationPolicies1795910000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE escalation_policies (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(200) NOT NULL,
      description text,
      steps jsonb NOT NULL DEFAULT '[]',
      repeat_every_minutes double precision,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(
      `CREATE UNIQUE INDEX uq_escalation_policies_name ON escalation_policies (lower(name))`,
    );
    await q.query(`ALTER TABLE alert_rules ADD COLUMN escalation_policy_id uuid
      REFERENCES escalation_policies(id) ON DELETE RESTRICT`);
    await q.query(
      `CREATE INDEX idx_alert_rules_escalation_policy ON alert_rules (escalation_policy_id) WHERE escalation_policy_id IS NOT NULL`,
    );
    await q.query(`INSERT INTO escalation_policies (id, name, steps, created_by, created_at, updated_at)
      SELECT id,
             left(name, 170) || ' escalation' || CASE WHEN n > 1 THEN ' (' || n || ')' ELSE '' END,
             escalation, 'migration', created_at, now()
        FROM (SELECT id, name, escalation, created_at,
                     row_number() OVER (PARTITION BY lower(left(name, 170)) ORDER BY created_at, id) AS n
                FROM alert_rules WHERE jsonb_array_length(escalation) > 0) r`);
    await q.query(
      `UPDATE alert_rules SET escalation_policy_id = id WHERE jsonb_array_length(escalation) > 0`,
    );
    await q.query(`ALTER TABLE alert_rules DROP COLUMN escalation`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE alert_rules ADD COLUMN escalation jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`UPDATE alert_rules r SET escalation = p.steps
      FROM escalation_policies p WHERE p.id = r.escalation_policy_id`);
    await q.query(`DROP INDEX idx_alert_rules_escalation_policy`);
    await q.query(`ALTER TABLE alert_rules DROP COLUMN escalation_policy_id`);
    await q.query(`DROP TABLE escalation_policies`);
  }
}
