import type { MigrationInterface, QueryRunner } from 'typeorm';

/** "Agent A depends on agent B" edges (raw SQL: cycle checks are recursive queries). */
export class CreateAgentDependencies1795540000000 implements MigrationInterface {
  name = 'CreateAgentDependencies1795540000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE agent_dependencies (
      agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      depends_on uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (agent_id, depends_on),
      CONSTRAINT chk_agent_dependencies_self CHECK (agent_id <> depends_on)
    )`);
    await q.query(
      `CREATE INDEX idx_agent_dependencies_depends_on ON agent_dependencies (depends_on)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_dependencies`);
  }
}
