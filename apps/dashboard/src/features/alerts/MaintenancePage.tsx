import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import { groupsQueries } from '../../api/fleet.queries';
import { alertActions, alertQueries, maintenanceKeys } from '../../api/alerts.queries';
import { errorMessage } from '../../api/client';
import { queryClient } from '../../api/query-client';
import { EmptyState } from '../../components/EmptyState';
import { GroupMultiSelect } from '../../components/GroupMultiSelect';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { formatDateTime } from '../../components/format';

/** Maintenance windows: one-off (from/until) or recurring (cron + duration in a time zone). */
export function MaintenancePage() {
  const notify = useNotify();
  const windows = useQuery(alertQueries.maintenance());
  const [name, setName] = useState('');
  const [agentIds, setAgentIds] = useState('');
  const [tag, setTag] = useState('');
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const groups = useQuery(groupsQueries.list({ limit: 100 }));
  const [cron, setCron] = useState('');
  const [duration, setDuration] = useState(60);
  const [timeZone, setTimeZone] = useState(
    Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  );
  const refresh = () => void queryClient.invalidateQueries({ queryKey: maintenanceKeys.all });
  const create = useMutation({
    mutationFn: () => {
      const [k, v] = tag.split(':');
      const match = {
        ...(agentIds.trim() ? { agentIds: agentIds.split(',').map((s) => s.trim()) } : {}),
        ...(tag.trim() ? { tags: { [k.trim()]: (v ?? '').trim() } } : {}),
        ...(groupIds.length ? { groupIds } : {}),
      };
      const now = Date.now();
      return alertActions.createWindow(
        cron
          ? { name, match, cron, durationMinutes: duration, timeZone }
          : {
              name,
              match,
              startsAt: new Date(now).toISOString(),
              endsAt: new Date(now + duration * 60_000).toISOString(),
              timeZone,
            },
      );
    },
    onSuccess: () => {
      notify('Maintenance window created');
      setName('');
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => alertActions.deleteWindow(id),
    onSuccess: refresh,
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  return (
    <Box>
      <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
        {create.error && <ErrorAlert error={create.error} sx={{ mb: 2 }} />}
        <Stack direction="row" spacing={1.5} sx={{ flexWrap: 'wrap', rowGap: 1.5 }}>
          <TextField
            size="small"
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <TextField
            size="small"
            label="Agent ids (comma-separated)"
            value={agentIds}
            onChange={(e) => setAgentIds(e.target.value)}
          />
          <TextField
            size="small"
            label="Tag (key:value)"
            value={tag}
            onChange={(e) => setTag(e.target.value)}
          />
          <GroupMultiSelect
            size="small"
            label="Agent groups"
            groups={groups.data?.items}
            value={groupIds}
            onChange={setGroupIds}
            sx={{ minWidth: 180 }}
          />
          <TextField
            size="small"
            label="Cron (empty: starts now)"
            value={cron}
            onChange={(e) => setCron(e.target.value)}
            placeholder="0 2 * * 0"
          />
          <TextField
            size="small"
            type="number"
            label="Duration (min)"
            value={duration}
            onChange={(e) => setDuration(Number(e.target.value))}
            sx={{ width: 130 }}
          />
          <TextField
            size="small"
            label="Time zone"
            value={timeZone}
            onChange={(e) => setTimeZone(e.target.value)}
          />
          <Button
            variant="contained"
            disabled={!name || create.isPending}
            onClick={() => create.mutate()}
          >
            Add window
          </Button>
        </Stack>
      </Paper>
      {windows.error && <ErrorAlert error={windows.error} />}
      {windows.data?.items.length === 0 && <EmptyState title="No maintenance windows" />}
      {!!windows.data?.items.length && (
        <Paper variant="outlined">
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Matches</TableCell>
                <TableCell>When</TableCell>
                <TableCell>State</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {windows.data.items.map((w) => (
                <TableRow key={w.id}>
                  <TableCell>
                    {w.name}
                    {w.source === 'agent' && <Chip size="small" label="agent" sx={{ ml: 1 }} />}
                  </TableCell>
                  <TableCell sx={{ fontSize: 12 }}>{JSON.stringify(w.match)}</TableCell>
                  <TableCell>
                    {w.cron
                      ? `${w.cron} for ${w.durationMinutes} min (${w.timeZone})`
                      : `${formatDateTime(w.startsAt)} → ${formatDateTime(w.endsAt)}`}
                  </TableCell>
                  <TableCell>
                    <Chip
                      size="small"
                      label={w.active ? 'active' : w.enabled ? 'scheduled' : 'disabled'}
                      color={w.active ? 'warning' : 'default'}
                    />
                  </TableCell>
                  <TableCell>
                    <Button size="small" color="error" onClick={() => remove.mutate(w.id)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Paper>
      )}
    </Box>
  );
}
