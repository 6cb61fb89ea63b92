import { z } from 'zod';
import { PageQuerySchema } from './common.js';

/**
 * Coordination activity of coding and AI agents: task events, git commits, velocity.
 * Tasks are shared by the whole fleet (one board): several agents may act on the same task id.
 */

export const TASK_EVENT_TYPES = ['created', 'updated', 'assigned', 'blocked', 'completed'] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

/** Task board columns, in display order. */
export const TASK_STATUSES = ['todo', 'in_progress', 'blocked', 'review', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The status a task has after an event that names none (`statusAfter` wins when sent). */
export const TASK_STATUS_AFTER_EVENT: Record<TaskEventType, TaskStatus | null> = {
  created: 'todo',
  updated: null,
  assigned: 'in_progress',
  blocked: 'blocked',
  completed: 'done',
};

const TaskIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((v) => !/\s/.test(v) && ![...v].some((c) => c.charCodeAt(0) < 32), {
    message: 'must not contain spaces or control characters',
  });

/** Free-form details, bounded so one event cannot grow a row without limit. */
const DetailsSchema = z
  .record(z.string().max(100), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 8192, { message: 'must be at most 8 KiB as JSON' });

export const TaskEventRequestSchema = z.strictObject({
  type: z.enum(TASK_EVENT_TYPES),
  taskId: TaskIdSchema,
  title: z.string().trim().min(1).max(500).optional(),
  statusBefore: z.enum(TASK_STATUSES).optional(),
  statusAfter: z.enum(TASK_STATUSES).optional(),
  /** Who the task is assigned to (an agent name, a person): free text. */
  assignee: z.string().trim().min(1).max(200).optional(),
  details: DetailsSchema.optional(),
  /** When it happened; default: when the server received it. */
  at: z.iso.datetime({ offset: true }).optional(),
});
export type TaskEventRequest = z.infer<typeof TaskEventRequestSchema>;

export const MAX_EVENTS_PER_REQUEST = 500;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One event, or `{events:[…]}` for a batch (all or nothing); both parse to the batch form. */
export const TaskEventsRequestSchema = z.preprocess(
  (v) => (isObject(v) && !('events' in v) ? { events: [v] } : v),
  z.strictObject({
    events: z.array(TaskEventRequestSchema).min(1).max(MAX_EVENTS_PER_REQUEST),
  }),
);
export type TaskEventsRequest = z.infer<typeof TaskEventsRequestSchema>;

export interface TaskEventsResponse {
  received: number;
}

export const CommitRequestSchema = z.strictObject({
  /** Full or abbreviated git hash (hex, 7–64 characters); lower-cased on receipt. */
  hash: z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F]{7,64}$/, 'must be a hex git hash of 7 to 64 characters')
    .transform((h) => h.toLowerCase()),
  branch: z.string().trim().min(1).max(255),
  author: z.string().trim().min(1).max(255),
  message: z.string().max(10_000),
  filesChanged: z.number().int().min(0).max(1_000_000).default(0),
  linesAdded: z.number().int().min(0).max(100_000_000).default(0),
  linesRemoved: z.number().int().min(0).max(100_000_000).default(0),
  committedAt: z.iso.datetime({ offset: true }),
});
export type CommitRequest = z.infer<typeof CommitRequestSchema>;

export const MAX_COMMITS_PER_REQUEST = 500;

/** One commit, or `{commits:[…]}`; both parse to the batch form. */
export const CommitsRequestSchema = z.preprocess(
  (v) => (isObject(v) && !('commits' in v) ? { commits: [v] } : v),
  z.strictObject({
    commits: z.array(CommitRequestSchema).min(1).max(MAX_COMMITS_PER_REQUEST),
  }),
);
export type CommitsRequest = z.infer<typeof CommitsRequestSchema>;

export interface CommitsResponse {
  received: number;
  /** Commits stored by this request; the rest were already known (same hash). */
  inserted: number;
  duplicates: number;
}

export interface Task {
  taskId: string;
  title: string | null;
  status: TaskStatus;
  assignee: string | null;
  /** The agent that sent the latest event about this task. */
  agentId: string | null;
  agentName: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  /** Events recorded for this task. */
  eventCount: number;
}

export interface TaskEvent {
  id: string;
  agentId: string;
  taskId: string;
  type: TaskEventType;
  title: string | null;
  statusBefore: TaskStatus | null;
  statusAfter: TaskStatus | null;
  assignee: string | null;
  details: Record<string, unknown> | null;
  at: string;
}

export interface Commit {
  hash: string;
  agentId: string;
  agentName: string | null;
  branch: string;
  author: string;
  message: string;
  filesChanged: number;
  linesAdded: number;
  linesRemoved: number;
  committedAt: string;
}

export const ListTasksQuerySchema = PageQuerySchema.extend({
  status: z.enum(TASK_STATUSES).optional(),
  agentId: z.uuid().optional(),
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
export type ListTasksQuery = z.infer<typeof ListTasksQuerySchema>;

export const ListCommitsQuerySchema = PageQuerySchema.extend({
  agentId: z.uuid().optional(),
  branch: z.string().max(255).optional(),
  author: z.string().max(255).optional(),
  /** Matches the message or the hash prefix. */
  q: z.string().max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type ListCommitsQuery = z.infer<typeof ListCommitsQuerySchema>;

export const TimelineQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  /** Exclusive upper bound; page backwards by passing the last item's `at`. */
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type TimelineQuery = z.infer<typeof TimelineQuerySchema>;

export type TimelineItem =
  ({ kind: 'task_event' } & TaskEvent) | ({ kind: 'commit'; at: string } & Commit);

export interface Timeline {
  agentId: string;
  items: TimelineItem[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextBefore: string | null;
}

export const VelocityQuerySchema = z.object({
  days: z.coerce
    .number()
    .int()
    .refine((d) => d === 7 || d === 30, { message: 'must be 7 or 30' })
    .default(7),
  agentId: z.uuid().optional(),
});
export type VelocityQuery = z.infer<typeof VelocityQuerySchema>;

export interface Velocity {
  days: number;
  /** One entry per UTC day, oldest first, including days with nothing completed. */
  points: Array<{ date: string; completed: number }>;
  total: number;
  averagePerDay: number;
}

export const ActivityStatsQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(365).default(30),
});
export type ActivityStatsQuery = z.infer<typeof ActivityStatsQuerySchema>;

export interface AgentActivityStats {
  agentId: string;
  agentName: string | null;
  tasksCompleted: number;
  tasksInProgress: number;
  tasksBlocked: number;
  taskEvents: number;
  commits: number;
  linesAdded: number;
  linesRemoved: number;
  filesChanged: number;
  lastActivityAt: string | null;
}

export interface ActivityStats {
  days: number;
  items: AgentActivityStats[];
}

/** `task-board.json`: a snapshot of a board imported as `created`/`updated` events. */
export const TaskBoardImportSchema = z.strictObject({
  agentId: z.uuid(),
  tasks: z
    .array(
      z.object({
        id: TaskIdSchema,
        title: z.string().trim().min(1).max(500),
        status: z.enum(TASK_STATUSES),
        assignee: z.string().trim().min(1).max(200).optional(),
      }),
    )
    .min(1)
    .max(MAX_EVENTS_PER_REQUEST),
});
export type TaskBoardImport = z.infer<typeof TaskBoardImportSchema>;

export interface TaskBoardImportResponse {
  created: number;
  updated: number;
  unchanged: number;
}
