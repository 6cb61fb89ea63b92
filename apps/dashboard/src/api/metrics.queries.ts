import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type {
  AgentSeriesList,
  DashboardMetrics,
  DashboardOverview,
  HistoricalSeries,
  MetricAgg,
  NewMetricsDataEvent,
  Timerange,
} from '@agent-monitor/contracts';
import { api } from './client';
import { createQueryKeys } from './query-keys';

export const metricsKeys = createQueryKeys('metrics');

/** A relative range (`15m` … `30d`) or a custom [from, to] in epoch ms. */
export type MetricRange =
  { kind: 'relative'; range: Timerange } | { kind: 'custom'; from: number; to: number };

export const RANGE_MS: Record<Timerange, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

const rangeKey = (r: MetricRange) => (r.kind === 'relative' ? r.range : `${r.from}-${r.to}`);

export const metricsQueries = {
  series: (agentId: string) =>
    queryOptions({
      queryKey: metricsKeys.key('series', agentId),
      queryFn: ({ signal }) =>
        api.get<AgentSeriesList>(`/metrics/series/${agentId}`, undefined, signal),
    }),
  /** Keyed [metrics, historical, agentId, metric, range, agg] so live events can patch by prefix. */
  historical: (agentId: string, metric: string, range: MetricRange, agg: MetricAgg) =>
    queryOptions({
      queryKey: metricsKeys.key('historical', agentId, metric, rangeKey(range), agg),
      queryFn: ({ signal }) => {
        const to = range.kind === 'relative' ? Date.now() : range.to;
        const from = range.kind === 'relative' ? to - RANGE_MS[range.range] : range.from;
        return api.get<HistoricalSeries>(
          `/metrics/historical/${agentId}`,
          { metric, from, to, agg, step: 'auto' },
          signal,
        );
      },
      placeholderData: (prev) => prev,
    }),
  overview: () =>
    queryOptions({
      queryKey: metricsKeys.key('overview'),
      queryFn: ({ signal }) => api.get<DashboardOverview>('/dashboard/overview', undefined, signal),
      refetchInterval: 15_000,
    }),
  fleet: (range: Timerange) =>
    queryOptions({
      queryKey: metricsKeys.key('fleet', range),
      queryFn: ({ signal }) =>
        api.get<DashboardMetrics>(`/dashboard/metrics/${range}`, undefined, signal),
      refetchInterval: 30_000,
    }),
};

/**
 * Appends a live `new_metrics_data` event to the cached relative-range histories of that agent
 * (custom ranges are fixed in time and left alone). The value lands in the last bucket when it
 * falls inside it, else as a new point; points older than the range fall off the front.
 */
export function appendLiveMetrics(qc: QueryClient, e: NewMetricsDataEvent): void {
  const at = Date.parse(e.at);
  for (const [metric, v] of Object.entries(e.values)) {
    const entries = qc.getQueriesData<HistoricalSeries>({
      queryKey: metricsKeys.key('historical', e.agentId, metric),
    });
    for (const [key, old] of entries) {
      const rk = key[4] as string;
      if (!old || !(rk in RANGE_MS)) continue;
      const step = Math.max(1, old.stepSec) * 1000;
      const bucket = Math.floor(at / step) * step;
      const points = old.points.slice();
      const last = points[points.length - 1];
      if (last && last.t === bucket) points[points.length - 1] = { t: bucket, v };
      else if (!last || last.t < bucket) points.push({ t: bucket, v });
      else continue;
      const cutoff = at - RANGE_MS[rk as Timerange];
      while (points.length && points[0].t < cutoff) points.shift();
      qc.setQueryData(key, { ...old, to: new Date(at).toISOString(), points });
    }
  }
}
