import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAgentRegistryTables1795375996725 implements MigrationInterface {
  name = 'CreateAgentRegistryTables1795375996725';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "agents" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "type" character varying(64) NOT NULL, "host" character varying(255) NOT NULL, "port" integer, "environment" character varying(64), "version" character varying(64), "status" character varying(16) NOT NULL DEFAULT 'online', "reported_state" character varying(16), "metadata" jsonb NOT NULL, "heartbeat_interval_sec" integer NOT NULL DEFAULT '30', "heartbeat_jitter_ms" double precision NOT NULL DEFAULT '0', "last_heartbeat" TIMESTAMP WITH TIME ZONE, "stale_at" TIMESTAMP WITH TIME ZONE, "offline_at" TIMESTAMP WITH TIME ZONE, "status_changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "registered_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "current_task" character varying(500), "branch" character varying(255), "uncommitted_changes" integer, "uptime_sec" integer, "container_id" character varying(128), "config_version" integer NOT NULL DEFAULT '0', "applied_config_version" integer, "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_9c653f28ae19c5884d5baf6a1d9" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "idx_agents_offline_at" ON "agents" ("offline_at") WHERE "deleted_at" IS NULL AND "status" IN ('online', 'error', 'stale')`,
    );
    await q.query(
      `CREATE INDEX "idx_agents_stale_at" ON "agents" ("stale_at") WHERE "deleted_at" IS NULL AND "status" IN ('online', 'error')`,
    );
    await q.query(`CREATE INDEX "idx_agents_host" ON "agents" ("host") WHERE "deleted_at" IS NULL`);
    await q.query(
      `CREATE INDEX "idx_agents_environment" ON "agents" ("environment") WHERE "deleted_at" IS NULL`,
    );
    await q.query(`CREATE INDEX "idx_agents_type" ON "agents" ("type") WHERE "deleted_at" IS NULL`);
    await q.query(
      `CREATE INDEX "idx_agents_status" ON "agents" ("status") WHERE "deleted_at" IS NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX "uq_agents_name_host" ON "agents" ("name", "host") WHERE "deleted_at" IS NULL`,
    );
    await q.query(
      `CREATE TABLE "agent_configurations" ("agent_id" uuid NOT NULL, "key" character varying(128) NOT NULL, "value" jsonb NOT NULL, "version" integer NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_by" character varying(254), CONSTRAINT "PK_77dd796454a673953c9bd0e0957" PRIMARY KEY ("agent_id", "key"))`,
    );
    await q.query(
      `CREATE TABLE "agent_status_history" ("id" BIGSERIAL NOT NULL, "agent_id" uuid NOT NULL, "previous_status" character varying(16), "status" character varying(16) NOT NULL, "reason" character varying(32) NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f97da9e6a791c27b695c09cac14" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "idx_agent_status_history_at" ON "agent_status_history" ("at")`);
    await q.query(
      `CREATE INDEX "idx_agent_status_history_agent_at" ON "agent_status_history" ("agent_id", "at")`,
    );
    await q.query(
      `CREATE TABLE "agent_tags" ("agent_id" uuid NOT NULL, "key" character varying(64) NOT NULL, "value" character varying(200) NOT NULL DEFAULT '', CONSTRAINT "PK_441cbe1b4c816fc3fd19286ccdb" PRIMARY KEY ("agent_id", "key"))`,
    );
    await q.query(`CREATE INDEX "idx_agent_tags_key_value" ON "agent_tags" ("key", "value")`);
    await q.query(
      `ALTER TABLE "agent_configurations" ADD CONSTRAINT "FK_66c89cfc4a108c011b0b5c9569b" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "agent_status_history" ADD CONSTRAINT "FK_bc3d0f600a01982dd88c2a8e0ba" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "agent_tags" ADD CONSTRAINT "FK_aa0212fd9e851d69b2ddeb913bf" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "agent_tags" DROP CONSTRAINT "FK_aa0212fd9e851d69b2ddeb913bf"`);
    await q.query(
      `ALTER TABLE "agent_status_history" DROP CONSTRAINT "FK_bc3d0f600a01982dd88c2a8e0ba"`,
    );
    await q.query(
      `ALTER TABLE "agent_configurations" DROP CONSTRAINT "FK_66c89cfc4a108c011b0b5c9569b"`,
    );
    await q.query(`DROP INDEX "public"."idx_agent_tags_key_value"`);
    await q.query(`DROP TABLE "agent_tags"`);
    await q.query(`DROP INDEX "public"."idx_agent_status_history_agent_at"`);
    await q.query(`DROP INDEX "public"."idx_agent_status_history_at"`);
    await q.query(`DROP TABLE "agent_status_history"`);
    await q.query(`DROP TABLE "agent_configurations"`);
    await q.query(`DROP INDEX "public"."uq_agents_name_host"`);
    await q.query(`DROP INDEX "public"."idx_agents_status"`);
    await q.query(`DROP INDEX "public"."idx_agents_type"`);
    await q.query(`DROP INDEX "public"."idx_agents_environment"`);
    await q.query(`DROP INDEX "public"."idx_agents_host"`);
    await q.query(`DROP INDEX "public"."idx_agents_stale_at"`);
    await q.query(`DROP INDEX "public"."idx_agents_offline_at"`);
    await q.query(`DROP TABLE "agents"`);
  }
}
