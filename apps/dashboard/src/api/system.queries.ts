import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type {
  SystemHealthResponse,
  SystemHealthSnapshot,
  SystemHealthUpdateEvent,
} from '@agent-monitor/contracts';
import { api } from './client';
import { createQueryKeys } from './query-keys';

export const systemKeys = createQueryKeys('system');

const MAX_HISTORY = 720;

export const systemQueries = {
  /** The monitor's own health: this instance now, every live instance, and `minutes` of history. */
  health: (minutes: number) =>
    queryOptions({
      queryKey: systemKeys.key('health', minutes),
      queryFn: ({ signal }) => api.get<SystemHealthResponse>('/system/health', { minutes }, signal),
      // Live snapshots arrive by socket; the refetch only catches up after a disconnect.
      refetchInterval: 120_000,
    }),
};

/** Appends a `system_health_update` to every cached health view (any `minutes`). */
export function applySystemHealthUpdate(qc: QueryClient, e: SystemHealthUpdateEvent): void {
  const { seq: _seq, ...rest } = e;
  const snap = rest as unknown as SystemHealthSnapshot;
  qc.setQueriesData<SystemHealthResponse>({ queryKey: systemKeys.key('health') }, (old) => {
    if (!old) return old;
    const cutoff = Date.parse(snap.at) - 7 * 86_400_000;
    return {
      ...old,
      current: old.current.instance === snap.instance ? snap : old.current,
      instances: [...old.instances.filter((i) => i.instance !== snap.instance), snap].sort((a, b) =>
        a.instance.localeCompare(b.instance),
      ),
      history: [...old.history, snap].filter((h) => Date.parse(h.at) >= cutoff).slice(-MAX_HISTORY),
    };
  });
}
