import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
