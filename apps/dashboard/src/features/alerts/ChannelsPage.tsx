import { useState } from 'react';
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
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import {
  CHANNEL_TYPES,
  type ChannelType,
  type NotificationChannel,
} from '@agent-monitor/contracts';
import { alertActions, alertQueries, channelsKeys } from '../../api/alerts.queries';
import { errorMessage } from '../../api/client';
import { queryClient } from '../../api/query-client';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { formatRelative } from '../../components/format';

function ChannelDialog({ onClose }: { onClose: () => void }) {
  const notify = useNotify();
  const [type, setType] = useState<ChannelType>('webhook');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [to, setTo] = useState('');
  const config =
    type === 'email'
      ? {
          to: to
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : type === 'webhook'
        ? { url, ...(secret ? { secret } : {}) }
        : { webhookUrl: url };
  const save = useMutation({
    mutationFn: () => alertActions.createChannel({ type, name, config }),
    onSuccess: () => {
      notify('Channel created');
      void queryClient.invalidateQueries({ queryKey: channelsKeys.all });
      onClose();
    },
  });
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>New notification channel</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          {save.error && <ErrorAlert error={save.error} />}
          <TextField
            select
            label="Type"
            value={type}
            onChange={(e) => setType(e.target.value as ChannelType)}
          >
            {CHANNEL_TYPES.map((t) => (
              <MenuItem key={t} value={t}>
                {t}
              </MenuItem>
            ))}
          </TextField>
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          {type === 'email' ? (
            <TextField
              label="Recipients (comma-separated)"
              value={to}
              onChange={(e) => setTo(e.target.value)}
              helperText="Sent through the server's SMTP_URL"
            />
          ) : (
            <TextField
              label={type === 'webhook' ? 'URL' : 'Incoming webhook URL'}
              value={url}
              onChange={(e) => setUrl(e.target.value)}
            />
          )}
          {type === 'webhook' && (
            <TextField
              label="HMAC secret (optional, ≥ 16 characters)"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              type="password"
              helperText="Bodies are signed in X-AM-Signature: sha256=<hex>"
            />
          )}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!name || save.isPending}
          onClick={() => save.mutate()}
        >
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function DeliveryLog({ channel }: { channel: NotificationChannel }) {
  const log = useQuery(alertQueries.deliveries(channel.id));
  return (
    <Box sx={{ p: 2 }}>
      <Typography variant="subtitle2" sx={{ mb: 1 }}>
        Delivery log: {channel.name}
      </Typography>
      {log.error && <ErrorAlert error={log.error} />}
      <Table size="small">
        <TableHead>
          <TableRow>
            <TableCell>When</TableCell>
            <TableCell>Event</TableCell>
            <TableCell>Status</TableCell>
            <TableCell>Attempts (status / duration / error)</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {(log.data?.items ?? []).map((d) => (
            <TableRow key={d.id}>
              <TableCell>{formatRelative(d.createdAt)}</TableCell>
              <TableCell>{d.event}</TableCell>
              <TableCell>
                <Chip
                  size="small"
                  label={d.status}
                  color={
                    d.status === 'delivered'
                      ? 'success'
                      : d.status === 'failed'
                        ? 'error'
                        : 'default'
                  }
                />
              </TableCell>
              <TableCell sx={{ fontSize: 12 }}>
                {d.attemptLog
                  .map(
                    (a) =>
                      `#${a.attempt} ${a.statusCode ?? '—'} ${a.durationMs}ms${a.error ? ` ${a.error}` : ''}`,
                  )
                  .join(' · ')}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Box>
  );
}

export function ChannelsPage() {
  const notify = useNotify();
  const channels = useQuery(alertQueries.channels());
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<NotificationChannel | null>(null);
  const test = useMutation({
    mutationFn: (id: string) => alertActions.testChannel(id),
    onSuccess: (r) =>
      notify(
        r.ok
          ? `Delivered (${r.statusCode ?? 'ok'}, ${r.durationMs} ms)`
          : `Failed: ${r.error ?? r.statusCode}`,
        r.ok ? 'success' : 'error',
      ),
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  const remove = useMutation({
    mutationFn: (id: string) => alertActions.deleteChannel(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: channelsKeys.all }),
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  return (
    <Box>
      <Stack direction="row" sx={{ mb: 2 }}>
        <Box sx={{ flex: 1 }} />
        <Button variant="contained" onClick={() => setCreating(true)}>
          New channel
        </Button>
      </Stack>
      {channels.error && <ErrorAlert error={channels.error} />}
      {channels.data?.items.length === 0 && <EmptyState title="No notification channels yet" />}
      {!!channels.data?.items.length && (
        <Paper variant="outlined">
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Type</TableCell>
                <TableCell>Target</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {channels.data.items.map((c) => (
                <TableRow
                  key={c.id}
                  hover
                  selected={selected?.id === c.id}
                  onClick={() => setSelected(c)}
                  sx={{ cursor: 'pointer' }}
                >
                  <TableCell>{c.name}</TableCell>
                  <TableCell>{c.type}</TableCell>
                  <TableCell sx={{ fontFamily: 'monospace', fontSize: 12 }}>
                    {String(
                      c.config.url ??
                        c.config.webhookUrl ??
                        (c.config.to as string[] | undefined)?.join(', ') ??
                        '',
                    )}
                  </TableCell>
                  <TableCell onClick={(e) => e.stopPropagation()}>
                    <Button
                      size="small"
                      onClick={() => test.mutate(c.id)}
                      disabled={test.isPending}
                    >
                      Test
                    </Button>
                    <Button size="small" color="error" onClick={() => remove.mutate(c.id)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          {selected && <DeliveryLog channel={selected} />}
        </Paper>
      )}
      {creating && <ChannelDialog onClose={() => setCreating(false)} />}
    </Box>
  );
}
