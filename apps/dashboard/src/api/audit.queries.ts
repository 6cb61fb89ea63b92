import { queryOptions } from '@tanstack/react-query';
import type { AuditLogEntry, ListAuditLogsQuery, Page } from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const auditKeys = createQueryKeys('audit-logs');

export type AuditListParams = Partial<ListAuditLogsQuery>;

export const auditQueries = {
  list: (params: AuditListParams = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: auditKeys.list(p),
      queryFn: ({ signal }) => api.get<Page<AuditLogEntry>>('/audit-logs', p, signal),
      placeholderData: (prev) => prev,
    });
  },
};
