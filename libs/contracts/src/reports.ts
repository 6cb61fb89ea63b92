import { z } from 'zod';
import { TimeZoneSchema } from './common.js';
import { ALERT_SEVERITIES, type AlertSeverity } from './enums.js';

export const REPORT_FORMATS = ['json', 'csv', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Longest period one report may cover. */
export const REPORT_MAX_DAYS = 366;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `all` (default), `group:<uuid>`, or a comma-separated list of agent ids (at most 500).
 */
export const ReportScopeSchema = z
  .string()
  .trim()
  .max(20_000)
  .default('all')
  .transform((v, ctx): ReportScope => {
    if (v === '' || v === 'all') return { kind: 'all' };
    if (v.startsWith('group:')) {
      const id = v.slice(6);
      if (!UUID_RE.test(id)) {
        ctx.addIssue({ code: 'custom', message: 'group:<id> needs a group UUID' });
        return z.NEVER;
      }
      return { kind: 'group', groupId: id.toLowerCase() };
    }
    const ids = [...new Set(v.split(',').map((s) => s.trim().toLowerCase()))].filter(Boolean);
    if (!ids.length || ids.length > 500 || !ids.every((i) => UUID_RE.test(i))) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be "all", "group:<uuid>" or up to 500 comma-separated agent UUIDs',
      });
      return z.NEVER;
    }
    return { kind: 'agents', agentIds: ids };
  });

export type ReportScope =
  { kind: 'all' } | { kind: 'group'; groupId: string } | { kind: 'agents'; agentIds: string[] };

export const GenerateReportQuerySchema = z
  .object({
    /** Default: 7 days before `to`. */
    from: z.iso.datetime({ offset: true }).optional(),
    /** Default: now. */
    to: z.iso.datetime({ offset: true }).optional(),
    format: z.enum(REPORT_FORMATS).default('json'),
    scope: ReportScopeSchema,
    /** Only agents of this environment. */
    environment: z.string().trim().min(1).max(64).optional(),
    /** Only agents whose `metadata.region` is this. */
    region: z.string().trim().min(1).max(64).optional(),
  })
  .transform((q, ctx) => {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * 86_400_000);
    if (from >= to) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'from: must be before to' });
      return z.NEVER;
    }
    if (to.getTime() - from.getTime() > REPORT_MAX_DAYS * 86_400_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: `from: the period may span at most ${REPORT_MAX_DAYS} days`,
      });
      return z.NEVER;
    }
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      format: q.format,
      scope: q.scope,
      environment: q.environment,
      region: q.region,
    };
  });
export type GenerateReportQuery = z.output<typeof GenerateReportQuerySchema>;

export interface AlertSummary {
  total: number;
  bySeverity: Record<AlertSeverity, number>;
  /** Mean seconds from firing to acknowledgement, over alerts acknowledged; null when none. */
  mttaSec: number | null;
  /** Mean seconds from firing to resolution, over alerts resolved; null when none. */
  mttrSec: number | null;
}

export interface AvailabilitySummary {
  /** Percentage of observed time spent `online`; null when nothing was observed. */
  availabilityPct: number | null;
  onlineSec: number;
  /** Seconds of the period for which the agent's status is known. */
  observedSec: number;
}

export interface ReportAgentRow extends AvailabilitySummary {
  agentId: string;
  name: string;
  type: string;
  environment: string | null;
  alerts: AlertSummary;
  tasksCompleted: number;
  commits: number;
}

export interface ReportGroupRow extends AvailabilitySummary {
  groupId: string;
  name: string;
  agentCount: number;
  alerts: AlertSummary;
}

export interface ReportMetricRow {
  metric: string;
  samples: number;
  avg: number | null;
  p95: number | null;
  max: number | null;
}

export interface ReportLlmRow {
  model: string;
  tokens: number;
  cost: number;
}

export interface Report {
  generatedAt: string;
  from: string;
  to: string;
  scope: ReportScope & { label: string; environment?: string; region?: string };
  fleet: AvailabilitySummary & { agentCount: number; alerts: AlertSummary };
  agents: ReportAgentRow[];
  groups: ReportGroupRow[];
  metrics: ReportMetricRow[];
  llm: ReportLlmRow[];
  /** Sections that could not be filled on this server, and why. */
  notes: string[];
}

