import { Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  ActivityStats,
  AgentActivityStats,
  Commit,
  CommitRequest,
  CommitsResponse,
  ListCommitsQuery,
  ListTasksQuery,
  Page,
  Task,
  TaskBoardImport,
  TaskBoardImportResponse,
  TaskEvent,
  TaskEventRequest,
  TaskEventsResponse,
  TaskEventType,
  TaskStatus,
  Timeline,
  TimelineItem,
  TimelineQuery,
  Velocity,
  VelocityQuery,
} from '@agent-monitor/contracts';
import { notFound } from '../../common/errors.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { foldTaskEvents, type FoldableEvent, type TaskState } from './task-fold.js';

interface TaskRow {
  task_id: string;
  title: string | null;
  status: TaskStatus;
  assignee: string | null;
  agent_id: string | null;
  agent_name?: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  event_count: number;
}

interface CommitRow {
  hash: string;
  agent_id: string;
  agent_name: string | null;
  branch: string;
  author: string;
  message: string;
  files_changed: number;
  lines_added: number;
  lines_removed: number;
  committed_at: Date;
}

interface EventRow {
  id: string;
  agent_id: string;
  task_id: string;
  type: TaskEventType;
  title: string | null;
  status_before: TaskStatus | null;
  status_after: TaskStatus | null;
  assignee: string | null;
  details: Record<string, unknown> | null;
  at: Date;
}

const iso = (d: Date | string | null): string | null =>
  d === null ? null : (d instanceof Date ? d : new Date(d)).toISOString();

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Coordination activity: task events fold into one board row per task (in the same
 * transaction as the events), commits are stored once per hash. Writes are multi-row
 * `unnest()` inserts; agents batch their events and commits.
 */
@Injectable()
export class ActivityService {
  private readonly logger = new Logger(ActivityService.name);

  constructor(
    private readonly db: DataSource,
    @Optional() private readonly realtime?: RealtimePublisher,
  ) {}

  async recordEvents(agentId: string, events: TaskEventRequest[]): Promise<TaskEventsResponse> {
    const now = new Date();
    const rows = events.map((e) => ({
      ...e,
      atDate: e.at ? new Date(e.at) : now,
    }));
    const changed = await this.db.transaction(async (m) => {
      await this.lockAgent(m, agentId);
      await m.query(
        `INSERT INTO activity_task_events
           (agent_id, task_id, type, title, status_before, status_after, assignee, details, at)
         SELECT $1, t.task_id, t.type, t.title, t.status_before, t.status_after, t.assignee, t.details, t.at
           FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                       $7::varchar[], $8::jsonb[], $9::timestamptz[])
             AS t(task_id, type, title, status_before, status_after, assignee, details, at)`,
        [
          agentId,
          rows.map((r) => r.taskId),
          rows.map((r) => r.type),
          rows.map((r) => r.title ?? null),
          rows.map((r) => r.statusBefore ?? null),
          rows.map((r) => r.statusAfter ?? null),
          rows.map((r) => r.assignee ?? null),
          rows.map((r) => (r.details ? JSON.stringify(r.details) : null)),
          rows.map((r) => r.atDate.toISOString()),
        ],
      );
      const byTask = new Map<string, FoldableEvent[]>();
      for (const r of rows) {
        const list = byTask.get(r.taskId) ?? [];
        list.push({
          agentId,
          type: r.type,
          title: r.title ?? null,
          statusAfter: r.statusAfter ?? null,
          assignee: r.assignee ?? null,
          at: r.atDate,
        });
        byTask.set(r.taskId, list);
      }
      return this.applyToBoard(m, byTask);
    });
    this.publish(agentId, changed, 0);
    return { received: events.length };
  }

