import { z } from 'zod';
import { PageQuerySchema, TimeZoneSchema } from './common.js';
import { ALERT_SEVERITIES, type AlertSeverity } from './enums.js';

/*
 * Alerting: rules, alert instances, notification channels, delivery log, maintenance
 * windows. One schema per DTO; the API validates with these and the dashboard types from them.
 */

export const THRESHOLD_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ThresholdOp = (typeof THRESHOLD_OPS)[number];
export const WINDOW_AGGREGATES = ['last', 'avg', 'min', 'max', 'p95'] as const;
export type WindowAggregate = (typeof WINDOW_AGGREGATES)[number];
export const ALERT_STATUS_CONDITIONS = ['offline', 'stale', 'error', 'down'] as const;
export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
/** Deepest nesting of AND/OR the editor shows and the API accepts. */
export const MAX_CONDITION_DEPTH = 5;
export const MAX_WINDOW_SEC = 7 * 86_400;

const MetricName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:\-/{}=,* ]+$/, 'must be a metric query name like cpu_usage');

export const ThresholdConditionSchema = z.strictObject({
  kind: z.literal('threshold'),
  metric: MetricName,
  op: z.enum(THRESHOLD_OPS),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
  /** How samples within the window reduce to one value; `last` ignores the window. */
  aggregate: z.enum(WINDOW_AGGREGATES).default('last'),
  windowSec: z.number().int().min(0).max(MAX_WINDOW_SEC).default(0),
});

export const NoDataConditionSchema = z.strictObject({
  kind: z.literal('no_data'),
  /** Without a metric: no sample of any metric from the agent. */
  metric: MetricName.optional(),
  forSec: z.number().min(0.1).max(MAX_WINDOW_SEC),
});

export const AgentStatusConditionSchema = z.strictObject({
  kind: z.literal('agent_status'),
  statuses: z.array(z.enum(ALERT_STATUS_CONDITIONS)).min(1).max(4),
  forSec: z.number().min(0).max(MAX_WINDOW_SEC).default(0),
});

/**
 * Always active: a dead-man's-switch rule. It fires as soon as it is enabled and never
 * resolves while enabled; an external receiver alerts when the notifications stop.
 * Top level only.
 */
export const WatchdogConditionSchema = z.strictObject({
  kind: z.literal('watchdog'),
});

/** Default topology hold: a member's status notification waits this long for its group's incident. */
export const DEFAULT_MEMBER_HOLD_SEC = 10;

/** Statuses that make an agent count as unreachable (groups, regions, dependencies). */
export const UNREACHABLE_STATUSES = ['offline', 'stale', 'down'] as const;

/**
 * Topology: one alert per agent group (and per region, from agent metadata `region`) when more
 * than `fraction` of its members (at least `minMembers`) are in one of `statuses`. While it
 * fires, its members' own alerts are held back (recorded as inhibited, linked to it).
 * Members' status and no-data notifications first wait `memberHoldSec` (topology hold): when
 * the group's incident fires within it, they are never sent; otherwise they go out when it ends.
 * Top level only; `scope.groupIds` narrows the groups.
 */
export const GroupUnreachableConditionSchema = z.strictObject({
  kind: z.literal('group_unreachable'),
  fraction: z.number().min(0).max(0.99).default(0.5),
  minMembers: z.number().int().min(2).max(100_000).default(3),
  statuses: z
    .array(z.enum(UNREACHABLE_STATUSES))
    .min(1)
    .max(3)
    .default(['offline', 'stale', 'down']),
  includeRegions: z.boolean().default(true),
  /** Seconds a member's status / no-data notification waits for this incident (0: no hold). */
  memberHoldSec: z.number().min(0).max(300).default(DEFAULT_MEMBER_HOLD_SEC),
});

export type ThresholdCondition = z.infer<typeof ThresholdConditionSchema>;
export type WatchdogCondition = z.infer<typeof WatchdogConditionSchema>;
export type GroupUnreachableCondition = z.infer<typeof GroupUnreachableConditionSchema>;
export type NoDataCondition = z.infer<typeof NoDataConditionSchema>;
export type AgentStatusCondition = z.infer<typeof AgentStatusConditionSchema>;