export const emptyAlertSummary = (): AlertSummary => ({
  total: 0,
  bySeverity: Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, 0])) as Record<
    AlertSeverity,
    number
  >,
  mttaSec: null,
  mttrSec: null,
});

// ---- Scheduled reports ------------------------------------------------------------------

/** Formats a scheduled report can be attached in. */
export const REPORT_SCHEDULE_FORMATS = ['pdf', 'csv'] as const;
export type ReportScheduleFormat = (typeof REPORT_SCHEDULE_FORMATS)[number];
/** Weekly, Monday 08:00 (in the schedule's time zone). */
export const DEFAULT_REPORT_CRON = '0 8 * * 1';
export const REPORT_RUN_STATUSES = ['running', 'sent', 'failed'] as const;
export type ReportRunStatus = (typeof REPORT_RUN_STATUSES)[number];

/** Same forms as the report's `scope` query: `all`, `group:<uuid>` or agent UUIDs. */
const ScheduleScopeSchema = z
  .string()
  .trim()
  .max(20_000)
  .superRefine((v, ctx) => {
    const r = ReportScopeSchema.safeParse(v);
    if (!r.success)
      for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message });
  });

const ScheduleFields = {
  name: z.string().trim().min(1).max(120),
  scope: ScheduleScopeSchema.default('all'),
  environment: z.string().trim().min(1).max(64).nullable().optional(),
  /** Only agents whose `metadata.region` is this. */
  region: z.string().trim().min(1).max(64).nullable().optional(),
  format: z.enum(REPORT_SCHEDULE_FORMATS).default('pdf'),
  /** 5 or 6 fields; each occurrence sends the report for the period since the previous one. */
  cron: z
    .string()
    .trim()
    .max(100)
    .regex(/^\S+( \S+){4,5}$/, 'must be a cron expression like "0 8 * * 1"')
    .default(DEFAULT_REPORT_CRON),
  timeZone: TimeZoneSchema.default('UTC'),
  /** E-mail notification channels (other channel types are refused with 400). */
  channelIds: z.array(z.uuid()).min(1).max(20),
  enabled: z.boolean().default(true),
};

export const CreateReportScheduleSchema = z.strictObject(ScheduleFields);
export type CreateReportSchedule = z.output<typeof CreateReportScheduleSchema>;
export type CreateReportScheduleRequest = z.input<typeof CreateReportScheduleSchema>;

export const UpdateReportScheduleSchema = z
  .strictObject({
    name: ScheduleFields.name,
    scope: ScheduleScopeSchema,
    environment: ScheduleFields.environment,
    region: ScheduleFields.region,
    format: z.enum(REPORT_SCHEDULE_FORMATS),
    cron: ScheduleFields.cron.unwrap(),
    timeZone: TimeZoneSchema,
    channelIds: ScheduleFields.channelIds,
    enabled: z.boolean(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to update');
export type UpdateReportSchedule = z.output<typeof UpdateReportScheduleSchema>;

export interface ReportDelivery {
  channelId: string;
  channelName: string | null;
  ok: boolean;
  error: string | null;
}

export interface ReportScheduleRun {
  id: string;
  scheduleId: string;
  trigger: 'schedule' | 'manual';
  status: ReportRunStatus;
  periodFrom: string;
  periodTo: string;
  startedAt: string;
  /** When every channel accepted the mail; null while running or when one failed. */
  sentAt: string | null;
  error: string | null;
  deliveries: ReportDelivery[];
  attachmentBytes: number | null;
  createdBy: string | null;
}

export interface ReportSchedule {
  id: string;
  name: string;
  scope: string;
  environment: string | null;
  region: string | null;
  format: ReportScheduleFormat;
  cron: string;
  timeZone: string;
  channelIds: string[];
  enabled: boolean;
  /** Next occurrence of the cron; null when disabled. */
  nextRunAt: string | null;
  lastRun: ReportScheduleRun | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}
