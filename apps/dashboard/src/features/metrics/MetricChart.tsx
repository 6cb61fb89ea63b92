import { useQueries } from '@tanstack/react-query';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import type { MetricAgg } from '@agent-monitor/contracts';
import { metricsQueries, type MetricRange } from '../../api/metrics.queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { CardSkeleton } from '../../components/Skeletons';
import { TimeSeriesChart, formatValue } from './TimeSeriesChart';

/** One chart of one or more series of an agent (e.g. network in + out, tokens per model). */
export function MetricChart({
  agentId,
  title,
  metrics,
  range,
  agg,
}: {
  agentId: string;
  title: string;
  /** query name → legend label */
  metrics: Array<{ name: string; label: string }>;
  range: MetricRange;
  agg: MetricAgg;
}) {
  const results = useQueries({
    queries: metrics.map((m) => metricsQueries.historical(agentId, m.name, range, agg)),
  });
  const first = results.find((r) => r.data)?.data;
  const error = results.find((r) => r.error)?.error;
  const latest = first?.points[first.points.length - 1];
  const slug = metrics[0]?.name.replace(/[^\w]+/g, '_') ?? 'chart';
  return (
    <Paper variant="outlined" sx={{ p: 1.5 }}>
      <Stack
        direction="row"
        sx={{ justifyContent: 'space-between', alignItems: 'baseline', mb: 1 }}
      >
        <Typography variant="subtitle2">{title}</Typography>
        {first && (
          <Typography variant="caption" color="text.secondary">
            {metrics.length === 1 && latest ? `${formatValue(latest.v, first.unit)} · ` : ''}
            {first.resolution === 'raw' ? 'raw' : `${first.resolution} rollup`}, {first.stepSec}s
            buckets
          </Typography>
        )}
      </Stack>
      {error && !first ? (
        <ErrorAlert error={error} />
      ) : !first ? (
        <CardSkeleton height={200} />
      ) : (
        <TimeSeriesChart
          testId={`metric-chart-${slug}`}
          unit={first.unit}
          from={Date.parse(first.from)}
          to={Math.max(
            Date.parse(first.to),
            ...results.map((r) => (r.data ? Date.parse(r.data.to) : 0)),
          )}
          series={metrics.map((m, i) => ({
            label: m.label,
            points: results[i]?.data?.points ?? [],
          }))}
        />
      )}
    </Paper>
  );
}
