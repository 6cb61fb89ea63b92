import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateActivityTables1795500000000 implements MigrationInterface {
  name = 'CreateActivityTables1795500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "activity_commits" ("hash" character varying(64) NOT NULL, "agent_id" uuid NOT NULL, "branch" character varying(255) NOT NULL, "author" character varying(255) NOT NULL, "message" text NOT NULL, "files_changed" integer NOT NULL, "lines_added" integer NOT NULL, "lines_removed" integer NOT NULL, "committed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d0543b91deb3f5673a0766d961c" PRIMARY KEY ("hash"))`,
    );
    await q.query(
      `CREATE INDEX "idx_activity_commits_committed_at" ON "activity_commits" ("committed_at")`,
    );
    await q.query(
      `CREATE INDEX "idx_activity_commits_agent_at" ON "activity_commits" ("agent_id", "committed_at")`,
    );
    await q.query(
      `CREATE TABLE "activity_task_events" ("id" BIGSERIAL NOT NULL, "agent_id" uuid NOT NULL, "task_id" character varying(200) NOT NULL, "type" character varying(16) NOT NULL, "title" character varying(500), "status_before" character varying(16), "status_after" character varying(16), "assignee" character varying(200), "details" jsonb, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d71e9ac94dda02c3464e1febea9" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "idx_activity_task_events_type_at" ON "activity_task_events" ("type", "at")`,
    );
    await q.query(
      `CREATE INDEX "idx_activity_task_events_task_at" ON "activity_task_events" ("task_id", "at")`,
    );
    await q.query(
      `CREATE INDEX "idx_activity_task_events_agent_at" ON "activity_task_events" ("agent_id", "at")`,
    );
    await q.query(
      `CREATE TABLE "activity_tasks" ("task_id" character varying(200) NOT NULL, "title" character varying(500), "status" character varying(16) NOT NULL, "assignee" character varying(200), "agent_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "completed_at" TIMESTAMP WITH TIME ZONE, "event_count" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_7d1c5db61e578397a0580c6a392" PRIMARY KEY ("task_id"))`,
    );
    await q.query(`CREATE INDEX "idx_activity_tasks_status" ON "activity_tasks" ("status")`);
    await q.query(`CREATE INDEX "idx_activity_tasks_agent" ON "activity_tasks" ("agent_id")`);
    await q.query(
      `ALTER TABLE "activity_commits" ADD CONSTRAINT "FK_5d265ade03f82bff2f432409212" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "activity_task_events" ADD CONSTRAINT "FK_96dbabb64fd648f9d22d7c7986b" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "activity_tasks" ADD CONSTRAINT "FK_dc54ed25ee9873120ca0539eaae" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "activity_tasks" DROP CONSTRAINT "FK_dc54ed25ee9873120ca0539eaae"`);
    await q.query(
      `ALTER TABLE "activity_task_events" DROP CONSTRAINT "FK_96dbabb64fd648f9d22d7c7986b"`,
    );
    await q.query(
      `ALTER TABLE "activity_commits" DROP CONSTRAINT "FK_5d265ade03f82bff2f432409212"`,
    );
    await q.query(`DROP INDEX "public"."idx_activity_tasks_agent"`);
    await q.query(`DROP INDEX "public"."idx_activity_tasks_status"`);
    await q.query(`DROP TABLE "activity_tasks"`);
    await q.query(`DROP INDEX "public"."idx_activity_task_events_agent_at"`);
    await q.query(`DROP INDEX "public"."idx_activity_task_events_task_at"`);
    await q.query(`DROP INDEX "public"."idx_activity_task_events_type_at"`);
    await q.query(`DROP TABLE "activity_task_events"`);
    await q.query(`DROP INDEX "public"."idx_activity_commits_agent_at"`);
    await q.query(`DROP INDEX "public"."idx_activity_commits_committed_at"`);
    await q.query(`DROP TABLE "activity_commits"`);
  }
}
