import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { AgentStatus } from '@agent-monitor/contracts';
import { AgentEntity } from './agent.entity.js';

/** Every change of an agent's status, written in the same statement as the change. */
@Entity('agent_status_history')
@Index('idx_agent_status_history_agent_at', ['agentId', 'at'])
@Index('idx_agent_status_history_at', ['at'])
export class AgentStatusHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

  @Column({ name: 'previous_status', type: 'varchar', length: 16, nullable: true })
  previousStatus: AgentStatus | null;

  @Column({ type: 'varchar', length: 16 })
  status: AgentStatus;

  @Column({ type: 'varchar', length: 32 })
  reason: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'agent_id' })
  agent?: AgentEntity;
}
