import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Group configuration versions and their rollouts (raw-SQL tables, no entities: the rollout
 * driver works with conditional updates under row locks).
 *
 * - group_configs: every version of a group's configuration with its diff to the previous.
 * - rollouts: one per version pushed; at most one running/paused rollout per group.
 * - rollout_agents: each member's batch, state and the config it had before (for rollback).
 */
export class CreateRolloutTables1795530000000 implements MigrationInterface {
  name = 'CreateRolloutTables1795530000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE group_configs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      group_id uuid NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
      version int NOT NULL,
      config jsonb NOT NULL,
      diff jsonb NOT NULL,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_group_configs_version UNIQUE (group_id, version)
    )`);
    await q.query(`CREATE TABLE rollouts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      group_id uuid NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
      group_config_id uuid NOT NULL REFERENCES group_configs(id) ON DELETE CASCADE,
      version int NOT NULL,
      strategy varchar(16) NOT NULL,
      canary_percent int,
      batch_size int NOT NULL,
      pause_sec double precision NOT NULL,
      ack_timeout_sec double precision NOT NULL,
      state varchar(16) NOT NULL,
      current_batch int NOT NULL DEFAULT 0,
      batch_count int NOT NULL,
      batch_started_at timestamptz,
      reason text,
      created_by varchar(254),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      CONSTRAINT chk_rollouts_state CHECK (state IN ('running','paused','completed','aborted','rolled_back'))
    )`);
    await q.query(
      `CREATE UNIQUE INDEX uq_rollouts_active ON rollouts (group_id) WHERE state IN ('running','paused')`,
    );
    await q.query(`CREATE INDEX idx_rollouts_group ON rollouts (group_id, created_at DESC)`);
    await q.query(`CREATE TABLE rollout_agents (
      rollout_id uuid NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
      agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      batch int NOT NULL,
      state varchar(16) NOT NULL DEFAULT 'pending',
      previous_config jsonb,
      pushed_version int,
      pushed_at timestamptz,
      acked_at timestamptz,
      rolled_back_at timestamptz,
      PRIMARY KEY (rollout_id, agent_id)
    )`);
    await q.query(`CREATE INDEX idx_rollout_agents_agent ON rollout_agents (agent_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rollout_agents`);
    await q.query(`DROP TABLE rollouts`);
    await q.query(`DROP TABLE group_configs`);
  }
}
