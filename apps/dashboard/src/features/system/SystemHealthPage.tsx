import { useMemo, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Grid from '@mui/material/Grid';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import type { SystemHealthSnapshot } from '@agent-monitor/contracts';
import { useSocketEvent } from '../../api/socket';
import { applySystemHealthUpdate, systemQueries } from '../../api/system.queries';
import { AGENT_STATUS_COLORS } from '../../app/theme';
import { ErrorAlert } from '../../components/ErrorAlert';
import { PageHeader } from '../../components/PageHeader';
import { CardSkeleton } from '../../components/Skeletons';
import { ToneChip } from '../../components/ToneChip';
import { formatRelative } from '../../components/format';
import { TimeSeriesChart, type ChartSeries } from '../metrics/TimeSeriesChart';

const RANGES = [
  { minutes: 60, label: '1h' },
  { minutes: 360, label: '6h' },
  { minutes: 1440, label: '24h' },
  { minutes: 10080, label: '7d' },
];

const UP = AGENT_STATUS_COLORS.online;
const DOWN = AGENT_STATUS_COLORS.error;
const OFF = AGENT_STATUS_COLORS.offline;

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Paper variant="outlined" sx={{ p: 1.5, height: '100%' }}>
      <Typography variant="caption" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h6" data-testid={testId}>
        {value}
      </Typography>
    </Paper>
  );
}

