import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type {
  ActivityStats,
  ActivityUpdatedEvent,
  Commit,
  ListCommitsQuery,
  ListTasksQuery,
  Page,
  Task,
  Timeline,
  Velocity,
} from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const activityKeys = createQueryKeys('activity');

export type TaskListParams = Partial<ListTasksQuery>;
export type CommitListParams = Partial<ListCommitsQuery>;

export const activityQueries = {
  tasks: (params: TaskListParams = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: activityKeys.key('tasks', p),
      queryFn: ({ signal }) => api.get<Page<Task>>('/activity/tasks', p, signal),
    });
  },
  commits: (params: CommitListParams = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: activityKeys.key('commits', p),
      queryFn: ({ signal }) => api.get<Page<Commit>>('/activity/commits', p, signal),
      placeholderData: (prev) => prev,
    });
  },
  timeline: (agentId: string, limit = 100) =>
    queryOptions({
      queryKey: activityKeys.key('timeline', agentId, limit),
      queryFn: ({ signal }) =>
        api.get<Timeline>(`/activity/agents/${agentId}/timeline`, { limit }, signal),
    }),
  velocity: (days: 7 | 30, agentId?: string) =>
    queryOptions({
      queryKey: activityKeys.key('velocity', days, agentId ?? null),
      queryFn: ({ signal }) => api.get<Velocity>('/activity/velocity', { days, agentId }, signal),
    }),
  stats: (days: number) =>
    queryOptions({
      queryKey: activityKeys.key('stats', days),
      queryFn: ({ signal }) => api.get<ActivityStats>('/activity/stats', { days }, signal),
    }),
};

/**
 * Applies an `activity_updated` event: task rows in every cached board are replaced by the
 * event's current state (a card moves column at once); everything derived is refetched.
 */
export function applyActivityUpdate(qc: QueryClient, e: ActivityUpdatedEvent): void {
  if (e.tasks.length) {
    const changed = new Map(e.tasks.map((t) => [t.taskId, t]));
    qc.setQueriesData<Page<Task>>({ queryKey: activityKeys.key('tasks') }, (old) => {
      if (!old) return old;
      const seen = new Set<string>();
      const items = old.items.map((t) => {
        const n = changed.get(t.taskId);
        if (!n) return t;
        seen.add(t.taskId);
        return n;
      });
      const added = e.tasks.filter((t) => !seen.has(t.taskId));
      return { ...old, items: [...added, ...items], total: old.total + added.length };
    });
  }
  if (e.newCommits) void qc.invalidateQueries({ queryKey: activityKeys.key('commits') });
  void qc.invalidateQueries({ queryKey: activityKeys.key('velocity') });
  void qc.invalidateQueries({ queryKey: activityKeys.key('stats') });
  void qc.invalidateQueries({ queryKey: activityKeys.key('timeline', e.agentId) });
}
