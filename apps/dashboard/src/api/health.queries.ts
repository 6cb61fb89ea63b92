import { queryOptions } from '@tanstack/react-query';
import type { HealthStatus } from '@agent-monitor/contracts';
import { apiRequest } from './client';
import { createQueryKeys } from './query-keys';

export const healthKeys = createQueryKeys('health');

export const healthQueries = {
  /** Readiness (database reachable), public: no token needed. */
  ready: () =>
    queryOptions({
      queryKey: healthKeys.key('ready'),
      queryFn: ({ signal }) => apiRequest<HealthStatus>('/health/ready', { auth: false, signal }),
      refetchInterval: 30_000,
    }),
};
