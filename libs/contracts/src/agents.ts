import { z } from 'zod';
import {
  AGENT_ACTIVITY_STATES,
  AGENT_STATUSES,
  type AgentActivityState,
  type AgentStatus,
} from './enums.js';
import { PageQuerySchema } from './common.js';

/** Largest `metadata` object accepted, measured as serialised JSON. */
export const AGENT_METADATA_MAX_BYTES = 16 * 1024;
export const AGENT_MAX_TAGS = 50;
export const AGENT_CONFIG_MAX_BYTES = 64 * 1024;
export const DEFAULT_HEARTBEAT_INTERVAL_SEC = 30;

/** Seed kinds the simulator and the dashboard know icons for; any other type is accepted too. */
export const AGENT_KINDS = [
  'web_server',
  'db_monitor',
  'api_gateway',
  'cache_monitor',
  'security_scanner',
  'log_processor',
  'llm_agent',
  'ml_agent',
] as const;

const utf8Bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

export const AgentMetadataSchema = z
  .record(z.string().max(200), z.unknown())
  .refine((v) => utf8Bytes(v) <= AGENT_METADATA_MAX_BYTES, {
    message: `must be at most ${AGENT_METADATA_MAX_BYTES} bytes as JSON`,
  });

export const TagKeySchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w.\-/]+$/, 'letters, digits, _ . - / only');
export const TagValueSchema = z.string().trim().max(200);

/** Tags as `{key: value}`; an array of `"key:value"` (or bare `"key"`) strings is accepted too. */
export const AgentTagsSchema = z
  .union([
    z.record(TagKeySchema, TagValueSchema),
    z.array(z.string().trim().min(1).max(265)).max(AGENT_MAX_TAGS),
  ])
  .transform((v, ctx): Record<string, string> => {
    if (!Array.isArray(v)) return v;
    const out: Record<string, string> = {};
    for (const s of v) {
      const i = s.indexOf(':');
      const key = i < 0 ? s : s.slice(0, i);
      const value = i < 0 ? '' : s.slice(i + 1);
      const k = TagKeySchema.safeParse(key);
      const val = TagValueSchema.safeParse(value);
      if (!k.success || !val.success) {
        ctx.addIssue({ code: 'custom', message: `invalid tag "${s.slice(0, 80)}"` });
        return z.NEVER;
      }
      out[k.data] = val.data;
    }
    return out;
  })
  .refine((v) => Object.keys(v).length <= AGENT_MAX_TAGS, {
    message: `at most ${AGENT_MAX_TAGS} tags`,
  });

export const HeartbeatIntervalSchema = z.number().int().min(1).max(3600);

const NameSchema = z.string().trim().min(1).max(200);
const TypeSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w.-]+$/, 'letters, digits, _ . - only');
const HostSchema = z.string().trim().min(1).max(255);
const EnvironmentSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w.-]+$/, 'letters, digits, _ . - only');

export const RegisterAgentRequestSchema = z.strictObject({
  name: NameSchema,
  type: TypeSchema,
  host: HostSchema,
  port: z.number().int().min(1).max(65535).nullable().optional(),
  environment: EnvironmentSchema.nullable().optional(),
  version: z.string().trim().max(64).nullable().optional(),
  metadata: AgentMetadataSchema.optional(),
  tags: AgentTagsSchema.optional(),
  heartbeatIntervalSec: HeartbeatIntervalSchema.optional(),
  containerId: z.string().trim().max(128).nullable().optional(),
});
export type RegisterAgentRequest = z.input<typeof RegisterAgentRequestSchema>;
export type RegisterAgentInput = z.output<typeof RegisterAgentRequestSchema>;

/** The original design's registration body (`POST /api/v1/agents/register`). */
export const RegisterAgentV1RequestSchema = z.object({
  name: NameSchema,
  type: TypeSchema,
  host: HostSchema,
  port: z.number().int().min(1).max(65535).nullable().optional(),
  environment: EnvironmentSchema.nullable().optional(),
  metadata: AgentMetadataSchema.optional(),
});
export type RegisterAgentV1Request = z.infer<typeof RegisterAgentV1RequestSchema>;

/** Key → JSON value. The whole object is versioned per agent. */
export type AgentConfig = Record<string, unknown>;
export const AgentConfigSchema = z
  .record(z.string().trim().min(1).max(128), z.unknown())
  .refine((v) => utf8Bytes(v) <= AGENT_CONFIG_MAX_BYTES, {
    message: `must be at most ${AGENT_CONFIG_MAX_BYTES} bytes as JSON`,
  });

export interface RegisterAgentResponse {
  id: string;
  status: AgentStatus;
  /** An API key (scope `agents:write`) for this agent only; shown once. */
  agentKey: string;
  heartbeatIntervalSec: number;
  configVersion: number;
  config: AgentConfig;
  /** false when the same name+host was registered before (same id, fresh key). */
  created: boolean;
}

