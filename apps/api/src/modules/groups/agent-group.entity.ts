import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

@Entity('agent_groups')
export class AgentGroupEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('uq_agent_groups_name', { unique: true })
  @Column({ type: 'varchar', length: 120 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** `{key: value}` pairs an agent's tags must all match (`*`: any value); null: none. */
  @Column({ name: 'tag_selector', type: 'jsonb', nullable: true })
  tagSelector: Record<string, string> | null;

  /** One level of nesting: a group with a parent has no children (checked by the service). */
  @Index('idx_agent_groups_parent')
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId: string | null;

  @ManyToOne(() => AgentGroupEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'parent_id' })
  parent?: AgentGroupEntity | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