const fmt = (v: number | null | undefined, unit = '', digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)}${unit}`;

/** One series per instance of one figure, over the history. */
function seriesOf(
  history: SystemHealthSnapshot[],
  pick: (s: SystemHealthSnapshot) => number | null,
): ChartSeries[] {
  const by = new Map<string, ChartSeries>();
  for (const s of history) {
    const v = pick(s);
    if (v === null || !Number.isFinite(v)) continue;
    let series = by.get(s.instance);
    if (!series) by.set(s.instance, (series = { label: s.instance, points: [] }));
    series.points.push({ t: Date.parse(s.at), v });
  }
  return [...by.values()];
}

function Chart({
  title,
  history,
  pick,
  unit,
  from,
  to,
  testId,
}: {
  title: string;
  history: SystemHealthSnapshot[];
  pick: (s: SystemHealthSnapshot) => number | null;
  unit: string | null;
  from: number;
  to: number;
  testId: string;
}) {
  const series = useMemo(() => seriesOf(history, pick), [history, pick]);
  return (
    <Paper variant="outlined" sx={{ p: 1.5 }}>
      <Typography variant="subtitle2" sx={{ mb: 1 }}>
        {title}
      </Typography>
      <TimeSeriesChart
        series={series}
        unit={unit}
        from={from}
        to={to}
        height={180}
        testId={testId}
      />
    </Paper>
  );
}

const pickP95 = (s: SystemHealthSnapshot) => s.p95LatencyMs;
const pickIngest = (s: SystemHealthSnapshot) => s.ingestRate;
const pickErrors = (s: SystemHealthSnapshot) => s.serverErrors;
const pickQueue = (s: SystemHealthSnapshot) => s.queueDepth;
const pickLag = (s: SystemHealthSnapshot) => s.eventLoopLagMs;
const pickRss = (s: SystemHealthSnapshot) => s.rssMb;

/** The monitor's own health: API latency, ingest, queue, database, Redis and errors. */
export default function SystemHealthPage() {
  const [minutes, setMinutes] = useState(60);
  const qc = useQueryClient();
  const q = useQuery(systemQueries.health(minutes));
  useSocketEvent('system_health_update', (e) => applySystemHealthUpdate(qc, e));
  const data = q.data;
  const to = data ? Date.parse(data.current.at) : 0;
  const from = to - minutes * 60_000;
  const cur = data?.current;

  return (
    <>
      <PageHeader
        title="System health"
        subtitle="How Agent Monitor itself is doing, per API instance. Scrape /metrics for Prometheus."
        actions={
          <ToggleButtonGroup
            size="small"
            exclusive
            value={minutes}
            onChange={(_e, v: number | null) => v && setMinutes(v)}
            aria-label="Time range"
          >
            {RANGES.map((r) => (
              <ToggleButton key={r.minutes} value={r.minutes}>
                {r.label}
              </ToggleButton>
            ))}
          </ToggleButtonGroup>
        }
      />
      {q.error && <ErrorAlert error={q.error} onRetry={() => void q.refetch()} sx={{ mb: 2 }} />}
      {!data && !q.error && <CardSkeleton height={240} />}
      {data && cur && (
        <Stack spacing={2}>
          <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
            <ToneChip
              tone={data.status === 'ok' ? UP : DOWN}
              label={data.status === 'ok' ? 'Healthy' : 'Degraded'}
              data-testid="system-status"
            />
            <ToneChip
              tone={cur.dbStatus === 'up' ? UP : DOWN}
              label={`Database ${cur.dbStatus}${cur.dbLatencyMs !== null ? ` (${cur.dbLatencyMs} ms)` : ''}`}
              data-testid="db-status"
            />
            <ToneChip
              tone={cur.redisStatus === 'up' ? UP : cur.redisStatus === 'down' ? DOWN : OFF}
              label={`Redis ${cur.redisStatus}`}
              data-testid="redis-status"
            />
            <Typography variant="body2" color="text.secondary">
              {data.instances.length} instance{data.instances.length === 1 ? '' : 's'} · updated{' '}
              {formatRelative(cur.at)} · every {data.intervalSec} s
            </Typography>
          </Stack>
          <Grid container spacing={1.5}>
            {[
              ['API p95 latency', fmt(cur.p95LatencyMs, ' ms'), 'stat-p95'],
              ['Requests (interval)', String(cur.requests), 'stat-requests'],
              ['Ingest', fmt(cur.ingestRate, ' values/s'), 'stat-ingest'],
              ['Ingest in flight', String(cur.ingestInFlight), 'stat-inflight'],
              ['Queued jobs', String(cur.queueDepth), 'stat-queue'],
              ['5xx errors (interval)', String(cur.serverErrors), 'stat-errors'],
              ['Event loop lag p99', fmt(cur.eventLoopLagMs, ' ms'), 'stat-lag'],
              ['Memory (RSS)', fmt(cur.rssMb, ' MB', 0), 'stat-rss'],
              [
                'DB pool in use / waiting',
                `${cur.dbPoolInUse} / ${cur.dbPoolWaiting}`,
                'stat-pool',
              ],
              ['Dashboard sockets', String(cur.socketConnections), 'stat-sockets'],
            ].map(([label, value, testId]) => (
              <Grid key={testId} size={{ xs: 6, sm: 4, md: 3, lg: 2.4 }}>
                <Stat label={label} value={value} testId={testId} />
              </Grid>
            ))}
          </Grid>
          <Grid container spacing={1.5}>
            {(
              [
                ['API latency p95', pickP95, 'ms', 'chart-latency'],
                ['Ingest (values/s)', pickIngest, null, 'chart-ingest'],
                ['5xx errors per interval', pickErrors, null, 'chart-errors'],
                ['Queued jobs', pickQueue, null, 'chart-queue'],
                ['Event loop lag p99', pickLag, 'ms', 'chart-lag'],
                ['Memory (RSS, MB)', pickRss, null, 'chart-rss'],
              ] as const
            ).map(([title, pick, unit, testId]) => (
              <Grid key={testId} size={{ xs: 12, md: 6 }}>
                <Chart
                  title={title}
                  history={data.history}
                  pick={pick}
                  unit={unit}
                  from={from}
                  to={to}
                  testId={testId}
                />
              </Grid>
            ))}
          </Grid>
          <Paper variant="outlined">
            <Table size="small" aria-label="API instances">
              <TableHead>
                <TableRow>
                  <TableCell>Instance</TableCell>
                  <TableCell>Last snapshot</TableCell>
                  <TableCell align="right">p95 ms</TableCell>
                  <TableCell align="right">Ingest/s</TableCell>
                  <TableCell align="right">5xx</TableCell>
                  <TableCell>Database</TableCell>
                  <TableCell>Redis</TableCell>
                  <TableCell align="right">RSS MB</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {data.instances.map((i) => (
                  <TableRow key={i.instance} data-testid="instance-row">
                    <TableCell>{i.instance}</TableCell>
                    <TableCell>{formatRelative(i.at)}</TableCell>
                    <TableCell align="right">{fmt(i.p95LatencyMs)}</TableCell>
                    <TableCell align="right">{fmt(i.ingestRate)}</TableCell>
                    <TableCell align="right">{i.serverErrors}</TableCell>
                    <TableCell>{i.dbStatus}</TableCell>
                    <TableCell>{i.redisStatus}</TableCell>
                    <TableCell align="right">{fmt(i.rssMb, '', 0)}</TableCell>
                  </TableRow>
                ))}
                {data.instances.length === 0 && (
                  <TableRow>
                    <TableCell colSpan={8}>No snapshot stored yet.</TableCell>
                  </TableRow>
                )}
              </TableBody>
            </Table>
          </Paper>
        </Stack>
      )}
    </>
  );
}
