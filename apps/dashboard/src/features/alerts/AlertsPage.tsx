import { useMemo, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
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

function AlertRow({
  a,
  onAck,
  onResolve,
}: {
  a: AlertInstance;
  onAck?: () => void;
  onResolve?: () => void;
}) {
  return (
    <TableRow data-testid="alert-row" data-alert-id={a.id}>
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
        {a.suppressed && <Chip size="small" label="in maintenance" sx={{ ml: 0.5 }} />}
      </TableCell>
      <TableCell>{a.agentName ?? a.agentId ?? '—'}</TableCell>
      <TableCell>{a.summary}</TableCell>
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
  // Alerts of one rule across agents form a group, shown together.
  const groups = useMemo(() => {
    const m = new Map<string, AlertInstance[]>();
    for (const a of active.data ?? []) m.set(a.groupKey, [...(m.get(a.groupKey) ?? []), a]);
    return [...m.values()];
  }, [active.data]);

  return (
    <Stack spacing={3}>
      <Box>
        <Typography variant="h6" sx={{ mb: 1 }}>
          Active
        </Typography>
        {active.error && <ErrorAlert error={active.error} />}
        {groups.length === 0 && !active.isLoading && <EmptyState title="No active alerts" />}
        {groups.map((g) => (
          <Paper key={g[0].groupKey} variant="outlined" sx={{ mb: 2 }} data-testid="alert-group">
            <Box sx={{ px: 2, pt: 1.5, display: 'flex', gap: 1, alignItems: 'center' }}>
              <SeverityChip severity={g[0].severity} size="small" />
              <Typography variant="subtitle1">{g[0].ruleName}</Typography>
              <Typography variant="body2" color="text.secondary">
                {g.length} alert{g.length === 1 ? '' : 's'}
              </Typography>
            </Box>
            <Table size="small">
              <TableBody>
                {g.map((a) => (
                  <AlertRow
                    key={a.id}
                    a={a}
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