export const HeartbeatRequestSchema = z.strictObject({
  /** What the agent says it is doing; `error`/`down` set the agent's status to that. */
  status: z.enum(AGENT_ACTIVITY_STATES).optional(),
  currentTask: z.string().max(500).nullable().optional(),
  branch: z.string().max(255).nullable().optional(),
  uncommittedChanges: z.number().int().min(0).max(10_000_000).nullable().optional(),
  uptimeSec: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400)
    .nullable()
    .optional(),
  /** The config version the agent applied; the answer carries the config only when it differs. */
  appliedConfigVersion: z.number().int().min(0).nullable().optional(),
  version: z.string().trim().max(64).optional(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;

export interface HeartbeatResponse {
  status: AgentStatus;
  configVersion: number;
  /** Present when the agent's applied version differs from the current one. */
  config?: AgentConfig;
  heartbeatIntervalSec: number;
}

export interface Agent {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number | null;
  environment: string | null;
  /** `metadata.region` when the agent gave one (the first-class region filter and grouping). */
  region: string | null;
  version: string | null;
  status: AgentStatus;
  /** The last state the agent reported about itself. */
  reportedState: AgentActivityState | null;
  tags: Record<string, string>;
  heartbeatIntervalSec: number;
  lastHeartbeat: string | null;
  statusChangedAt: string;
  registeredAt: string;
  updatedAt: string;
  currentTask: string | null;
  branch: string | null;
  uncommittedChanges: number | null;
  uptimeSec: number | null;
  containerId: string | null;
  configVersion: number;
  appliedConfigVersion: number | null;
  /** Latest value per metric, when the metrics domain has any (hot cache). */
  latestMetrics: Record<string, number> | null;
}

export interface AgentGroupRef {
  id: string;
  name: string;
}

export interface AgentDetail extends Agent {
  metadata: Record<string, unknown>;
  config: AgentConfig;
  groups: AgentGroupRef[];
  /** Observed heartbeat jitter (EWMA of |interval deviation|), widening the liveness grace. */
  heartbeatJitterMs: number;
}

export const AGENT_SORT_FIELDS = [
  'name',
  'type',
  'status',
  'host',
  'environment',
  'lastHeartbeat',
  'registeredAt',
] as const;
export type AgentSortField = (typeof AGENT_SORT_FIELDS)[number];

const oneOrMany = <T extends z.ZodType>(s: T) =>
  z.preprocess(
    (v) => (v === undefined ? undefined : Array.isArray(v) ? v : String(v).split(',')),
    z.array(s).max(20),
  );

export const ListAgentsQuerySchema = PageQuerySchema.extend({
  /** One status or a comma-separated list. */
  status: oneOrMany(z.enum(AGENT_STATUSES)).optional(),
  type: z.string().max(64).optional(),
  environment: z.string().max(64).optional(),
  /** `metadata.region` equals this (one value or a comma-separated list). */
  region: oneOrMany(z.string().min(1).max(64)).optional(),
  /** `key:value` (or `key` for any value); repeatable, all must match. */
  tag: z
    .preprocess(
      (v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]),
      z.array(z.string().min(1).max(265)).max(20),
    )
    .optional(),
  /** Group id; accepted now, applied once groups exist. */
  group: z.string().max(64).optional(),
  /** Case-insensitive substring of name or host. */
  q: z.string().max(200).optional(),
  /** A field, `-field` for descending. Default `name`. */
  sort: z
    .string()
    .regex(new RegExp(`^-?(${AGENT_SORT_FIELDS.join('|')})$`), 'unknown sort field')
    .default('name'),
});
export type ListAgentsQuery = z.output<typeof ListAgentsQuerySchema>;

export interface AgentList {
  items: Agent[];
  total: number;
  page: number;
  limit: number;
  /** Count per status over the same filters, ignoring the status filter itself. */
  statusCounts: Record<AgentStatus, number>;
}

export const UpdateAgentRequestSchema = z
  .strictObject({
    name: NameSchema.optional(),
    environment: EnvironmentSchema.nullable().optional(),
    metadata: AgentMetadataSchema.optional(),
    /** Replaces all tags. */
    tags: AgentTagsSchema.optional(),
    heartbeatIntervalSec: HeartbeatIntervalSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'at least one field is required' });
export type UpdateAgentRequest = z.input<typeof UpdateAgentRequestSchema>;
export type UpdateAgentInput = z.output<typeof UpdateAgentRequestSchema>;

export const PutAgentConfigRequestSchema = z.strictObject({
  config: AgentConfigSchema,
  /** Optimistic concurrency: refuse (409) when the current version differs. */
  expectedVersion: z.number().int().min(0).optional(),
});
export type PutAgentConfigRequest = z.infer<typeof PutAgentConfigRequestSchema>;

export interface AgentConfigResponse {
  agentId: string;
  configVersion: number;
  config: AgentConfig;
  updatedAt: string | null;
}

export interface AgentStatusHistoryEntry {
  id: string;
  agentId: string;
  previousStatus: AgentStatus | null;
  status: AgentStatus;
  reason: string;
  at: string;
}

export const AgentStatusHistoryQuerySchema = PageQuerySchema.extend({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type AgentStatusHistoryQuery = z.output<typeof AgentStatusHistoryQuerySchema>;

/** `GET /api/v1/agents` (original design). */
export interface AgentV1 {
  id: string;
  name: string;
  status: AgentStatus;
  host: string;
  port: number | null;
  last_heartbeat: string | null;
}
export interface ListAgentsV1Response {
  agents: AgentV1[];
}
