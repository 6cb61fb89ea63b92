import { queryOptions } from '@tanstack/react-query';
import type { ApiKey, CreateApiKeyRequest, CreatedApiKey, Page } from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const apiKeysKeys = createQueryKeys('api-keys');

export interface ApiKeysListParams {
  page?: number;
  limit?: number;
  /** Substring of the name or the prefix. */
  q?: string;
  /** 'false' hides revoked keys; omitted lists all. */
  revoked?: 'true' | 'false';
  agentId?: string;
}

/** The API answers a page envelope; an array (older servers) is wrapped into one. */
function asPage<T>(body: Page<T> | T[]): Page<T> {
  return Array.isArray(body)
    ? { items: body, total: body.length, page: 1, limit: body.length }
    : body;
}

export const apiKeysQueries = {
  list: (params: ApiKeysListParams = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: apiKeysKeys.list(p),
      queryFn: async ({ signal }) =>
        asPage(await api.get<Page<ApiKey> | ApiKey[]>('/api-keys', p, signal)),
      placeholderData: (prev) => prev,
    });
  },
};

export const apiKeysApi = {
  create: (body: CreateApiKeyRequest) => api.post<CreatedApiKey>('/api-keys', body),
  revoke: (id: string) => api.delete(`/api-keys/${encodeURIComponent(id)}`),
};
