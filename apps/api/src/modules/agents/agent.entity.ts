import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { AgentActivityState, AgentStatus } from '@agent-monitor/contracts';

/**
 * One registered agent. Liveness is a lease: every heartbeat moves `stale_at`/`offline_at`
 * forward (interval × 2 / × 5 plus a grace from the observed jitter); the sweeper flips the
 * status when a deadline passes. Deleting is soft (`deleted_at`) so status history, metrics
 * and alerts that name the agent keep pointing at a row.
 */
@Entity('agents')
@Index('uq_agents_name_host', ['name', 'host'], { unique: true, where: '"deleted_at" IS NULL' })
@Index('idx_agents_status', ['status'], { where: '"deleted_at" IS NULL' })
@Index('idx_agents_type', ['type'], { where: '"deleted_at" IS NULL' })
@Index('idx_agents_environment', ['environment'], { where: '"deleted_at" IS NULL' })
@Index('idx_agents_host', ['host'], { where: '"deleted_at" IS NULL' })
@Index('idx_agents_stale_at', ['staleAt'], {
  where: `"deleted_at" IS NULL AND "status" IN ('online', 'error')`,
})
@Index('idx_agents_offline_at', ['offlineAt'], {
  where: `"deleted_at" IS NULL AND "status" IN ('online', 'error', 'stale')`,
})
export class AgentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 255 })
  host: string;

  @Column({ type: 'integer', nullable: true })
  port: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  environment: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  version: string | null;

  @Column({ type: 'varchar', length: 16, default: 'online' })
  status: AgentStatus;

  @Column({ name: 'reported_state', type: 'varchar', length: 16, nullable: true })
  reportedState: AgentActivityState | null;

  @Column({ type: 'jsonb' })
  metadata: Record<string, unknown>;

  @Column({ name: 'heartbeat_interval_sec', type: 'integer', default: 30 })
  heartbeatIntervalSec: number;

  /** EWMA of |observed interval − declared interval|, widening the liveness grace. */
  @Column({ name: 'heartbeat_jitter_ms', type: 'double precision', default: 0 })
  heartbeatJitterMs: number;

  @Column({ name: 'last_heartbeat', type: 'timestamptz', nullable: true })
  lastHeartbeat: Date | null;

  @Column({ name: 'stale_at', type: 'timestamptz', nullable: true })
  staleAt: Date | null;

  @Column({ name: 'offline_at', type: 'timestamptz', nullable: true })
  offlineAt: Date | null;

  @Column({ name: 'status_changed_at', type: 'timestamptz', default: () => 'now()' })
  statusChangedAt: Date;

  @Column({ name: 'registered_at', type: 'timestamptz', default: () => 'now()' })
  registeredAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'current_task', type: 'varchar', length: 500, nullable: true })
  currentTask: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  branch: string | null;

  @Column({ name: 'uncommitted_changes', type: 'integer', nullable: true })
  uncommittedChanges: number | null;

  @Column({ name: 'uptime_sec', type: 'integer', nullable: true })
  uptimeSec: number | null;

  @Column({ name: 'container_id', type: 'varchar', length: 128, nullable: true })
  containerId: string | null;

  @Column({ name: 'config_version', type: 'integer', default: 0 })
  configVersion: number;

  @Column({ name: 'applied_config_version', type: 'integer', nullable: true })
  appliedConfigVersion: number | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}