const AndConditionSchema = z.strictObject({
  kind: z.literal('and'),
  get conditions(): z.ZodArray<typeof ConditionTree> {
    return z.array(ConditionTree).min(1).max(20);
  },
});
const OrConditionSchema = z.strictObject({
  kind: z.literal('or'),
  get conditions(): z.ZodArray<typeof ConditionTree> {
    return z.array(ConditionTree).min(1).max(20);
  },
});
const ConditionTree = z.discriminatedUnion('kind', [
  ThresholdConditionSchema,
  NoDataConditionSchema,
  AgentStatusConditionSchema,
  WatchdogConditionSchema,
  GroupUnreachableConditionSchema,
  AndConditionSchema,
  OrConditionSchema,
]);

/** Condition kinds that only make sense as the whole condition (not inside AND/OR). */
export const TOP_LEVEL_ONLY_KINDS = ['watchdog', 'group_unreachable'] as const;

function nestsTopLevelOnly(c: AlertCondition, depth = 0): boolean {
  if (c.kind === 'and' || c.kind === 'or')
    return c.conditions.some((x) => nestsTopLevelOnly(x, depth + 1));
  return depth > 0 && (TOP_LEVEL_ONLY_KINDS as readonly string[]).includes(c.kind);
}

export type AlertCondition = z.infer<typeof ConditionTree>;
export type CompositeCondition = Extract<AlertCondition, { kind: 'and' | 'or' }>;

export function conditionDepth(c: AlertCondition): number {
  return c.kind === 'and' || c.kind === 'or'
    ? 1 + Math.max(...c.conditions.map(conditionDepth))
    : 0;
}

/** A condition tree; a wrong field is named by its path (`condition.conditions.1.op`). */
export const AlertConditionSchema = ConditionTree.refine(
  (c) => conditionDepth(c) <= MAX_CONDITION_DEPTH,
  { message: `nests AND/OR deeper than ${MAX_CONDITION_DEPTH} levels` },
).refine((c) => !nestsTopLevelOnly(c), {
  message: 'watchdog and group_unreachable conditions cannot be nested in AND/OR',
});

const TagSelector = z.record(z.string().min(1).max(100), z.string().max(200));

export const AlertScopeSchema = z
  .strictObject({
    /** Empty / absent: every agent (narrowed by the other fields). */
    agentIds: z.array(z.uuid()).max(1000).optional(),
    /** Every key must match (`{env: 'prod'}`). */
    tags: TagSelector.optional(),
    type: z.string().min(1).max(100).optional(),
    environment: z.string().min(1).max(100).optional(),
    /** Agent groups (explicit members or tag selector): the agent must be in one of them. */
    groupIds: z.array(z.uuid()).max(100).optional(),
  })
  .default({});
export type AlertScope = z.infer<typeof AlertScopeSchema>;

export const EscalationStepSchema = z.strictObject({
  afterMinutes: z.number().min(0).max(10_080),
  channelIds: z.array(z.uuid()).min(1).max(20),
});
export type EscalationStep = z.infer<typeof EscalationStepSchema>;

const Labels = z
  .record(
    z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z_][\w.-]*$/, 'label names are letters, digits, _ . -'),
    z.string().max(500),
  )
  .refine((l) => Object.keys(l).length <= 30, 'at most 30 labels');

const RuleFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().default(true),
  severity: z.enum(ALERT_SEVERITIES).default('warning'),
  scope: AlertScopeSchema,
  condition: AlertConditionSchema,
  /** Seconds the condition must hold before pending becomes firing. */
  forSec: z.number().min(0).max(86_400).default(0),
  /** Seconds a firing alert stays firing after the condition clears (flap damping). */
  keepFiringForSec: z.number().min(0).max(86_400).default(0),
  labels: Labels.default({}),
  /** `{{agent.name}}`, `{{value}}`, `{{threshold}}`, `{{rule.name}}`, `{{labels.x}}` … */
  summaryTemplate: z.string().max(2000).default('{{rule.name}} on {{agent.name}}: {{value}}'),
  channelIds: z.array(z.uuid()).max(20).default([]),
  /** The escalation policy (`/escalation-policies`) this rule follows; null: none. */
  escalationPolicyId: z.uuid().nullable().optional(),
  /**
   * Deprecated inline steps, kept for older clients: a non-empty list creates a policy named
   * after the rule and links it (not together with `escalationPolicyId`).
   */
  escalation: z.array(EscalationStepSchema).max(10).optional(),
  /** Followers of a group firing within this many seconds are batched into one notification. */
  groupWindowSec: z.number().min(0).max(3600).default(10),
};

