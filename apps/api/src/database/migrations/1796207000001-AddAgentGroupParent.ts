import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Nested groups, one level: agent_groups.parent_id (a deleted parent leaves its children top-level). */
export class AddAgentGroupParent1796207000001 implements MigrationInterface {
  name = 'AddAgentGroupParent1796207000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "agent_groups" ADD "parent_id" uuid`);
    await q.query(`CREATE INDEX "idx_agent_groups_parent" ON "agent_groups" ("parent_id")`);
    await q.query(
      `ALTER TABLE "agent_groups" ADD CONSTRAINT "FK_76aad1e05ea8c867a7f5329a60a" FOREIGN KEY ("parent_id") REFERENCES "agent_groups"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "agent_groups" DROP CONSTRAINT "FK_76aad1e05ea8c867a7f5329a60a"`);
    await q.query(`DROP INDEX "public"."idx_agent_groups_parent"`);
    await q.query(`ALTER TABLE "agent_groups" DROP COLUMN "parent_id"`);
  }
}
