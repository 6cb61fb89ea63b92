import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import Grid from '@mui/material/Grid';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import {
  AGENT_STATUSES,
  TIMERANGES,
  type AggregateResult,
  type Timerange,
} from '@agent-monitor/contracts';
import { metricsQueries, RANGE_MS } from '../../api/metrics.queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { PageHeader } from '../../components/PageHeader';
import { CardSkeleton } from '../../components/Skeletons';
import { StatusChip } from '../../components/StatusChip';
import { TimeSeriesChart, formatValue } from './TimeSeriesChart';

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Paper variant="outlined" sx={{ p: 2, height: '100%' }}>
      <Typography variant="caption" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h5" data-testid={testId}>
        {value}
      </Typography>
    </Paper>
  );
}

function FleetChart({
  title,
  result,
  unit,
  now,
}: {
  title: string;
  result: AggregateResult;
  unit: string | null;
  now: number;
}) {
  return (
    <Paper variant="outlined" sx={{ p: 1.5 }}>
      <Typography variant="subtitle2" sx={{ mb: 1 }}>
        {title}
      </Typography>
      {result.groups.length ? (
        <TimeSeriesChart
          unit={unit}
          from={now - RANGE_MS[result.timerange]}
          to={now}
          series={result.groups.map((g) => ({
            label: `${g.key} (${g.agentCount})`,
            points: g.points,
          }))}
        />
      ) : (
        <Typography variant="body2" color="text.secondary" sx={{ py: 6, textAlign: 'center' }}>
          No data in this range
        </Typography>
      )}
    </Paper>
  );
}

/** Fleet overview: status counts, ingest rate, fleet-wide charts by type and environment. */
export default function OverviewPage() {
  const [range, setRange] = useState<Timerange>('1h');
  const overview = useQuery(metricsQueries.overview());
  const fleet = useQuery(metricsQueries.fleet(range));
  const o = overview.data;
  // The time the data describes (not render time): the query's fetch time.
  const now = overview.dataUpdatedAt;
  const fleetNow = fleet.dataUpdatedAt;
  return (
    <Stack spacing={2}>
      <PageHeader
        title="Fleet overview"
        subtitle="Status, ingest and resource use across all agents"
      />
      {overview.error && (
        <ErrorAlert error={overview.error} onRetry={() => void overview.refetch()} />
      )}
      {!o ? (
        <CardSkeleton height={100} />
      ) : (
        <>
          <Grid container spacing={2}>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Agents" value={String(o.agents.total)} testId="overview-agents-total" />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Reporting (5 min)" value={String(o.ingest.reportingAgents5m)} />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Values / s" value={formatValue(o.ingest.valuesPerSec, null)} />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Series" value={String(o.ingest.series)} />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat
                label="Fleet CPU"
                value={o.fleet.cpuAvg === null ? '–' : formatValue(o.fleet.cpuAvg, '%')}
              />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat
                label="Fleet memory"
                value={o.fleet.memoryAvg === null ? '–' : formatValue(o.fleet.memoryAvg, '%')}
              />
            </Grid>
          </Grid>
          <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap' }}>
            {AGENT_STATUSES.map((s) => (
              <StatusChip key={s} status={s} label={`${s}: ${o.agents.byStatus[s] ?? 0}`} />
            ))}
          </Stack>
          <Paper variant="outlined" sx={{ p: 1.5 }}>
            <Typography variant="subtitle2" sx={{ mb: 1 }}>
              Ingest rate (values/s, last hour)
            </Typography>
            <TimeSeriesChart
              unit={null}
              from={now - 3_600_000}
              to={now}
              height={160}
              series={[{ label: 'values/s', points: o.ingestRate }]}
            />
          </Paper>
        </>
      )}
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between' }}>
        <Typography variant="h6">Resources</Typography>
        <ToggleButtonGroup
          size="small"
          exclusive
          value={range}
          onChange={(_, v: Timerange | null) => v && setRange(v)}
        >
          {TIMERANGES.map((r) => (
            <ToggleButton key={r} value={r}>
              {r}
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
      </Stack>
      {fleet.error && <ErrorAlert error={fleet.error} onRetry={() => void fleet.refetch()} />}
      {!fleet.data ? (
        <CardSkeleton height={220} />
      ) : (
        <Grid container spacing={2}>
          {fleet.data.charts.flatMap((c) => [
            <Grid key={`${c.metric}-type`} size={{ xs: 12, md: 6 }}>
              <FleetChart
                title={`${c.metric} by type`}
                result={c.byType}
                unit={c.unit}
                now={fleetNow}
              />
            </Grid>,
            <Grid key={`${c.metric}-env`} size={{ xs: 12, md: 6 }}>
              <FleetChart
                title={`${c.metric} by environment`}
                result={c.byEnvironment}
                unit={c.unit}
                now={fleetNow}
              />
            </Grid>,
          ])}
        </Grid>
      )}
    </Stack>
  );
}
