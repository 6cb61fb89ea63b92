import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import IconButton from '@mui/material/IconButton';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Switch from '@mui/material/Switch';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import Add from '@mui/icons-material/Add';
import DeleteOutline from '@mui/icons-material/DeleteOutlined';
import Send from '@mui/icons-material/SendOutlined';
import {
  DEFAULT_REPORT_CRON,
  type ReportSchedule,
  type ReportScheduleFormat,
} from '@agent-monitor/contracts';
import { alertQueries } from '../../api/alerts.queries';
import { ApiError } from '../../api/client';
import { groupsQueries } from '../../api/fleet.queries';
import {
  reportSchedulesApi,
  reportSchedulesKeys,
  reportSchedulesQueries,
} from '../../api/reports.queries';
import { useAuth } from '../../app/auth';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ReportScopeSelect } from './ReportScopeSelect';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { TableSkeleton } from '../../components/Skeletons';
import { formatDateTime } from '../../components/format';

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function CreateScheduleDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const channels = useQuery({ ...alertQueries.channels(), enabled: open });
  const groups = useQuery({ ...groupsQueries.list({ limit: 500 }), enabled: open });
  const [name, setName] = useState('');
  const [scope, setScope] = useState('all');
  const [region, setRegion] = useState('');
  const [format, setFormat] = useState<ReportScheduleFormat>('pdf');
  const [cron, setCron] = useState(DEFAULT_REPORT_CRON);
  const [timeZone, setTimeZone] = useState(browserZone());
  const [channelIds, setChannelIds] = useState<string[]>([]);
  const emailChannels = (channels.data?.items ?? []).filter((c) => c.type === 'email');
  const create = useMutation({
    mutationFn: () =>
      reportSchedulesApi.create({
        name: name.trim(),
        scope,
        region: region.trim() || null,
        format,
        cron: cron.trim(),
        timeZone: timeZone.trim(),
        channelIds,
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: reportSchedulesKeys.all });
      setName('');
      setChannelIds([]);
      onClose();
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>New scheduled report</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            autoFocus
            error={!!fieldErrors.name}
            helperText={fieldErrors.name}
          />
          <Stack direction="row" spacing={2}>
            <ReportScopeSelect
              groups={groups.data?.items}
              value={scope}
              onChange={setScope}
              sx={{ flex: 1 }}
            />
            <TextField
              label="Region"
              value={region}
              onChange={(e) => setRegion(e.target.value)}
              sx={{ width: 140 }}
            />
            <TextField
              select
              label="Format"
              value={format}
              onChange={(e) => setFormat(e.target.value as ReportScheduleFormat)}
              sx={{ width: 110 }}
            >
              <MenuItem value="pdf">PDF</MenuItem>
              <MenuItem value="csv">CSV</MenuItem>
            </TextField>
          </Stack>
          <Stack direction="row" spacing={2}>
            <TextField
              label="Cron"
              value={cron}
              onChange={(e) => setCron(e.target.value)}
              error={!!fieldErrors.cron}
              helperText={
                fieldErrors.cron ?? 'Default: Mondays 08:00. Each run covers one interval.'
              }
              sx={{ flex: 1 }}
            />
            <TextField
              label="Time zone"
              value={timeZone}
              onChange={(e) => setTimeZone(e.target.value)}
              error={!!fieldErrors.timeZone}
              helperText={fieldErrors.timeZone}
              sx={{ width: 200 }}
            />
          </Stack>
          <TextField
            select
            label="Email channels"
            value={channelIds}
            onChange={(e) => {
              const v = e.target.value as unknown as string[] | string;
              setChannelIds(typeof v === 'string' ? v.split(',') : v);
            }}
            slotProps={{ select: { multiple: true } }}
            error={!!fieldErrors.channelIds}
            helperText={
              fieldErrors.channelIds ??
              (channels.isSuccess && !emailChannels.length
                ? 'No email channel yet: add one under Alerts → Channels.'
                : 'Reports go out as e-mail attachments; chat and webhook channels cannot carry them.')
            }
          >
            {emailChannels.map((c) => (
              <MenuItem key={c.id} value={c.id}>
                {c.name}
              </MenuItem>
            ))}
          </TextField>
          {create.error && !Object.keys(fieldErrors).length && <ErrorAlert error={create.error} />}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!name.trim() || !channelIds.length || create.isPending}
          onClick={() => create.mutate()}
        >
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function LastRun({ s }: { s: ReportSchedule }) {
  const r = s.lastRun;
  if (!r) return <>—</>;
  const color = r.status === 'sent' ? 'success' : r.status === 'failed' ? 'error' : 'default';
  return (
    <Tooltip title={r.error ?? `${formatDateTime(r.periodFrom)} – ${formatDateTime(r.periodTo)}`}>
      <Chip
        size="small"
        color={color}
        label={`${r.status} ${formatDateTime(r.sentAt ?? r.startedAt)}`}
        data-testid="last-run"
      />
    </Tooltip>
  );
}

/** Reports mailed on a schedule: list, create, enable/disable, run now, delete. */
export function ReportSchedules() {
  const { can } = useAuth();
  const qc = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ReportSchedule | null>(null);
  const list = useQuery(reportSchedulesQueries.list());
  const refresh = () => void qc.invalidateQueries({ queryKey: reportSchedulesKeys.all });
  const toggle = useMutation({
    mutationFn: (s: ReportSchedule) => reportSchedulesApi.update(s.id, { enabled: !s.enabled }),
    onSuccess: refresh,
  });
  const run = useMutation({ mutationFn: reportSchedulesApi.runNow, onSettled: refresh });
  const remove = useMutation({ mutationFn: reportSchedulesApi.remove, onSuccess: refresh });
  const error = toggle.error ?? run.error ?? remove.error;
  return (
    <Stack spacing={1} sx={{ mb: 3 }}>
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between' }}>
        <Typography variant="h6">Scheduled reports</Typography>
        {can('operator') && (
          <Button startIcon={<Add />} onClick={() => setCreating(true)}>
            New schedule
          </Button>
        )}
      </Stack>
      {list.error && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}
      {error && <ErrorAlert error={error} />}
      {list.isPending ? (
        <TableSkeleton rows={2} columns={6} />
      ) : list.data && !list.data.items.length ? (
        <Paper variant="outlined">
          <EmptyState
            dense
            title="No scheduled reports"
            description="Mail a PDF or CSV report every week (or on any cron) to an email channel."
          />
        </Paper>
      ) : (
        <Paper variant="outlined">
          <TableContainer>
            <Table size="small" aria-label="Scheduled reports">
              <TableHead>
                <TableRow>
                  <TableCell>Name</TableCell>
                  <TableCell>Scope</TableCell>
                  <TableCell>Format</TableCell>
                  <TableCell>When</TableCell>
                  <TableCell>Next run</TableCell>
                  <TableCell>Last run</TableCell>
                  <TableCell>Enabled</TableCell>
                  <TableCell width={96} />
                </TableRow>
              </TableHead>
              <TableBody>
                {list.data?.items.map((s) => (
                  <TableRow key={s.id} hover data-testid={`schedule-row-${s.name}`}>
                    <TableCell>{s.name}</TableCell>
                    <TableCell>
                      {s.scope}
                      {s.region ? ` · region ${s.region}` : ''}
                      {s.environment ? ` · ${s.environment}` : ''}
                    </TableCell>
                    <TableCell>{s.format.toUpperCase()}</TableCell>
                    <TableCell>
                      <code>{s.cron}</code> {s.timeZone}
                    </TableCell>
                    <TableCell>{s.nextRunAt ? formatDateTime(s.nextRunAt) : '—'}</TableCell>
                    <TableCell>
                      <LastRun s={s} />
                    </TableCell>
                    <TableCell>
                      <Switch
                        size="small"
                        checked={s.enabled}
                        disabled={!can('operator') || toggle.isPending}
                        onChange={() => toggle.mutate(s)}
                        slotProps={{ input: { 'aria-label': `Enable ${s.name}` } }}
                      />
                    </TableCell>
                    <TableCell>
                      {can('operator') && (
                        <>
                          <IconButton
                            size="small"
                            aria-label={`Run ${s.name} now`}
                            disabled={run.isPending}
                            onClick={() => run.mutate(s.id)}
                          >
                            <Send fontSize="small" />
                          </IconButton>
                          <IconButton
                            size="small"
                            aria-label={`Delete ${s.name}`}
                            onClick={() => setDeleting(s)}
                          >
                            <DeleteOutline fontSize="small" />
                          </IconButton>
                        </>
                      )}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        </Paper>
      )}
      <CreateScheduleDialog open={creating} onClose={() => setCreating(false)} />
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete schedule ${deleting.name}?`}
          description="No more reports are mailed for it; its run history is deleted too."
          confirmLabel="Delete"
          destructive
          onClose={() => setDeleting(null)}
          onConfirm={() => remove.mutateAsync(deleting.id)}
        />
      )}
    </Stack>
  );
}
