import { queryOptions } from '@tanstack/react-query';
import type {
  Agent,
  AgentGroup,
  AgentGroupDetail,
  CreateAgentGroupRequest,
  DependencyGraph,
  GroupConfig,
  ListAgentGroupsQuery,
  Page,
  PutGroupConfigRequest,
  PutGroupConfigResponse,
  Rollout,
  UpdateAgentGroupRequest,
} from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const groupsKeys = createQueryKeys('agent-groups');

export const groupsQueries = {
  list: (params: Partial<ListAgentGroupsQuery> = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: groupsKeys.list(p),
      queryFn: ({ signal }) => api.get<Page<AgentGroup>>('/agent-groups', p, signal),
    });
  },
  detail: (id: string) =>
    queryOptions({
      queryKey: groupsKeys.detail(id),
      queryFn: ({ signal }) => api.get<AgentGroupDetail>(`/agent-groups/${id}`, undefined, signal),
    }),
  members: (id: string, page = 1, limit = 100) =>
    queryOptions({
      queryKey: groupsKeys.key('members', id, page, limit),
      queryFn: ({ signal }) =>
        api.get<Page<Agent>>(`/agent-groups/${id}/agents`, { page, limit }, signal),
    }),
};

export const groupsApi = {
  create: (body: CreateAgentGroupRequest) => api.post<AgentGroup>('/agent-groups', body),
  update: (id: string, body: UpdateAgentGroupRequest) =>
    api.patch<AgentGroup>(`/agent-groups/${id}`, body),
  remove: (id: string) => api.delete(`/agent-groups/${id}`),
};

export const rolloutsKeys = createQueryKeys('rollouts');

export const rolloutsQueries = {
  /** The latest rollouts of a group, newest first. */
  ofGroup: (groupId: string, limit = 5) =>
    queryOptions({
      queryKey: rolloutsKeys.list({ groupId, limit }),
      queryFn: ({ signal }) => api.get<Page<Rollout>>('/rollouts', { groupId, limit }, signal),
    }),
  groupConfig: (groupId: string) =>
    queryOptions({
      queryKey: groupsKeys.key('config', groupId),
      queryFn: ({ signal }) =>
        api.get<GroupConfig>(`/agent-groups/${groupId}/config`, undefined, signal),
      retry: false,
    }),
};

export const rolloutsApi = {
  putConfig: (groupId: string, body: PutGroupConfigRequest) =>
    api.put<PutGroupConfigResponse>(`/agent-groups/${groupId}/config`, body),
  pause: (id: string) => api.post<Rollout>(`/rollouts/${id}/pause`),
  resume: (id: string) => api.post<Rollout>(`/rollouts/${id}/resume`),
  abort: (id: string) => api.post<Rollout>(`/rollouts/${id}/abort`),
};

export const dependencyQueries = {
  graph: () =>
    queryOptions({
      queryKey: ['dependencies', 'graph'] as const,
      queryFn: ({ signal }) => api.get<DependencyGraph>('/dependencies', undefined, signal),
    }),
};
