import {
  TASK_STATUS_AFTER_EVENT,
  type TaskEventType,
  type TaskStatus,
} from '@agent-monitor/contracts';

export interface TaskState {
  taskId: string;
  title: string | null;
  status: TaskStatus;
  assignee: string | null;
  agentId: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  eventCount: number;
}

export interface FoldableEvent {
  agentId: string;
  type: TaskEventType;
  title: string | null;
  statusAfter: TaskStatus | null;
  assignee: string | null;
  at: Date;
}

/**
 * Applies events (any order) to a task's current state. The newest event decides status,
 * assignee and agent; an event older than the state only fills blanks (title) and counts, so
 * events that arrive late or out of order never move a card backwards.
 */
export function foldTaskEvents(
  taskId: string,
  current: TaskState | null,
  events: FoldableEvent[],
): TaskState {
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  let s: TaskState = current ?? {
    taskId,
    title: null,
    status: 'todo',
    assignee: null,
    agentId: null,
    createdAt: sorted[0]?.at ?? new Date(),
    updatedAt: new Date(0),
    completedAt: null,
    eventCount: 0,
  };
  for (const e of sorted) {
    s = { ...s, eventCount: s.eventCount + 1 };
    if (e.at < s.createdAt) s.createdAt = e.at;
    if (e.at.getTime() >= s.updatedAt.getTime()) {
      const wasDone = s.status === 'done' && s.completedAt !== null;
      const status = e.statusAfter ?? TASK_STATUS_AFTER_EVENT[e.type] ?? s.status;
      s.status = status;
      s.title = e.title ?? s.title;
      s.assignee = e.assignee ?? s.assignee;
      s.agentId = e.agentId;
      s.updatedAt = e.at;
      // A task completed twice keeps its first completion; reopening clears it.
      if (status !== 'done') s.completedAt = null;
      else if (!wasDone) s.completedAt = e.at;
    } else {
      s.title ??= e.title;
      s.assignee ??= e.assignee;
    }
  }
  return s;
}