export const CreateAlertRuleSchema = z.strictObject(RuleFields);
export type CreateAlertRule = z.infer<typeof CreateAlertRuleSchema>;
export type CreateAlertRuleInput = z.input<typeof CreateAlertRuleSchema>;

export const UpdateAlertRuleSchema = z
  .strictObject({
    name: RuleFields.name,
    description: RuleFields.description,
    enabled: z.boolean(),
    severity: z.enum(ALERT_SEVERITIES),
    scope: AlertScopeSchema,
    condition: AlertConditionSchema,
    forSec: z.number().min(0).max(86_400),
    keepFiringForSec: z.number().min(0).max(86_400),
    labels: Labels,
    summaryTemplate: z.string().max(2000),
    channelIds: z.array(z.uuid()).max(20),
    escalationPolicyId: z.uuid().nullable(),
    escalation: z.array(EscalationStepSchema).max(10),
    groupWindowSec: z.number().min(0).max(3600),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to update');
export type UpdateAlertRule = z.infer<typeof UpdateAlertRuleSchema>;

export interface AlertRule {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  severity: AlertSeverity;
  scope: AlertScope;
  condition: AlertCondition;
  forSec: number;
  keepFiringForSec: number;
  labels: Record<string, string>;
  summaryTemplate: string;
  channelIds: string[];
  escalationPolicyId: string | null;
  /** The steps of the linked policy (read-only mirror for older clients). */
  escalation: EscalationStep[];
  groupWindowSec: number;
  createdAt: string;
  updatedAt: string;
}

export const ListAlertRulesQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional(),
  enabled: z.enum(['true', 'false']).optional(),
});
export type ListAlertRulesQuery = z.infer<typeof ListAlertRulesQuerySchema>;

export interface AlertInstance {
  id: string;
  ruleId: string;
  ruleName: string;
  agentId: string | null;
  agentName: string | null;
  labels: Record<string, string>;
  severity: AlertSeverity;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  summary: string;
  startedAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  ackComment: string | null;
  ackExpiresAt: string | null;
  /** True while a maintenance window or an inhibition holds its notifications back. */
  suppressed: boolean;
  groupKey: string;
  escalationStep: number;
  /** Canonical series label set (`model=gpt4`), '' for unlabelled series. */
  labelKey: string;
  /** The "group unreachable" alert this one is (or was) held back by. */
  inhibitedBy: string | null;
  /** The dependency whose outage this alert is attributed to (held back while it lasts). */
  causedBy: { agentId: string; agentName: string | null } | null;
  /**
   * The notification group it fired in, as the outbox correlated it (one rule across agents,
   * or one agent across rules, within the rule's group window): the id of the alert that led
   * the group, its own id when it led. Null while pending, or when its rule notifies no channel.
   */
  correlationId: string | null;
  /** The other alerts of that group (any state), oldest first. */
  correlatedWith: string[];
}

export interface AlertTransition {
  id: string;
  alertId: string;
  type:
    | 'pending'
    | 'firing'
    | 'resolved'
    | 'cleared'
    | 'acknowledged'
    | 'ack_expired'
    | 'escalated'
    | 'suppressed'
    | 'unsuppressed'
    | 'inhibited'
    | 'uninhibited';
  at: string;
  by: string | null;
  comment: string | null;
  value: number | null;
}

export interface AlertDetail extends AlertInstance {
  history: AlertTransition[];
}

const CsvOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .max(200)
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(values)));

