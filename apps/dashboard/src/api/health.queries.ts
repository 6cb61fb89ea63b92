import { queryOptions } from '@tanstack/react-query';
import type { HealthStatus } from '@agent-monitor/contracts';
import { apiRequest } from './client';
import { createQueryKeys } from './query-keys';

export const healthKeys = createQueryKeys('health');

export const healthQueries = {
  /** Liveness with version and uptime; public, no token. */
  live: () =>
    queryOptions({
      queryKey: healthKeys.key('live'),
      queryFn: ({ signal }) => apiRequest<HealthStatus>('/health', { auth: false, signal }),
      refetchInterval: 60_000,
    }),
  /** Readiness (database reachable); a 503 surfaces as an ApiError. */
  ready: () =>
    queryOptions({
      queryKey: healthKeys.key('ready'),
      queryFn: ({ signal }) =>
        apiRequest<{ status: 'ok' | 'error' }>('/health/ready', { auth: false, signal }),
      refetchInterval: 30_000,
      retry: false,
    }),
};
