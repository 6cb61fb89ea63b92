import { z } from 'zod';
import { PageQuerySchema } from './common.js';
import type { AgentStatus } from './enums.js';
import { AgentConfigSchema, type AgentGroupRef } from './agents.js';

/**
 * Agent groups. Membership is the union of explicit agents and, when a tag selector is set,
 * every agent whose tags match all of its pairs (dynamic: follows tag changes). A selector
 * value `*` matches any value of that key. An agent may be in several groups.
 */
export const MAX_GROUP_EXPLICIT_AGENTS = 10_000;

const TagSelectorSchema = z
  .record(
    z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[\w.\-/]+$/, 'letters, digits, _ . - / only'),
    z.string().trim().max(200),
  )
  .refine((v) => Object.keys(v).length <= 20, { message: 'at most 20 tag pairs' });

const GroupNameSchema = z.string().trim().min(1).max(120);

export const CreateAgentGroupRequestSchema = z.strictObject({
  name: GroupNameSchema,
  description: z.string().trim().max(2000).optional(),
  agentIds: z.array(z.uuid()).max(MAX_GROUP_EXPLICIT_AGENTS).optional(),
  /** `{key: value}`; all pairs must match; `*` means any value. `null`/absent: no selector. */
  tagSelector: TagSelectorSchema.nullable().optional(),
  /** Parent group (one level only): the parent's members include this group's. */
  parentId: z.uuid().nullable().optional(),
});
export type CreateAgentGroupRequest = z.infer<typeof CreateAgentGroupRequestSchema>;

export const UpdateAgentGroupRequestSchema = z
  .strictObject({
    name: GroupNameSchema.optional(),
    description: z.string().trim().max(2000).nullable().optional(),
    /** Replaces the explicit members. */
    agentIds: z.array(z.uuid()).max(MAX_GROUP_EXPLICIT_AGENTS).optional(),
    tagSelector: TagSelectorSchema.nullable().optional(),
    parentId: z.uuid().nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'at least one field is required' });
export type UpdateAgentGroupRequest = z.infer<typeof UpdateAgentGroupRequestSchema>;

export interface AgentGroup {
  id: string;
  name: string;
  description: string | null;
  /** Explicit members (some may also match the selector). */
  agentIds: string[];
  tagSelector: Record<string, string> | null;
  /** Current members, explicit and by selector, without duplicates. */
  memberCount: number;
  /** Members per status (aggregate view of the group). */
  statusCounts: Record<AgentStatus, number>;
  /** The parent group; its membership includes this group's members. */
  parentId: string | null;
  /** Child groups (one level); their members count as this group's. */
  children: AgentGroupRef[];
  createdAt: string;
  updatedAt: string;
}

/** One metric over a group's members' latest values. */
export interface GroupMetricAggregate {
  metric: string;
  /** Members that reported it. */
  agentCount: number;
  avg: number;
  min: number;
  max: number;
}

/** `GET /agent-groups/:id`: the group with aggregates over its current members. */
export interface AgentGroupDetail extends AgentGroup {
  /** Latest value of each metric across members (most reported first, at most 50). */
  metrics: GroupMetricAggregate[];
}

export const ListAgentGroupsQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional(),
});
export type ListAgentGroupsQuery = z.infer<typeof ListAgentGroupsQuerySchema>;

export const GroupAgentsQuerySchema = PageQuerySchema;
export type GroupAgentsQuery = z.infer<typeof GroupAgentsQuerySchema>;

// ---------------------------------------------------------------- group configuration rollouts

export const ROLLOUT_STRATEGIES = ['all', 'staged'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

export const ROLLOUT_STATES = ['running', 'paused', 'completed', 'aborted', 'rolled_back'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_AGENT_STATES = ['pending', 'pushed', 'acked', 'rolled_back'] as const;
export type RolloutAgentState = (typeof ROLLOUT_AGENT_STATES)[number];

/**
 * `PUT /agent-groups/:id/config`: a new version of the group's configuration, rolled out to
 * the current members. Each member's config becomes its own config with the group's keys laid
 * over it (keys dropped from the group config since the previous version are removed).
 */
export const PutGroupConfigRequestSchema = z
  .strictObject({
    config: AgentConfigSchema,
    strategy: z.enum(ROLLOUT_STRATEGIES).default('all'),
    /** Staged: the first batch (canary) is this share of the members, at least one agent. */
    canaryPercent: z.number().int().min(1).max(100).optional(),
    /** Staged: agents per batch after the canary. */
    batchSize: z.number().int().min(1).max(10_000).default(10),
    /** Seconds a batch must stay healthy after its last ack before the next one starts. */
    pauseSec: z.number().min(0).max(86_400).default(30),
    /** A batch whose agents have not all acked within this many seconds is rolled back. */
    ackTimeoutSec: z.number().min(1).max(86_400).default(300),
  })
  .refine((v) => v.strategy === 'staged' || v.canaryPercent === undefined, {
    message: 'canaryPercent: only for the staged strategy',
    path: ['canaryPercent'],
  });
export type PutGroupConfigRequest = z.input<typeof PutGroupConfigRequestSchema>;
export type PutGroupConfigInput = z.output<typeof PutGroupConfigRequestSchema>;

export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface GroupConfig {
  groupId: string;
  version: number;
  config: Record<string, unknown>;
  /** Against the previous version of the group config (everything `added` for the first). */
  diff: ConfigDiff;
  createdAt: string;
  createdBy: string | null;
}

export interface RolloutAgent {
  agentId: string;
  name: string | null;
  batch: number;
  state: RolloutAgentState;
  /** The agent config version that carries this rollout. */
  pushedVersion: number | null;
  pushedAt: string | null;
  ackedAt: string | null;
}

export interface Rollout {
  id: string;
  groupId: string;
  groupName: string | null;
  version: number;
  strategy: RolloutStrategy;
  canaryPercent: number | null;
  batchSize: number;
  pauseSec: number;
  ackTimeoutSec: number;
  state: RolloutState;
  /** 0-based index of the batch being rolled out (equals batchCount when done). */
  currentBatch: number;
  batchCount: number;
  /** Why it stopped (rollback, abort). */
  reason: string | null;
  counts: Record<RolloutAgentState, number>;
  agents: RolloutAgent[];
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface PutGroupConfigResponse {
  config: GroupConfig;
  rollout: Rollout;
}

export const ListRolloutsQuerySchema = PageQuerySchema.extend({
  groupId: z.uuid().optional(),
  state: z.enum(ROLLOUT_STATES).optional(),
});
export type ListRolloutsQuery = z.infer<typeof ListRolloutsQuerySchema>;

// ---------------------------------------------------------------- dependencies

export const AddDependencyRequestSchema = z.strictObject({
  /** The agent this one depends on. */
  dependsOn: z.uuid(),
});
export type AddDependencyRequest = z.infer<typeof AddDependencyRequestSchema>;

export interface DependencyRef {
  id: string;
  name: string;
  status: AgentStatus;
}

export interface AgentDependencies {
  agentId: string;
  /** Agents this one needs. */
  dependsOn: DependencyRef[];
  /** Agents that need this one. */
  dependents: DependencyRef[];
}

/** The whole dependency map: agents that take part in at least one edge. */
export interface DependencyGraph {
  nodes: DependencyRef[];
  /** `from` depends on `to`. */
  edges: Array<{ from: string; to: string }>;
}
