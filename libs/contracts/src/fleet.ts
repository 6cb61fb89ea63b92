import { z } from 'zod';
import { PageQuerySchema } from './common.js';
import type { AgentStatus } from './enums.js';

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
});
export type CreateAgentGroupRequest = z.infer<typeof CreateAgentGroupRequestSchema>;

export const UpdateAgentGroupRequestSchema = z
  .strictObject({
    name: GroupNameSchema.optional(),
    description: z.string().trim().max(2000).nullable().optional(),
    /** Replaces the explicit members. */
    agentIds: z.array(z.uuid()).max(MAX_GROUP_EXPLICIT_AGENTS).optional(),
    tagSelector: TagSelectorSchema.nullable().optional(),
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
  createdAt: string;
  updatedAt: string;
}

export const ListAgentGroupsQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional(),
});
export type ListAgentGroupsQuery = z.infer<typeof ListAgentGroupsQuerySchema>;

export const GroupAgentsQuerySchema = PageQuerySchema;
export type GroupAgentsQuery = z.infer<typeof GroupAgentsQuerySchema>;
