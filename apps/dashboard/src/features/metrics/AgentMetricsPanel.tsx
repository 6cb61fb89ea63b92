import { useMemo, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Grid from '@mui/material/Grid';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import {
  METRIC_AGGS,
  TIMERANGES,
  type MetricAgg,
  type MetricSeriesInfo,
  type Timerange,
} from '@agent-monitor/contracts';
import {
  appendLiveMetrics,
  metricsKeys,
  metricsQueries,
  type MetricRange,
} from '../../api/metrics.queries';
import { useAgentRoom, useSocketEvent } from '../../api/socket';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { CardSkeleton } from '../../components/Skeletons';
import { MetricChart } from './MetricChart';

const SYSTEM: Array<{ title: string; names: string[] }> = [
  { title: 'CPU', names: ['cpu_usage'] },
  { title: 'Memory', names: ['memory_usage'] },
  { title: 'Disk', names: ['disk_usage'] },
  { title: 'Network', names: ['network_in', 'network_out', 'network_io'] },
];
const AI_FIELDS: Array<{ field: string; title: string }> = [
  { field: 'inference_time', title: 'Inference time' },
  { field: 'tokens', title: 'Tokens' },
  { field: 'tokens_used', title: 'Tokens' },
  { field: 'cost', title: 'Cost' },
  { field: 'accuracy', title: 'Accuracy' },
];

const toLocalInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/**
 * Charts of one agent: CPU, memory, disk, network, every other series it sends, and (for LLM
 * agents) an AI panel per model. Time range 15m … 30d or custom, aggregation choice, and live
 * points from `new_metrics_data` appended to the relative ranges.
 */
export default function AgentMetricsPanel({ agentId }: { agentId: string }) {
  const qc = useQueryClient();
  const [range, setRange] = useState<MetricRange>({ kind: 'relative', range: '1h' });
  const [agg, setAgg] = useState<MetricAgg>('avg');
  const [custom, setCustom] = useState(() => ({ from: Date.now() - 86_400_000, to: Date.now() }));
  const series = useQuery(metricsQueries.series(agentId));

  useAgentRoom(agentId);
  useSocketEvent('new_metrics_data', (e) => {
    if (e.agentId !== agentId) return;
    appendLiveMetrics(qc, e);
    const known = new Set(series.data?.items.map((s) => s.name));
    if (Object.keys(e.values).some((n) => !known.has(n))) {
      void qc.invalidateQueries({ queryKey: metricsKeys.key('series', agentId) });
    }
  });

  const groups = useMemo(() => buildGroups(series.data?.items ?? []), [series.data]);

  return (
    <Paper variant="outlined" sx={{ p: 2 }} data-testid="agent-metrics-panel">
      <Stack
        direction={{ xs: 'column', md: 'row' }}
        spacing={2}
        sx={{ mb: 2, alignItems: { md: 'center' } }}
      >
        <Typography variant="h6" sx={{ flexGrow: 1 }}>
          Metrics
        </Typography>
        <ToggleButtonGroup
          size="small"
          exclusive
          aria-label="Time range"
          value={range.kind === 'relative' ? range.range : 'custom'}
          onChange={(_, v: Timerange | 'custom' | null) => {
            if (!v) return;
            setRange(
              v === 'custom' ? { kind: 'custom', ...custom } : { kind: 'relative', range: v },
            );
          }}
        >
          {TIMERANGES.map((r) => (
            <ToggleButton key={r} value={r}>
              {r}
            </ToggleButton>
          ))}
          <ToggleButton value="custom">Custom</ToggleButton>
        </ToggleButtonGroup>
        <TextField
          select
          size="small"
          label="Aggregation"
          value={agg}
          onChange={(e) => setAgg(e.target.value as MetricAgg)}
          sx={{ minWidth: 130 }}
        >
          {METRIC_AGGS.map((a) => (
            <MenuItem key={a} value={a}>
              {a}
            </MenuItem>
          ))}
        </TextField>
      </Stack>
      {range.kind === 'custom' && (
        <Stack direction="row" spacing={2} sx={{ mb: 2 }}>
          {(['from', 'to'] as const).map((k) => (
            <TextField
              key={k}
              type="datetime-local"
              size="small"
              label={k === 'from' ? 'From' : 'To'}
              value={toLocalInput(custom[k])}
              slotProps={{ inputLabel: { shrink: true } }}
              onChange={(e) => {
                const ms = Date.parse(e.target.value);
                if (!Number.isFinite(ms)) return;
                const next = { ...custom, [k]: ms };
                setCustom(next);
                if (next.from < next.to) setRange({ kind: 'custom', ...next });
              }}
            />
          ))}
        </Stack>
      )}
      {series.error ? (
        <ErrorAlert error={series.error} onRetry={() => void series.refetch()} />
      ) : !series.data ? (
        <CardSkeleton height={200} />
      ) : !series.data.items.length ? (
        <EmptyState
          title="No metrics yet"
          description="This agent has not sent any samples."
          dense
        />
      ) : (
        <>
          <Grid container spacing={2}>
            {[...groups.system, ...groups.other].map((g) => (
              <Grid key={g.title} size={{ xs: 12, md: 6 }}>
                <MetricChart
                  agentId={agentId}
                  title={g.title}
                  metrics={g.metrics}
                  range={range}
                  agg={agg}
                />
              </Grid>
            ))}
          </Grid>
          {groups.ai.length > 0 && (
            <Box sx={{ mt: 3 }} data-testid="ai-metrics-panel">
              <Typography variant="subtitle1" sx={{ mb: 1 }}>
                AI / LLM (by model)
              </Typography>
              <Grid container spacing={2}>
                {groups.ai.map((g) => (
                  <Grid key={g.title} size={{ xs: 12, md: 6 }}>
                    <MetricChart
                      agentId={agentId}
                      title={g.title}
                      metrics={g.metrics}
                      range={range}
                      agg={agg}
                    />
                  </Grid>
                ))}
              </Grid>
            </Box>
          )}
        </>
      )}
    </Paper>
  );
}

interface ChartGroup {
  title: string;
  metrics: Array<{ name: string; label: string }>;
}

/** Sorts an agent's series into the system charts, AI charts per field, and one chart per other series. */
export function buildGroups(items: MetricSeriesInfo[]): {
  system: ChartGroup[];
  ai: ChartGroup[];
  other: ChartGroup[];
} {
  const names = new Set(items.map((i) => i.name));
  const used = new Set<string>();
  const system: ChartGroup[] = [];
  for (const s of SYSTEM) {
    const present = s.names.filter((n) => names.has(n));
    if (!present.length) continue;
    present.forEach((n) => used.add(n));
    system.push({
      title: s.title,
      metrics: present.map((n) => ({ name: n, label: n.replace(/_/g, ' ') })),
    });
  }
  const ai: ChartGroup[] = [];
  for (const f of AI_FIELDS) {
    const list = items.filter((i) => i.measurement === 'ai_metrics' && i.field === f.field);
    if (!list.length) continue;
    list.forEach((i) => used.add(i.name));
    ai.push({
      title: `${f.title}${list[0].unit ? ` (${list[0].unit})` : ''}`,
      metrics: list.map((i) => ({
        name: i.name,
        label: i.labels.model ?? (Object.values(i.labels).join(' ') || f.field),
      })),
    });
  }
  for (const i of items) {
    if (i.measurement !== 'ai_metrics' || used.has(i.name)) continue;
    used.add(i.name);
    ai.push({ title: i.name, metrics: [{ name: i.name, label: i.name }] });
  }
  const other = items
    .filter((i) => !used.has(i.name))
    .map((i) => ({ title: i.name, metrics: [{ name: i.name, label: i.name }] }));
  return { system, ai, other };
}