export const ListAlertsQuerySchema = PageQuerySchema.extend({
  state: CsvOf(ALERT_STATES).optional(),
  severity: CsvOf(ALERT_SEVERITIES).optional(),
  ruleId: z.uuid().optional(),
  agentId: z.uuid().optional(),
  acknowledged: z.enum(['true', 'false']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type ListAlertsQuery = z.infer<typeof ListAlertsQuerySchema>;

export const AckAlertSchema = z.strictObject({
  comment: z.string().max(2000).optional(),
  /** After this many minutes escalation resumes if the alert still fires. */
  expiresInMinutes: z.number().min(1).max(10_080).optional(),
});
export type AckAlert = z.infer<typeof AckAlertSchema>;

export const ResolveAlertSchema = z.strictObject({ comment: z.string().max(2000).optional() });
export type ResolveAlert = z.infer<typeof ResolveAlertSchema>;

// ---------------------------------------------------------------- notification channels

export const CHANNEL_TYPES = ['email', 'slack', 'teams', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

const HeaderName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9-]+$/, 'header names are letters, digits and -')
  .refine(
    (h) =>
      !['host', 'content-length', 'content-type', 'connection', 'transfer-encoding'].includes(
        h.toLowerCase(),
      ),
    'this header is set by the server',
  );

export const EmailChannelConfigSchema = z.strictObject({
  to: z.array(z.email()).min(1).max(50),
  /** Without smtp: the server's SMTP_URL. */
  smtp: z
    .strictObject({
      host: z.string().min(1).max(255),
      port: z.number().int().min(1).max(65535).default(587),
      secure: z.boolean().default(false),
      user: z.string().max(255).optional(),
      password: z.string().max(1000).optional(),
    })
    .optional(),
  from: z.string().max(255).optional(),
});
export const SlackChannelConfigSchema = z.strictObject({ webhookUrl: HttpUrl });
export const TeamsChannelConfigSchema = z.strictObject({ webhookUrl: HttpUrl });
export const WebhookChannelConfigSchema = z.strictObject({
  url: HttpUrl,
  /** HMAC-SHA256 key: the body is signed in `X-AM-Signature: sha256=<hex>`. */
  secret: z.string().min(16).max(500).optional(),
  headers: z
    .record(HeaderName, z.string().max(2000))
    .refine((h) => Object.keys(h).length <= 20, 'at most 20 headers')
    .optional(),
});

export const CreateChannelSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('email'),
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean().default(true),
    config: EmailChannelConfigSchema,
  }),
  z.strictObject({
    type: z.literal('slack'),
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean().default(true),
    config: SlackChannelConfigSchema,
  }),
  z.strictObject({
    type: z.literal('teams'),
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean().default(true),
    config: TeamsChannelConfigSchema,
  }),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean().default(true),
    config: WebhookChannelConfigSchema,
  }),
]);
export type CreateChannel = z.infer<typeof CreateChannelSchema>;

/** Config fields left out keep their stored value (so secrets need not be re-entered). */
export const UpdateChannelSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean(),
    config: z.record(z.string(), z.unknown()),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to update');
export type UpdateChannel = z.infer<typeof UpdateChannelSchema>;

