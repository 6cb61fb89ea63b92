import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuthTables1795375325968 implements MigrationInterface {
  name = 'CreateAuthTables1795375325968';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "users" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" character varying(254) NOT NULL, "name" character varying(120) NOT NULL, "role" character varying(16) NOT NULL, "password_hash" text NOT NULL, "disabled" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_login_at" TIMESTAMP WITH TIME ZONE, "password_changed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "uq_users_email" ON "users" ("email")`);
    await q.query(
      `CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(120) NOT NULL, "prefix" character varying(16) NOT NULL, "key_hash" character(64) NOT NULL, "scopes" text array NOT NULL, "agent_id" uuid, "created_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "uq_api_keys_hash" ON "api_keys" ("key_hash")`);
    await q.query(`CREATE INDEX "idx_api_keys_agent" ON "api_keys" ("agent_id")`);
    await q.query(
      `CREATE TABLE "audit_logs" ("id" BIGSERIAL NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor_type" character varying(16) NOT NULL, "actor_id" character varying(64), "actor_label" character varying(254), "action" character varying(100) NOT NULL, "resource_type" character varying(64) NOT NULL, "resource_id" character varying(100), "outcome" character varying(16) NOT NULL, "ip" character varying(64), "request_id" character varying(64), "changes" jsonb, CONSTRAINT "PK_1bb179d048bbc581caa3b013439" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "idx_audit_logs_at" ON "audit_logs" ("at")`);
    await q.query(`CREATE INDEX "idx_audit_logs_action" ON "audit_logs" ("action")`);
    await q.query(`CREATE INDEX "idx_audit_logs_actor_at" ON "audit_logs" ("actor_id", "at")`);
    await q.query(
      `CREATE INDEX "idx_audit_logs_resource" ON "audit_logs" ("resource_type", "resource_id")`,
    );
    await q.query(
      `CREATE TABLE "user_sessions" ("id" uuid NOT NULL, "user_id" uuid NOT NULL, "current_token_id" uuid NOT NULL, "previous_token_id" uuid, "rotated_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "revoked_reason" character varying(32), "ip" character varying(64), "user_agent" character varying(512), CONSTRAINT "PK_e93e031a5fed190d4789b6bfd83" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "idx_user_sessions_user" ON "user_sessions" ("user_id")`);
    await q.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "FK_983d7eb19ca94bb8e343293068e" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "user_sessions" ADD CONSTRAINT "FK_e9658e959c490b0a634dfc54783" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "user_sessions" DROP CONSTRAINT "FK_e9658e959c490b0a634dfc54783"`);
    await q.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "FK_983d7eb19ca94bb8e343293068e"`);
    await q.query(`DROP INDEX "public"."idx_user_sessions_user"`);
    await q.query(`DROP TABLE "user_sessions"`);
    await q.query(`DROP INDEX "public"."idx_audit_logs_resource"`);
    await q.query(`DROP INDEX "public"."idx_audit_logs_actor_at"`);
    await q.query(`DROP INDEX "public"."idx_audit_logs_action"`);
    await q.query(`DROP INDEX "public"."idx_audit_logs_at"`);
    await q.query(`DROP TABLE "audit_logs"`);
    await q.query(`DROP INDEX "public"."idx_api_keys_agent"`);
    await q.query(`DROP INDEX "public"."uq_api_keys_hash"`);
    await q.query(`DROP TABLE "api_keys"`);
    await q.query(`DROP INDEX "public"."uq_users_email"`);
    await q.query(`DROP TABLE "users"`);
  }
}
