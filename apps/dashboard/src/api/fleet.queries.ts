import { queryOptions } from '@tanstack/react-query';
import type {
  Agent,
  AgentGroup,
  CreateAgentGroupRequest,
  ListAgentGroupsQuery,
  Page,
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
      queryFn: ({ signal }) => api.get<AgentGroup>(`/agent-groups/${id}`, undefined, signal),
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
