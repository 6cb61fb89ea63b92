import { useMemo, useState } from 'react';
import { Link as RouterLink } from 'react-router';
import { useMutation, useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import Link from '@mui/material/Link';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TablePagination from '@mui/material/TablePagination';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import { ALERT_SEVERITIES, type AlertInstance } from '@agent-monitor/contracts';
import { alertActions, alertQueries, alertsKeys } from '../../api/alerts.queries';
import { errorMessage } from '../../api/client';
import { queryClient } from '../../api/query-client';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { SeverityChip } from '../../components/SeverityChip';
import { formatRelative } from '../../components/format';
import { groupAlerts, type AlertGrouping } from './alertGroups';

/** Why an alert's notifications are (or were) held back: dependency, group incident, maintenance. */
function HoldInfo({ a }: { a: AlertInstance }) {
  if (a.causedBy)
    return (
      <Typography variant="caption" component="div" data-testid="alert-caused-by">
        {a.suppressed ? 'held back, ' : ''}caused by{' '}
        <Link component={RouterLink} to={`/agents/${a.causedBy.agentId}`}>
          {a.causedBy.agentName ?? a.causedBy.agentId}
        </Link>{' '}
        (dependency unreachable)
      </Typography>
    );
  if (a.inhibitedBy)
    return (
      <Typography variant="caption" component="div" data-testid="alert-inhibited-by">
        {a.suppressed ? 'held back by' : 'was held back by'}{' '}
        <Link href={`#alert-${a.inhibitedBy}`}>group unreachable incident</Link>
      </Typography>
    );
  return null;
}

function AlertRow({
  a,
  onAck,
  onResolve,
  inhibitedCount = 0,
}: {
  a: AlertInstance;
  onAck?: () => void;
  onResolve?: () => void;
  /** Member alerts this one (a group-unreachable incident) holds back. */
  inhibitedCount?: number;
}) {
  const held = a.suppressed && (a.causedBy || a.inhibitedBy);
  return (
    <TableRow data-testid="alert-row" data-alert-id={a.id} id={`alert-${a.id}`}>
      <TableCell>
        <SeverityChip severity={a.severity} size="small" />
      </TableCell>
      <TableCell>
        <Chip
          size="small"
          label={a.state}
          color={a.state === 'firing' ? 'error' : a.state === 'pending' ? 'warning' : 'default'}
          variant="outlined"
        />
        {a.suppressed && (
          <Chip size="small" label={held ? 'inhibited' : 'in maintenance'} sx={{ ml: 0.5 }} />
        )}
      </TableCell>
      <TableCell>
        {a.agentName ?? a.agentId ?? '—'}
        {a.labelKey && (
          <Chip
            size="small"
            variant="outlined"
            label={a.labelKey}
            data-testid="alert-labels"
            sx={{ ml: 0.5, fontFamily: 'monospace', fontSize: 12 }}
          />
        )}
      </TableCell>
      <TableCell>
        {a.summary}
        <HoldInfo a={a} />
        {inhibitedCount > 0 && (
          <Typography variant="caption" component="div" data-testid="alert-inhibits">
            holding back {inhibitedCount} member alert{inhibitedCount === 1 ? '' : 's'}
          </Typography>
        )}
      </TableCell>
      <TableCell title={a.startedAt}>{formatRelative(a.firedAt ?? a.startedAt)}</TableCell>
      <TableCell>
        {a.acknowledgedAt ? (
          <Typography variant="body2" data-testid="acked-by">
            acked by {a.acknowledgedBy}
            {a.ackComment ? `: ${a.ackComment}` : ''}
          </Typography>
        ) : (
          onAck && (
            <Button size="small" onClick={onAck}>
              Acknowledge
            </Button>
          )
        )}
        {onResolve && (
          <Button size="small" color="inherit" onClick={onResolve}>
            Resolve
          </Button>
        )}
      </TableCell>
    </TableRow>
  );
}

export function AlertsPage() {
  const notify = useNotify();
  const active = useQuery(alertQueries.active());
  const [state, setState] = useState('resolved');
  const [severity, setSeverity] = useState('');
  const [page, setPage] = useState(0);
  const history = useQuery(alertQueries.list({ state, severity, page: page + 1, limit: 25 }));
  const [acking, setAcking] = useState<AlertInstance | null>(null);
  const [comment, setComment] = useState('');
  const done = () => void queryClient.invalidateQueries({ queryKey: alertsKeys.all });
  const ack = useMutation({
    mutationFn: ({ id, c }: { id: string; c: string }) => alertActions.ack(id, c || undefined),
    onSuccess: () => {
      notify('Alert acknowledged');
      setAcking(null);
      setComment('');
      done();
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  const resolve = useMutation({
    mutationFn: (id: string) => alertActions.resolve(id),
    onSuccess: () => {
      notify('Alert resolved');
      done();
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  // Correlated alerts are shown together: by default as their notifications grouped them (one
  // rule across agents, or one agent across rules), else by rule or by agent.
  const [groupBy, setGroupBy] = useState<AlertGrouping>('notification');
  const groups = useMemo(() => groupAlerts(active.data ?? [], groupBy), [active.data, groupBy]);
  const inhibits = useMemo(() => {
    const m = new Map<string, number>();
    for (const a of active.data ?? [])
      if (a.inhibitedBy && a.suppressed) m.set(a.inhibitedBy, (m.get(a.inhibitedBy) ?? 0) + 1);
    return m;
  }, [active.data]);

  return (
    <Stack spacing={3}>
      <Box>
        <Stack direction="row" spacing={2} sx={{ mb: 1, alignItems: 'center' }}>
          <Typography variant="h6">Active</Typography>
          <ToggleButtonGroup
            size="small"
            exclusive
            value={groupBy}
            onChange={(_, v: AlertGrouping | null) => v && setGroupBy(v)}
            aria-label="Group alerts"
            data-testid="alert-grouping"
          >
            <ToggleButton value="notification">As notified</ToggleButton>
            <ToggleButton value="rule">By rule</ToggleButton>
            <ToggleButton value="agent">By agent</ToggleButton>
          </ToggleButtonGroup>
        </Stack>
        {active.error && <ErrorAlert error={active.error} />}
        {groups.length === 0 && !active.isLoading && <EmptyState title="No active alerts" />}
        {groups.map((g) => (
          <Paper
            key={g.key}
            variant="outlined"
            sx={{ mb: 2 }}
            data-testid="alert-group"
            data-group-key={g.key}
          >
            <Box sx={{ px: 2, pt: 1.5, display: 'flex', gap: 1, alignItems: 'center' }}>
              <SeverityChip severity={g.alerts[0].severity} size="small" />
              <Typography variant="subtitle1" data-testid="alert-group-title">
                {g.title}
              </Typography>
              <Typography variant="body2" color="text.secondary">
                {g.subtitle}
              </Typography>
            </Box>
            <Table size="small">
              <TableBody>
                {g.alerts.map((a) => (
                  <AlertRow
                    key={a.id}
                    a={a}
                    inhibitedCount={inhibits.get(a.id)}
                    onAck={() => setAcking(a)}
                    onResolve={() => resolve.mutate(a.id)}
                  />
                ))}
              </TableBody>
            </Table>
          </Paper>
        ))}
      </Box>
      <Box>
        <Stack direction="row" spacing={2} sx={{ mb: 1, alignItems: 'center' }}>
          <Typography variant="h6">History</Typography>
          <TextField
            select
            size="small"
            label="State"
            value={state}
            onChange={(e) => {
              setState(e.target.value);
              setPage(0);
            }}
            sx={{ minWidth: 140 }}
          >
            <MenuItem value="">any</MenuItem>
            {['pending', 'firing', 'resolved'].map((s) => (
              <MenuItem key={s} value={s}>
                {s}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            select
            size="small"
            label="Severity"
            value={severity}
            onChange={(e) => {
              setSeverity(e.target.value);
              setPage(0);
            }}
            sx={{ minWidth: 140 }}
          >
            <MenuItem value="">any</MenuItem>
            {ALERT_SEVERITIES.map((s) => (
              <MenuItem key={s} value={s}>
                {s}
              </MenuItem>
            ))}
          </TextField>
        </Stack>
        <Paper variant="outlined">
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Severity</TableCell>
                <TableCell>State</TableCell>
                <TableCell>Agent</TableCell>
                <TableCell>Summary</TableCell>
                <TableCell>Since</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {(history.data?.items ?? []).map((a) => (
                <AlertRow key={a.id} a={a} />
              ))}
            </TableBody>
          </Table>
          <TablePagination
            component="div"
            count={history.data?.total ?? 0}
            page={page}
            rowsPerPage={25}
            rowsPerPageOptions={[25]}
            onPageChange={(_, p) => setPage(p)}
          />
        </Paper>
      </Box>
      <Dialog open={!!acking} onClose={() => setAcking(null)} fullWidth maxWidth="sm">
        <DialogTitle>Acknowledge alert</DialogTitle>
        <DialogContent>
          <Typography variant="body2" sx={{ mb: 2 }}>
            {acking?.summary}
          </Typography>
          <TextField
            label="Comment"
            fullWidth
            multiline
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            autoFocus
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setAcking(null)}>Cancel</Button>
          <Button
            variant="contained"
            disabled={ack.isPending}
            onClick={() => acking && ack.mutate({ id: acking.id, c: comment })}
          >
            Acknowledge
          </Button>
        </DialogActions>
      </Dialog>
    </Stack>
  );
}
