import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { AgentEntity } from '../agents/agent.entity.js';
import type { TaskStatus } from '@agent-monitor/contracts';

/** The board: one row per task id with its current state, folded from its events. */
@Entity('activity_tasks')
export class TaskEntity {
  @PrimaryColumn({ name: 'task_id', type: 'varchar', length: 200 })
  taskId: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  title: string | null;

  @Index('idx_activity_tasks_status')
  @Column({ type: 'varchar', length: 16 })
  status: TaskStatus;

  @Column({ type: 'varchar', length: 200, nullable: true })
  assignee: string | null;

  /** The agent that sent the latest event. */
  @Index('idx_activity_tasks_agent')
  @Column({ name: 'agent_id', type: 'uuid', nullable: true })
  agentId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Time of the latest event applied (events older than this only fill gaps). */
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  @Column({ name: 'event_count', type: 'integer', default: 0 })
  eventCount: number;

  @ManyToOne(() => AgentEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'agent_id' })
  agent?: AgentEntity | null;
}