  /** Folds events into `activity_tasks`, locking rows in task-id order (no deadlocks). */
  private async applyToBoard(
    m: EntityManager,
    byTask: Map<string, FoldableEvent[]>,
  ): Promise<string[]> {
    const ids = [...byTask.keys()].sort();
    // Placeholder rows first, so that two requests about the same new task serialise on the
    // row lock below instead of both folding from nothing and one overwriting the other.
    await m.query(
      `INSERT INTO activity_tasks (task_id, status, created_at, updated_at, event_count)
       SELECT t.id, 'todo', t.at, 'epoch', 0
         FROM unnest($1::varchar[], $2::timestamptz[]) AS t(id, at)
        ORDER BY t.id
       ON CONFLICT (task_id) DO NOTHING`,
      [
        ids,
        ids.map((id) =>
          new Date(Math.min(...(byTask.get(id) ?? []).map((e) => e.at.getTime()))).toISOString(),
        ),
      ],
    );
    const existing: TaskRow[] = await m.query(
      `SELECT * FROM activity_tasks WHERE task_id = ANY($1::varchar[]) ORDER BY task_id FOR UPDATE`,
      [ids],
    );
    const current = new Map(existing.map((r) => [r.task_id, rowToState(r)]));
    const next: TaskState[] = ids.map((id) =>
      foldTaskEvents(id, current.get(id) ?? null, byTask.get(id) ?? []),
    );
    await m.query(
      `INSERT INTO activity_tasks
         (task_id, title, status, assignee, agent_id, created_at, updated_at, completed_at, event_count)
       SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::uuid[],
                            $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::int[])
       ON CONFLICT (task_id) DO UPDATE SET
         title = EXCLUDED.title, status = EXCLUDED.status, assignee = EXCLUDED.assignee,
         agent_id = EXCLUDED.agent_id, created_at = EXCLUDED.created_at,
         updated_at = EXCLUDED.updated_at, completed_at = EXCLUDED.completed_at,
         event_count = EXCLUDED.event_count`,
      [
        next.map((s) => s.taskId),
        next.map((s) => s.title),
        next.map((s) => s.status),
        next.map((s) => s.assignee),
        next.map((s) => s.agentId),
        next.map((s) => s.createdAt.toISOString()),
        next.map((s) => s.updatedAt.toISOString()),
        next.map((s) => s.completedAt?.toISOString() ?? null),
        next.map((s) => s.eventCount),
      ],
    );
    return ids;
  }

  async recordCommits(agentId: string, commits: CommitRequest[]): Promise<CommitsResponse> {
    // The same hash twice in one request is stored once (the first wins).
    const seen = new Set<string>();
    const rows = commits.filter((c) => !seen.has(c.hash) && seen.add(c.hash));
    const inserted = await this.db.transaction(async (m) => {
      await this.lockAgent(m, agentId);
      const res: Array<{ hash: string }> = await m.query(
        `INSERT INTO activity_commits
           (hash, agent_id, branch, author, message, files_changed, lines_added, lines_removed, committed_at)
         SELECT t.hash, $1, t.branch, t.author, t.message, t.files, t.added, t.removed, t.at
           FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], $5::text[], $6::int[], $7::int[],
                       $8::int[], $9::timestamptz[])
             AS t(hash, branch, author, message, files, added, removed, at)
         ON CONFLICT (hash) DO NOTHING
         RETURNING hash`,
        [
          agentId,
          rows.map((c) => c.hash),
          rows.map((c) => c.branch),
          rows.map((c) => c.author),
          rows.map((c) => c.message),
          rows.map((c) => c.filesChanged),
          rows.map((c) => c.linesAdded),
          rows.map((c) => c.linesRemoved),
          rows.map((c) => new Date(c.committedAt).toISOString()),
        ],
      );
      return res.length;
    });
    if (inserted > 0) this.publish(agentId, [], inserted);
    return { received: commits.length, inserted, duplicates: commits.length - inserted };
  }

  /** Imports a `task-board.json` snapshot as events from one agent; unchanged tasks are skipped. */
  async importBoard(input: TaskBoardImport): Promise<TaskBoardImportResponse> {
    const ids = input.tasks.map((t) => t.id);
    const existing: TaskRow[] = await this.db.query(
      `SELECT * FROM activity_tasks WHERE task_id = ANY($1::varchar[])`,
      [ids],
    );
    const known = new Map(existing.map((r) => [r.task_id, r]));
    const events: TaskEventRequest[] = [];
    let created = 0;
    let updated = 0;
    let unchanged = 0;
    for (const t of input.tasks) {
      const cur = known.get(t.id);
      if (!cur) {
        created++;
        events.push({
          type: 'created',
          taskId: t.id,
          title: t.title,
          statusAfter: t.status,
          assignee: t.assignee,
          details: { source: 'task-board.json' },
        });
      } else if (
        cur.status !== t.status ||
        cur.title !== t.title ||
        (t.assignee && cur.assignee !== t.assignee)
      ) {
        updated++;
        events.push({
          type: t.status === 'done' ? 'completed' : t.status === 'blocked' ? 'blocked' : 'updated',
          taskId: t.id,
          title: t.title,
          statusBefore: cur.status,
          statusAfter: t.status,
          assignee: t.assignee,
          details: { source: 'task-board.json' },
        });
      } else unchanged++;
    }
    if (events.length) await this.recordEvents(input.agentId, events);
    return { created, updated, unchanged };
  }

