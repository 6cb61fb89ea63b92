import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import Download from '@mui/icons-material/Download';
import {
  ALERT_SEVERITIES,
  type AlertSummary,
  type Report,
  type ReportFormat,
} from '@agent-monitor/contracts';
import { errorMessage } from '../../api/client';
import { groupsQueries } from '../../api/fleet.queries';
import { downloadReport, reportsQueries, type ReportParams } from '../../api/reports.queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { formatDateTime, formatDuration } from '../../components/format';
import { ReportSchedules } from './ReportSchedules';
import { ReportScopeSelect } from './ReportScopeSelect';

const toLocal = (d: Date) => {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(2)} %`);
const dur = (v: number | null) => (v === null ? '—' : formatDuration(Math.round(v)));

function AlertCells({ a }: { a: AlertSummary }) {
  return (
    <>
      <TableCell align="right">{a.total}</TableCell>
      {ALERT_SEVERITIES.map((s) => (
        <TableCell key={s} align="right">
          {a.bySeverity[s]}
        </TableCell>
      ))}
      <TableCell align="right">{dur(a.mttaSec)}</TableCell>
      <TableCell align="right">{dur(a.mttrSec)}</TableCell>
    </>
  );
}

const ALERT_HEAD = [
  'Alerts',
  ...ALERT_SEVERITIES.map((s) => s[0].toUpperCase() + s.slice(1)),
  'MTTA',
  'MTTR',
];

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Stack spacing={1}>
      <Typography variant="h6">{title}</Typography>
      <Paper variant="outlined">
        <TableContainer>{children}</TableContainer>
      </Paper>
    </Stack>
  );
}

function ReportView({ r }: { r: Report }) {
  return (
    <Stack spacing={3} data-testid="report-preview">
      <Typography variant="body2" color="text.secondary">
        {r.scope.label} · {formatDateTime(r.from)} – {formatDateTime(r.to)} · generated{' '}
        {formatDateTime(r.generatedAt)}
      </Typography>
      {r.notes.map((n) => (
        <Alert key={n} severity="info">
          {n}
        </Alert>
      ))}
      <Section title="Fleet">
        <Table size="small" aria-label="Fleet summary">
          <TableHead>
            <TableRow>
              <TableCell align="right">Agents</TableCell>
              <TableCell align="right">Availability</TableCell>
              {ALERT_HEAD.map((h) => (
                <TableCell key={h} align="right">
                  {h}
                </TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            <TableRow>
              <TableCell align="right">{r.fleet.agentCount}</TableCell>
              <TableCell align="right" data-testid="fleet-availability">
                {pct(r.fleet.availabilityPct)}
              </TableCell>
              <AlertCells a={r.fleet.alerts} />
            </TableRow>
          </TableBody>
        </Table>
      </Section>
      {r.groups.length > 0 && (
        <Section title="Groups">
          <Table size="small" aria-label="Groups">
            <TableHead>
              <TableRow>
                <TableCell>Group</TableCell>
                <TableCell align="right">Agents</TableCell>
                <TableCell align="right">Availability</TableCell>
                {ALERT_HEAD.map((h) => (
                  <TableCell key={h} align="right">
                    {h}
                  </TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {r.groups.map((g) => (
                <TableRow key={g.groupId}>
                  <TableCell>{g.name}</TableCell>
                  <TableCell align="right">{g.agentCount}</TableCell>
                  <TableCell align="right">{pct(g.availabilityPct)}</TableCell>
                  <AlertCells a={g.alerts} />
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Section>
      )}
      <Section title="Agents">
        <Table size="small" aria-label="Agents">
          <TableHead>
            <TableRow>
              <TableCell>Agent</TableCell>
              <TableCell>Type</TableCell>
              <TableCell align="right">Availability</TableCell>
              {ALERT_HEAD.map((h) => (
                <TableCell key={h} align="right">
                  {h}
                </TableCell>
              ))}
              <TableCell align="right">Tasks done</TableCell>
              <TableCell align="right">Commits</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {r.agents.map((a) => (
              <TableRow key={a.agentId}>
                <TableCell>{a.name}</TableCell>
                <TableCell>{a.type}</TableCell>
                <TableCell align="right">{pct(a.availabilityPct)}</TableCell>
                <AlertCells a={a.alerts} />
                <TableCell align="right">{a.tasksCompleted}</TableCell>
                <TableCell align="right">{a.commits}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Section>
      {r.metrics.length > 0 && (
        <Section title="Metrics">
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Metric</TableCell>
                <TableCell align="right">Samples</TableCell>
                <TableCell align="right">Avg</TableCell>
                <TableCell align="right">p95</TableCell>
                <TableCell align="right">Max</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {r.metrics.map((m) => (
                <TableRow key={m.metric}>
                  <TableCell>{m.metric}</TableCell>
                  <TableCell align="right">{m.samples}</TableCell>
                  <TableCell align="right">{m.avg ?? '—'}</TableCell>
                  <TableCell align="right">{m.p95 ?? '—'}</TableCell>
                  <TableCell align="right">{m.max ?? '—'}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Section>
      )}
      {r.llm.length > 0 && (
        <Section title="LLM usage">
          <Table size="small" aria-label="LLM usage">
            <TableHead>
              <TableRow>
                <TableCell>Model</TableCell>
                <TableCell align="right">Tokens</TableCell>
                <TableCell align="right">Cost (USD)</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {r.llm.map((l) => (
                <TableRow key={l.model}>
                  <TableCell>{l.model}</TableCell>
                  <TableCell align="right">{l.tokens.toLocaleString()}</TableCell>
                  <TableCell align="right">{l.cost.toFixed(4)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Section>
      )}
    </Stack>
  );
}

/** Pick a period and a scope, preview the report as tables, download it as CSV or PDF. */
export default function ReportsPage() {
  const now = new Date();
  const [from, setFrom] = useState(toLocal(new Date(now.getTime() - 7 * 86_400_000)));
  const [to, setTo] = useState(toLocal(now));
  const [scope, setScope] = useState('all');
  const [environment, setEnvironment] = useState('');
  const [region, setRegion] = useState('');
  const [params, setParams] = useState<ReportParams | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [busy, setBusy] = useState<ReportFormat | null>(null);
  const groups = useQuery(groupsQueries.list({ limit: 500 }));
  const preview = useQuery({
    ...reportsQueries.preview(params ?? { from: '', to: '', scope: '' }),
    enabled: !!params,
  });

  const current = (): ReportParams => ({
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    scope,
    environment: environment.trim() || undefined,
    region: region.trim() || undefined,
  });
  const download = async (format: ReportFormat) => {
    setDownloadError(null);
    setBusy(format);
    try {
      await downloadReport(current(), format);
    } catch (e) {
      setDownloadError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <Page>
      <PageHeader
        title="Reports"
        subtitle="Availability, alerts (MTTA/MTTR) and activity per agent and group, for any period."
      />
      <ReportSchedules />
      <Paper variant="outlined" sx={{ p: 2, mb: 3 }}>
        <Stack
          direction={{ xs: 'column', md: 'row' }}
          spacing={2}
          sx={{ alignItems: { md: 'center' } }}
        >
          <TextField
            label="From"
            type="datetime-local"
            size="small"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <TextField
            label="To"
            type="datetime-local"
            size="small"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <ReportScopeSelect
            size="small"
            groups={groups.data?.items}
            value={scope}
            onChange={setScope}
            sx={{ minWidth: 200 }}
          />
          <TextField
            label="Environment"
            size="small"
            value={environment}
            onChange={(e) => setEnvironment(e.target.value)}
            sx={{ maxWidth: 150 }}
          />
          <TextField
            label="Region"
            size="small"
            value={region}
            onChange={(e) => setRegion(e.target.value)}
            sx={{ maxWidth: 150 }}
          />
          <Button variant="contained" onClick={() => setParams(current())}>
            Preview
          </Button>
          <Button
            startIcon={<Download />}
            disabled={busy !== null}
            onClick={() => void download('csv')}
          >
            CSV
          </Button>
          <Button
            startIcon={<Download />}
            disabled={busy !== null}
            onClick={() => void download('pdf')}
          >
            PDF
          </Button>
        </Stack>
      </Paper>
      {downloadError && (
        <Alert severity="error" sx={{ mb: 2 }}>
          {downloadError}
        </Alert>
      )}
      {preview.error && <ErrorAlert error={preview.error} />}
      {params && preview.isPending && <TableSkeleton rows={6} columns={8} />}
      {preview.data && <ReportView r={preview.data} />}
    </Page>
  );
}
