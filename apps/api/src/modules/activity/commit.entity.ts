import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { AgentEntity } from '../agents/agent.entity.js';

/** Git commits reported by agents; the hash is the identity, so a resend is ignored. */
@Entity('activity_commits')
@Index('idx_activity_commits_agent_at', ['agentId', 'committedAt'])
export class CommitEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  hash: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

  @Column({ type: 'varchar', length: 255 })
  branch: string;

  @Column({ type: 'varchar', length: 255 })
  author: string;

  @Column({ type: 'text' })
  message: string;

  @Column({ name: 'files_changed', type: 'integer' })
  filesChanged: number;

  @Column({ name: 'lines_added', type: 'integer' })
  linesAdded: number;

  @Column({ name: 'lines_removed', type: 'integer' })
  linesRemoved: number;

  @Index('idx_activity_commits_committed_at')
  @Column({ name: 'committed_at', type: 'timestamptz' })
  committedAt: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'agent_id' })
  agent?: AgentEntity;
}