  async listTasks(q: ListTasksQuery): Promise<Page<Task>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.status) where.push(`t.status = $${params.push(q.status)}`);
    if (q.agentId) where.push(`t.agent_id = $${params.push(q.agentId)}`);
    if (q.q) {
      const i = params.push(`%${escapeLike(q.q)}%`);
      where.push(`(t.title ILIKE $${i} OR t.task_id ILIKE $${i})`);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.db.query(
      `SELECT count(*)::int AS total FROM activity_tasks t ${w}`,
      params,
    );
    const rows: TaskRow[] = await this.db.query(
      `SELECT t.*, a.name AS agent_name FROM activity_tasks t
         LEFT JOIN agents a ON a.id = t.agent_id
        ${w} ORDER BY t.updated_at DESC, t.task_id
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    return { items: rows.map(toTask), total, page: q.page, limit: q.limit };
  }

  async getTask(taskId: string): Promise<Task & { events: TaskEvent[] }> {
    const rows: TaskRow[] = await this.db.query(
      `SELECT t.*, a.name AS agent_name FROM activity_tasks t
         LEFT JOIN agents a ON a.id = t.agent_id WHERE t.task_id = $1`,
      [taskId],
    );
    if (!rows[0]) throw notFound('Task', taskId);
    const events: EventRow[] = await this.db.query(
      `SELECT * FROM activity_task_events WHERE task_id = $1 ORDER BY at, id LIMIT 1000`,
      [taskId],
    );
    return { ...toTask(rows[0]), events: events.map(toEvent) };
  }

  async listCommits(q: ListCommitsQuery): Promise<Page<Commit>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.agentId) where.push(`c.agent_id = $${params.push(q.agentId)}`);
    if (q.branch) where.push(`c.branch = $${params.push(q.branch)}`);
    if (q.author) where.push(`c.author ILIKE $${params.push(`%${escapeLike(q.author)}%`)}`);
    if (q.q) {
      const i = params.push(`%${escapeLike(q.q)}%`);
      const h = params.push(`${escapeLike(q.q.toLowerCase())}%`);
      where.push(`(c.message ILIKE $${i} OR c.hash LIKE $${h})`);
    }
    if (q.from) where.push(`c.committed_at >= $${params.push(q.from)}`);
    if (q.to) where.push(`c.committed_at < $${params.push(q.to)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.db.query(
      `SELECT count(*)::int AS total FROM activity_commits c ${w}`,
      params,
    );
    const rows: CommitRow[] = await this.db.query(
      `SELECT c.*, a.name AS agent_name FROM activity_commits c
         LEFT JOIN agents a ON a.id = c.agent_id
        ${w} ORDER BY c.committed_at DESC, c.hash
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    return { items: rows.map(toCommit), total, page: q.page, limit: q.limit };
  }

  async timeline(agentId: string, q: TimelineQuery): Promise<Timeline> {
    const agent: Array<{ name: string }> = await this.db.query(
      `SELECT name FROM agents WHERE id = $1`,
      [agentId],
    );
    if (!agent[0]) throw notFound('Agent', agentId);
    const params: unknown[] = [agentId];
    const evw: string[] = ['e.agent_id = $1'];
    const cmw: string[] = ['c.agent_id = $1'];
    if (q.from) {
      const i = params.push(q.from);
      evw.push(`e.at >= $${i}`);
      cmw.push(`c.committed_at >= $${i}`);
    }
    if (q.before) {
      const i = params.push(q.before);
      evw.push(`e.at < $${i}`);
      cmw.push(`c.committed_at < $${i}`);
    }
    const lim = params.push(q.limit);
    const rows: Array<{ kind: 'task_event' | 'commit'; at: Date; row: Record<string, unknown> }> =
      await this.db.query(
        `(SELECT 'task_event' AS kind, e.at, to_jsonb(e) AS row FROM activity_task_events e
           WHERE ${evw.join(' AND ')} ORDER BY e.at DESC LIMIT $${lim})
         UNION ALL
         (SELECT 'commit' AS kind, c.committed_at AS at, to_jsonb(c) AS row FROM activity_commits c
           WHERE ${cmw.join(' AND ')} ORDER BY c.committed_at DESC LIMIT $${lim})
         ORDER BY at DESC LIMIT $${lim}`,
        params,
      );
    const items: TimelineItem[] = rows.map((r) => {
      if (r.kind === 'task_event') {
        const e = r.row as unknown as EventRow;
        return { kind: 'task_event', ...toEvent({ ...e, at: new Date(e.at) }) };
      }
      const c = r.row as unknown as CommitRow;
      const commit = toCommit({
        ...c,
        agent_name: agent[0].name,
        committed_at: new Date(c.committed_at),
      });
      return { kind: 'commit', at: commit.committedAt, ...commit };
    });
    return {
      agentId,
      items,
      nextBefore: items.length === q.limit ? items[items.length - 1].at : null,
    };
  }

  /**
   * Completed tasks per UTC day over the last `days` days (today included): distinct tasks
   * with a `completed` event or an event whose status after is `done`, on that day.
   */
  async velocity(q: VelocityQuery): Promise<Velocity> {
    const params: unknown[] = [q.days];
    const agentFilter = q.agentId ? `AND e.agent_id = $${params.push(q.agentId)}` : '';
    const rows: Array<{ day: string; completed: number }> = await this.db.query(
      `WITH days AS (
         SELECT generate_series((now() AT TIME ZONE 'UTC')::date - ($1::int - 1),
                                (now() AT TIME ZONE 'UTC')::date, interval '1 day')::date AS day)
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day, count(DISTINCT e.task_id)::int AS completed
         FROM days d
         LEFT JOIN activity_task_events e
           ON e.at >= d.day::timestamp AT TIME ZONE 'UTC'
          AND e.at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
          AND (e.type = 'completed' OR e.status_after = 'done') ${agentFilter}
        GROUP BY d.day ORDER BY d.day`,
      params,
    );
    const points = rows.map((r) => ({ date: r.day, completed: r.completed }));
    const total = points.reduce((s, p) => s + p.completed, 0);
    return {
      days: q.days,
      points,
      total,
      averagePerDay: Math.round((total / q.days) * 100) / 100,
    };
  }

  async stats(days: number): Promise<ActivityStats> {
    const since = new Date(Date.now() - days * 86_400_000).toISOString();
    const rows: Array<{
      agent_id: string;
      agent_name: string | null;
      task_events: number;
      tasks_completed: number;
      tasks_in_progress: number;
      tasks_blocked: number;
      commits: number;
      lines_added: string;
      lines_removed: string;
      files_changed: string;
      last_event: Date | null;
      last_commit: Date | null;
    }> = await this.db.query(
      `WITH ev AS (
         SELECT agent_id, count(*)::int AS task_events,
                count(DISTINCT task_id) FILTER (WHERE type = 'completed' OR status_after = 'done')::int
                  AS tasks_completed,
                max(at) AS last_event
           FROM activity_task_events WHERE at >= $1 GROUP BY agent_id),
       cm AS (
         SELECT agent_id, count(*)::int AS commits, sum(lines_added) AS lines_added,
                sum(lines_removed) AS lines_removed, sum(files_changed) AS files_changed,
                max(committed_at) AS last_commit
           FROM activity_commits WHERE committed_at >= $1 GROUP BY agent_id),
       tk AS (
         SELECT agent_id, count(*) FILTER (WHERE status = 'in_progress')::int AS tasks_in_progress,
                count(*) FILTER (WHERE status = 'blocked')::int AS tasks_blocked
           FROM activity_tasks WHERE agent_id IS NOT NULL GROUP BY agent_id),
       ids AS (SELECT agent_id FROM ev UNION SELECT agent_id FROM cm UNION SELECT agent_id FROM tk)
       SELECT ids.agent_id, a.name AS agent_name,
              coalesce(ev.task_events, 0) AS task_events, coalesce(ev.tasks_completed, 0) AS tasks_completed,
              coalesce(tk.tasks_in_progress, 0) AS tasks_in_progress,
              coalesce(tk.tasks_blocked, 0) AS tasks_blocked, coalesce(cm.commits, 0) AS commits,
              coalesce(cm.lines_added, 0) AS lines_added, coalesce(cm.lines_removed, 0) AS lines_removed,
              coalesce(cm.files_changed, 0) AS files_changed, ev.last_event, cm.last_commit
         FROM ids
         LEFT JOIN ev ON ev.agent_id = ids.agent_id
         LEFT JOIN cm ON cm.agent_id = ids.agent_id
         LEFT JOIN tk ON tk.agent_id = ids.agent_id
         LEFT JOIN agents a ON a.id = ids.agent_id
        ORDER BY tasks_completed DESC, commits DESC, a.name`,
      [since],
    );
    const items: AgentActivityStats[] = rows.map((r) => {
      const last = [r.last_event, r.last_commit]
        .filter((d): d is Date => d !== null)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      return {
        agentId: r.agent_id,
        agentName: r.agent_name,
        tasksCompleted: r.tasks_completed,
        tasksInProgress: r.tasks_in_progress,
        tasksBlocked: r.tasks_blocked,
        taskEvents: r.task_events,
        commits: r.commits,
        linesAdded: Number(r.lines_added),
        linesRemoved: Number(r.lines_removed),
        filesChanged: Number(r.files_changed),
        lastActivityAt: last ? last.toISOString() : null,
      };
    });
    return { days, items };
  }

  /**
   * The agent must exist (and not be deleted). `FOR KEY SHARE` keeps it from being deleted
   * while this transaction inserts rows that point at it.
   */
  private async lockAgent(m: EntityManager, agentId: string): Promise<void> {
    const rows: unknown[] = await m.query(
      `SELECT 1 FROM agents WHERE id = $1 AND deleted_at IS NULL FOR KEY SHARE`,
      [agentId],
    );
    if (!rows.length) throw notFound('Agent', agentId);
  }

  private publish(agentId: string, taskIds: string[], newCommits: number): void {
    if (!this.realtime || (!taskIds.length && !newCommits)) return;
    const realtime = this.realtime;
    void (async () => {
      const rows: TaskRow[] = taskIds.length
        ? await this.db.query(
            `SELECT t.*, a.name AS agent_name FROM activity_tasks t
               LEFT JOIN agents a ON a.id = t.agent_id WHERE t.task_id = ANY($1::varchar[])`,
            [taskIds.slice(0, 500)],
          )
        : [];
      realtime.publish('activity_updated', {
        agentId,
        at: new Date().toISOString(),
        tasks: rows.map(toTask),
        newCommits,
      });
    })().catch((e: unknown) => this.logger.warn(`activity_updated not sent: ${String(e)}`));
  }
}

function rowToState(r: TaskRow): TaskState {
  return {
    taskId: r.task_id,
    title: r.title,
    status: r.status,
    assignee: r.assignee,
    agentId: r.agent_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
    eventCount: r.event_count,
  };
}

function toTask(r: TaskRow): Task {
  return {
    taskId: r.task_id,
    title: r.title,
    status: r.status,
    assignee: r.assignee,
    agentId: r.agent_id,
    agentName: r.agent_name ?? null,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    completedAt: iso(r.completed_at),
    eventCount: r.event_count,
  };
}

function toEvent(r: EventRow): TaskEvent {
  return {
    id: String(r.id),
    agentId: r.agent_id,
    taskId: r.task_id,
    type: r.type,
    title: r.title,
    statusBefore: r.status_before,
    statusAfter: r.status_after,
    assignee: r.assignee,
    details: r.details,
    at: iso(r.at)!,
  };
}

function toCommit(r: CommitRow): Commit {
  return {
    hash: r.hash,
    agentId: r.agent_id,
    agentName: r.agent_name,
    branch: r.branch,
    author: r.author,
    message: r.message,
    filesChanged: r.files_changed,
    linesAdded: r.lines_added,
    linesRemoved: r.lines_removed,
    committedAt: iso(r.committed_at)!,
  };
}
