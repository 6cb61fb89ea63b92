import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { AgentEntity } from '../agents/agent.entity.js';
import type { TaskEventType, TaskStatus } from '@agent-monitor/contracts';

/** Every task event an agent sent, as received (the board's history). */
@Entity('activity_task_events')
@Index('idx_activity_task_events_agent_at', ['agentId', 'at'])
@Index('idx_activity_task_events_task_at', ['taskId', 'at'])
@Index('idx_activity_task_events_type_at', ['type', 'at'])
export class TaskEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

  @Column({ name: 'task_id', type: 'varchar', length: 200 })
  taskId: string;

  @Column({ type: 'varchar', length: 16 })
  type: TaskEventType;

  @Column({ type: 'varchar', length: 500, nullable: true })
  title: string | null;

  @Column({ name: 'status_before', type: 'varchar', length: 16, nullable: true })
  statusBefore: TaskStatus | null;

  @Column({ name: 'status_after', type: 'varchar', length: 16, nullable: true })
  statusAfter: TaskStatus | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  assignee: string | null;

  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'agent_id' })
  agent?: AgentEntity;
}
