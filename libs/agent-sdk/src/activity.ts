import type {
  CommitRequest,
  CommitsResponse,
  TaskEventRequest,
  TaskEventsResponse,
} from '@agent-monitor/contracts';
import { postJson, type FetchLike } from './errors.js';

export interface ActivityReporterOptions {
  baseUrl: string;
  /** The agent's id and its own key (from registration, e.g. `AgentClient.agentId/agentKey`). */
  agentId: string;
  agentKey: string;
  fetch?: FetchLike;
  requestTimeoutMs?: number;
}

/** Input of a commit as agents usually have it (`Date` or ISO time; counts default to 0). */
export type CommitInput = Omit<
  CommitRequest,
  'committedAt' | 'filesChanged' | 'linesAdded' | 'linesRemoved'
> & {
  committedAt: Date | string;
  filesChanged?: number;
  linesAdded?: number;
  linesRemoved?: number;
};

/**
 * Reports what a coding/AI agent does: task events (created, assigned, blocked, completed …)
 * move its cards on the dashboard's task board; commits feed the commit list and velocity.
 * Commits are idempotent by hash, so resending after a failure is safe.
 */
export class ActivityReporter {
  private readonly fetchFn: FetchLike;

  constructor(private readonly opts: ActivityReporterOptions) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  private url(path: string): string {
    return `${this.opts.baseUrl.replace(/\/+$/, '')}/api/v2/agents/${this.opts.agentId}${path}`;
  }

  /** One event or a batch (up to 500, all or nothing). */
  taskEvents(events: TaskEventRequest | TaskEventRequest[]): Promise<TaskEventsResponse> {
    const list = Array.isArray(events) ? events : [events];
    return postJson<TaskEventsResponse>(
      this.fetchFn,
      this.url('/events'),
      this.opts.agentKey,
      { events: list },
      this.opts.requestTimeoutMs ?? 10_000,
    );
  }

  /** Shorthand for a status change of one task. */
  task(
    type: TaskEventRequest['type'],
    taskId: string,
    extra: Omit<TaskEventRequest, 'type' | 'taskId'> = {},
  ): Promise<TaskEventsResponse> {
    return this.taskEvents({ type, taskId, ...extra });
  }

  /** Commits (up to 500); answers how many were new. */
  commits(commits: CommitInput | CommitInput[]): Promise<CommitsResponse> {
    const list = (Array.isArray(commits) ? commits : [commits]).map((c) => ({
      ...c,
      committedAt: c.committedAt instanceof Date ? c.committedAt.toISOString() : c.committedAt,
    }));
    return postJson<CommitsResponse>(
      this.fetchFn,
      this.url('/commits'),
      this.opts.agentKey,
      { commits: list },
      this.opts.requestTimeoutMs ?? 10_000,
    );
  }
}
