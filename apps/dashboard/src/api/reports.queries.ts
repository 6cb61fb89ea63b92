import { queryOptions } from '@tanstack/react-query';
import type {
  CreateReportScheduleRequest,
  Page,
  Report,
  ReportFormat,
  ReportSchedule,
  ReportScheduleRun,
  UpdateReportSchedule,
} from '@agent-monitor/contracts';
import { api, ApiError, buildUrl, refreshSession } from './client';
import { createQueryKeys } from './query-keys';
import { session } from './session';

export const reportsKeys = createQueryKeys('reports');

export interface ReportParams {
  from: string;
  to: string;
  /** `all`, `group:<id>` or comma-separated agent ids. */
  scope: string;
  environment?: string;
  region?: string;
}

export const reportsQueries = {
  preview: (p: ReportParams) =>
    queryOptions({
      queryKey: reportsKeys.key('preview', p),
      queryFn: ({ signal }) =>
        api.get<Report>('/reports/generate', { ...p, format: 'json' }, signal),
      staleTime: 30_000,
    }),
};

export const reportSchedulesKeys = createQueryKeys('report-schedules');

export const reportSchedulesQueries = {
  list: () =>
    queryOptions({
      queryKey: reportSchedulesKeys.list({}),
      queryFn: ({ signal }) =>
        api.get<Page<ReportSchedule>>('/report-schedules', { limit: 100 }, signal),
    }),
};

export const reportSchedulesApi = {
  create: (body: CreateReportScheduleRequest) =>
    api.post<ReportSchedule>('/report-schedules', body),
  update: (id: string, body: UpdateReportSchedule) =>
    api.patch<ReportSchedule>(`/report-schedules/${id}`, body),
  remove: (id: string) => api.delete(`/report-schedules/${id}`),
  runNow: (id: string) => api.post<ReportScheduleRun>(`/report-schedules/${id}/run`),
};

/**
 * Downloads the report as a file. A plain link cannot carry the bearer token, so the file is
 * fetched (refreshing the session once on 401) and handed to the browser as a blob.
 */
export async function downloadReport(p: ReportParams, format: ReportFormat): Promise<void> {
  const url = buildUrl('/reports/generate', { ...p, format });
  const get = () =>
    fetch(url, { headers: { Authorization: `Bearer ${session.getAccessToken() ?? ''}` } });
  let res = await get();
  if (res.status === 401 && (await refreshSession())) res = await get();
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string; error?: string };
    throw new ApiError(res.status, body.message ?? `HTTP ${res.status}`, body.error ?? '');
  }
  const blob = await res.blob();
  const name =
    /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ??
    `report.${format}`;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
