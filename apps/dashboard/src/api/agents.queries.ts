import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type {
  AgentConfigResponse,
  AgentDetail,
  AgentList,
  AgentStatusChangedEvent,
  AgentStatusHistoryEntry,
  Page,
  PutAgentConfigRequest,
  UpdateAgentRequest,
} from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const agentsKeys = createQueryKeys('agents');

/** The list filters, as the URL and the API take them. */
export interface AgentListParams {
  status?: string;
  type?: string;
  environment?: string;
  /** `metadata.region`; comma-separated for several. */
  region?: string;
  /** Group id (members include those of child groups). */
  group?: string;
  tag?: string[];
  q?: string;
  sort?: string;
  page?: number;
  limit?: number;
}

export const agentsQueries = {
  list: (params: AgentListParams) => {
    const p = cleanParams({ ...params, tag: params.tag?.length ? params.tag : undefined });
    return queryOptions({
      queryKey: agentsKeys.list(p),
      queryFn: ({ signal }) => api.get<AgentList>('/agents', p, signal),
      placeholderData: (prev) => prev,
    });
  },
  detail: (id: string) =>
    queryOptions({
      queryKey: agentsKeys.detail(id),
      queryFn: ({ signal }) => api.get<AgentDetail>(`/agents/${id}`, undefined, signal),
    }),
  config: (id: string) =>
    queryOptions({
      queryKey: agentsKeys.key('config', id),
      queryFn: ({ signal }) =>
        api.get<AgentConfigResponse>(`/agents/${id}/config`, undefined, signal),
    }),
  history: (id: string, limit = 50) =>
    queryOptions({
      queryKey: agentsKeys.key('history', id, limit),
      queryFn: ({ signal }) =>
        api.get<Page<AgentStatusHistoryEntry>>(`/agents/${id}/status-history`, { limit }, signal),
    }),
};

export const agentsApi = {
  update: (id: string, body: UpdateAgentRequest) => api.patch<AgentDetail>(`/agents/${id}`, body),
  putConfig: (id: string, body: PutAgentConfigRequest) =>
    api.put<AgentConfigResponse>(`/agents/${id}/config`, body),
  remove: (id: string) => api.delete(`/agents/${id}`),
};

/**
 * Applies a batch of status changes to every cached agent list and detail in one pass (the
 * socket handler collects events and calls this a few times a second, so 10,000 agents
 * flapping do not re-render per event). Counts per status move with the agents shown.
 */
export function applyStatusChanges(qc: QueryClient, events: AgentStatusChangedEvent[]): void {
  if (!events.length) return;
  const latest = new Map<string, AgentStatusChangedEvent>();
  for (const e of events) latest.set(e.agentId, e);
  qc.setQueriesData<AgentList>({ queryKey: agentsKeys.lists() }, (old) => {
    if (!old) return old;
    let changed = false;
    const counts = { ...old.statusCounts };
    const items = old.items.map((a) => {
      const e = latest.get(a.id);
      if (!e || e.status === a.status) return a;
      changed = true;
      counts[a.status] = Math.max(0, (counts[a.status] ?? 0) - 1);
      counts[e.status] = (counts[e.status] ?? 0) + 1;
      return {
        ...a,
        status: e.status,
        statusChangedAt: e.at,
        lastHeartbeat: e.reason === 'heartbeat' ? e.at : a.lastHeartbeat,
      };
    });
    return changed ? { ...old, items, statusCounts: counts } : old;
  });
  for (const e of latest.values()) {
    qc.setQueryData<AgentDetail>(agentsKeys.detail(e.agentId), (old) =>
      old ? { ...old, status: e.status, statusChangedAt: e.at } : old,
    );
    void qc.invalidateQueries({ queryKey: agentsKeys.key('history', e.agentId) });
  }
}