export interface NotificationChannel {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  /** Secrets masked: URLs show scheme and host only, passwords and keys never. */
  config: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'delivered',
  'failed',
  'suppressed',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface Delivery {
  id: string;
  channelId: string;
  alertId: string | null;
  event: string;
  dedupKey: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  attemptLog: DeliveryAttempt[];
}

export const ListDeliveriesQuerySchema = PageQuerySchema.extend({
  status: z.enum(DELIVERY_STATUSES).optional(),
  alertId: z.uuid().optional(),
});
export type ListDeliveriesQuery = z.infer<typeof ListDeliveriesQuerySchema>;

export interface ChannelTestResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** The JSON body generic webhooks receive (and what Slack/Teams texts are built from). */
export interface AlertNotificationPayload {
  dedupKey: string;
  event: 'firing' | 'resolved' | 'escalated' | 'test';
  alerts: Array<{
    id: string;
    ruleId: string;
    ruleName: string;
    agentId: string | null;
    agentName: string | null;
    severity: AlertSeverity;
    state: AlertState;
    summary: string;
    value: number | null;
    threshold: number | null;
    labels: Record<string, string>;
    startedAt: string;
    firedAt: string | null;
    resolvedAt: string | null;
  }>;
  sentAt: string;
}

// ---------------------------------------------------------------- test / backtest

export const AlertTestSchema = z
  .strictObject({
    /** Send a test notification through this channel. */
    channelId: z.uuid().optional(),
    /** Backtest a rule draft over stored history. */
    rule: z
      .strictObject({
        condition: AlertConditionSchema,
        scope: AlertScopeSchema,
        forSec: z.number().min(0).max(86_400).default(0),
        keepFiringForSec: z.number().min(0).max(86_400).default(0),
      })
      .optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((v) => v.channelId || v.rule, 'give a channelId, a rule, or both')
  .refine(
    (v) => !v.from || !v.to || Date.parse(v.to) - Date.parse(v.from) <= 7 * 86_400_000,
    'from/to: at most 7 days',
  );
export type AlertTest = z.infer<typeof AlertTestSchema>;

/** One simulated alert: per agent in scope and per series label set, as the live engine opens them. */
export interface BacktestEvent {
  agentId: string;
  agentName: string | null;
  /** Canonical series label set (`model=gpt4`), '' for unlabelled series. */
  labelKey: string;
  labels: Record<string, string>;
  firedAt: string;
  resolvedAt: string | null;
  value: number | null;
}

export interface AlertTestResult {
  channel?: ChannelTestResult;
  backtest?: {
    from: string;
    to: string;
    agents: number;
    /** Points evaluated (from raw samples or rollups, whichever the range still has). */
    points: number;
    events: BacktestEvent[];
  };
}

// ---------------------------------------------------------------- maintenance windows

export const MaintenanceMatchSchema = z
  .strictObject({
    agentIds: z.array(z.uuid()).max(1000).optional(),
    /** Every key must match. */
    tags: TagSelector.optional(),
    ruleIds: z.array(z.uuid()).max(100).optional(),
    /** Agent groups (explicit members or tag selector): the agent must be in one of them. */
    groupIds: z.array(z.uuid()).max(100).optional(),
  })
  .refine((m) => Object.values(m).some((v) => v && Object.keys(v).length), {
    message: 'match at least one agent, tag, rule or group',
  });
export type MaintenanceMatch = z.infer<typeof MaintenanceMatchSchema>;

const MaintenanceFields = {
  name: z.string().trim().min(1).max(200),
  reason: z.string().max(2000).optional(),
  match: MaintenanceMatchSchema,
  /** One-off: from startsAt to endsAt. Recurring: every `cron` occurrence for durationMinutes (within startsAt/endsAt when given). */
  startsAt: z.iso.datetime({ offset: true }).optional(),
  endsAt: z.iso.datetime({ offset: true }).optional(),
  cron: z
    .string()
    .max(100)
    .regex(/^\S+( \S+){4,5}$/, 'must be a cron expression like "0 2 * * 0"')
    .optional(),
  durationMinutes: z.number().min(1).max(10_080).optional(),
  timeZone: TimeZoneSchema.default('UTC'),
  enabled: z.boolean().default(true),
};

function checkWindowTimes(
  v: { startsAt?: string; endsAt?: string; cron?: string; durationMinutes?: number },
  ctx: z.RefinementCtx,
): void {
  if (v.cron) {
    if (!v.durationMinutes) {
      ctx.addIssue({ code: 'custom', path: ['durationMinutes'], message: 'required with cron' });
    }
  } else {
    if (!v.startsAt)
      ctx.addIssue({ code: 'custom', path: ['startsAt'], message: 'required without cron' });
    if (!v.endsAt)
      ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'required without cron' });
  }
  if (v.startsAt && v.endsAt && Date.parse(v.endsAt) <= Date.parse(v.startsAt)) {
    ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
  }
}

export const CreateMaintenanceWindowSchema = z
  .strictObject(MaintenanceFields)
  .superRefine(checkWindowTimes);
export type CreateMaintenanceWindow = z.infer<typeof CreateMaintenanceWindowSchema>;

export const UpdateMaintenanceWindowSchema = z
  .strictObject({
    name: MaintenanceFields.name,
    reason: MaintenanceFields.reason,
    match: MaintenanceMatchSchema,
    startsAt: z.iso.datetime({ offset: true }).nullable(),
    endsAt: z.iso.datetime({ offset: true }).nullable(),
    cron: MaintenanceFields.cron.unwrap().nullable(),
    durationMinutes: z.number().min(1).max(10_080).nullable(),
    timeZone: MaintenanceFields.timeZone.unwrap(),
    enabled: z.boolean(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to update');
export type UpdateMaintenanceWindow = z.infer<typeof UpdateMaintenanceWindowSchema>;

export interface MaintenanceWindow {
  id: string;
  name: string;
  reason: string | null;
  match: MaintenanceMatch;
  startsAt: string | null;
  endsAt: string | null;
  cron: string | null;
  durationMinutes: number | null;
  timeZone: string;
  enabled: boolean;
  /** `agent`: declared by the agent itself (POST /agents/:id/maintenance). */
  source: 'user' | 'agent';
  /** Whether it holds notifications back right now. */
  active: boolean;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export const AgentMaintenanceSchema = z.union([
  z.strictObject({
    minutes: z.number().min(1).max(1440),
    reason: z.string().max(500).optional(),
  }),
  /** The agent is done: the window ends on its next healthy heartbeat. */
  z.strictObject({ done: z.literal(true) }),
]);
export type AgentMaintenance = z.infer<typeof AgentMaintenanceSchema>;
