import { queryOptions } from '@tanstack/react-query';
import type {
  AlertDetail,
  AlertInstance,
  AlertRule,
  AlertTestResult,
  ChannelTestResult,
  CreateAlertRuleInput,
  CreateEscalationPolicyInput,
  Delivery,
  EscalationPolicy,
  ListAlertsQuery,
  MaintenanceWindow,
  NotificationChannel,
  Page,
} from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const alertsKeys = createQueryKeys('alerts');
export const alertRulesKeys = createQueryKeys('alert-rules');
export const channelsKeys = createQueryKeys('notification-channels');
export const maintenanceKeys = createQueryKeys('maintenance-windows');
export const escalationPoliciesKeys = createQueryKeys('escalation-policies');

export interface AlertListParams {
  state?: string;
  severity?: string;
  page?: number;
  limit?: number;
  ruleId?: string;
}

export const alertQueries = {
  active: () =>
    queryOptions({
      queryKey: alertsKeys.key('active'),
      queryFn: ({ signal }) => api.get<AlertInstance[]>('/alerts/active', undefined, signal),
    }),
  list: (params: AlertListParams = {}) => {
    const p = cleanParams(params) as Partial<ListAlertsQuery> & Record<string, string | number>;
    return queryOptions({
      queryKey: alertsKeys.list(p),
      queryFn: ({ signal }) => api.get<Page<AlertInstance>>('/alerts', p, signal),
      placeholderData: (prev) => prev,
    });
  },
  detail: (id: string) =>
    queryOptions({
      queryKey: alertsKeys.detail(id),
      queryFn: ({ signal }) => api.get<AlertDetail>(`/alerts/${id}`, undefined, signal),
    }),
  rules: () =>
    queryOptions({
      queryKey: alertRulesKeys.list({}),
      queryFn: ({ signal }) => api.get<Page<AlertRule>>('/alerts/rules', { limit: 500 }, signal),
    }),
  channels: () =>
    queryOptions({
      queryKey: channelsKeys.list({}),
      queryFn: ({ signal }) =>
        api.get<Page<NotificationChannel>>('/notification-channels', { limit: 500 }, signal),
    }),
  deliveries: (channelId: string) =>
    queryOptions({
      queryKey: channelsKeys.key('deliveries', channelId),
      queryFn: ({ signal }) =>
        api.get<Page<Delivery>>(
          `/notification-channels/${channelId}/deliveries`,
          { limit: 50 },
          signal,
        ),
    }),
  escalationPolicies: () =>
    queryOptions({
      queryKey: escalationPoliciesKeys.list({}),
      queryFn: ({ signal }) =>
        api.get<Page<EscalationPolicy>>('/escalation-policies', { limit: 500 }, signal),
    }),
  maintenance: () =>
    queryOptions({
      queryKey: maintenanceKeys.list({}),
      queryFn: ({ signal }) =>
        api.get<Page<MaintenanceWindow>>('/maintenance-windows', { limit: 500 }, signal),
    }),
};

export const alertActions = {
  ack: (id: string, comment?: string) =>
    api.post<AlertDetail>(`/alerts/${id}/ack`, comment ? { comment } : {}),
  resolve: (id: string, comment?: string) =>
    api.post<AlertDetail>(`/alerts/${id}/resolve`, comment ? { comment } : {}),
  createRule: (body: CreateAlertRuleInput) => api.post<AlertRule>('/alerts/rules', body),
  updateRule: (id: string, body: Partial<CreateAlertRuleInput>) =>
    api.patch<AlertRule>(`/alerts/rules/${id}`, body),
  deleteRule: (id: string) => api.delete(`/alerts/rules/${id}`),
  createChannel: (body: unknown) => api.post<NotificationChannel>('/notification-channels', body),
  deleteChannel: (id: string) => api.delete(`/notification-channels/${id}`),
  testChannel: (id: string) => api.post<ChannelTestResult>(`/notification-channels/${id}/test`),
  createPolicy: (body: CreateEscalationPolicyInput) =>
    api.post<EscalationPolicy>('/escalation-policies', body),
  updatePolicy: (id: string, body: Partial<CreateEscalationPolicyInput>) =>
    api.patch<EscalationPolicy>(`/escalation-policies/${id}`, body),
  deletePolicy: (id: string) => api.delete(`/escalation-policies/${id}`),
  createWindow: (body: unknown) => api.post<MaintenanceWindow>('/maintenance-windows', body),
  deleteWindow: (id: string) => api.delete(`/maintenance-windows/${id}`),
  /** Backtest a rule draft over the last `hours` of stored history. */
  preview: (rule: { condition: unknown; forSec: number }, hours = 24) =>
    api.post<AlertTestResult>('/alerts/test', {
      rule,
      from: new Date(Date.now() - hours * 3_600_000).toISOString(),
      to: new Date().toISOString(),
    }),
};
