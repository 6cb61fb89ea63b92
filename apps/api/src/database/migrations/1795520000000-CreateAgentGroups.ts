import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAgentGroups1795520000000 implements MigrationInterface {
  name = 'CreateAgentGroups1795520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "agent_groups" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(120) NOT NULL, "description" text, "tag_selector" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_22c94bcc63f81ac9ddf188dbbbd" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "uq_agent_groups_name" ON "agent_groups" ("name")`);
    await q.query(
      `CREATE TABLE "agent_group_members" ("group_id" uuid NOT NULL, "agent_id" uuid NOT NULL, CONSTRAINT "PK_daddebd9f9db9d95804fd2f65cf" PRIMARY KEY ("group_id", "agent_id"))`,
    );
    await q.query(
      `CREATE INDEX "idx_agent_group_members_agent" ON "agent_group_members" ("agent_id")`,
    );
    await q.query(
      `ALTER TABLE "agent_group_members" ADD CONSTRAINT "FK_09103911278103d5fe417d80c39" FOREIGN KEY ("group_id") REFERENCES "agent_groups"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "agent_group_members" ADD CONSTRAINT "FK_f625cef41a9a36b05143a8d67ce" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "agent_group_members" DROP CONSTRAINT "FK_f625cef41a9a36b05143a8d67ce"`,
    );
    await q.query(
      `ALTER TABLE "agent_group_members" DROP CONSTRAINT "FK_09103911278103d5fe417d80c39"`,
    );
    await q.query(`DROP INDEX "public"."idx_agent_group_members_agent"`);
    await q.query(`DROP TABLE "agent_group_members"`);
    await q.query(`DROP INDEX "public"."uq_agent_groups_name"`);
    await q.query(`DROP TABLE "agent_groups"`);
  }
}
