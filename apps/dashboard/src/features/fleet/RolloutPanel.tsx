import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import LinearProgress from '@mui/material/LinearProgress';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import type { AgentGroup, Rollout, RolloutState, RolloutStrategy } from '@agent-monitor/contracts';
import { rolloutsApi, rolloutsKeys, rolloutsQueries, groupsKeys } from '../../api/fleet.queries';
import { useSocketEvent } from '../../api/socket';
import { useAuth } from '../../app/auth';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatRelative } from '../../components/format';
import { MONO_FONT } from '../../app/theme';

const STATE_COLOR: Record<RolloutState, 'info' | 'warning' | 'success' | 'error'> = {
  running: 'info',
  paused: 'warning',
  completed: 'success',
  aborted: 'warning',
  rolled_back: 'error',
};

export function PushConfigDialog({
  group,
  open,
  onClose,
}: {
  group: AgentGroup;
  open: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const current = useQuery({ ...rolloutsQueries.groupConfig(group.id), enabled: open });
  const [text, setText] = useState('');
  const [strategy, setStrategy] = useState<RolloutStrategy>('staged');
  const [canary, setCanary] = useState('10');
  const [batchSize, setBatchSize] = useState('5');
  const [pause, setPause] = useState('5');
  let parsed: Record<string, unknown> | null = null;
  let parseError: string | null = null;
  const source = text || (current.data ? JSON.stringify(current.data.config, null, 2) : '{}');
  try {
    const v: unknown = JSON.parse(source);
    if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
    else parseError = 'must be a JSON object';
  } catch (e) {
    parseError = (e as Error).message;
  }
  const push = useMutation({
    mutationFn: () =>
      rolloutsApi.putConfig(group.id, {
        config: parsed ?? {},
        strategy,
        ...(strategy === 'staged'
          ? { canaryPercent: Number(canary) || undefined, batchSize: Number(batchSize) }
          : {}),
        pauseSec: Number(pause),
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: rolloutsKeys.all });
      void qc.invalidateQueries({ queryKey: groupsKeys.key('config', group.id) });
      setText('');
      onClose();
    },
  });
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>Push configuration to {group.name}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <Typography variant="body2" color="text.secondary">
            {group.memberCount} agents. Each keeps its own settings; these keys are laid over them.
            {current.data && ` Current group version: ${current.data.version}.`}
          </Typography>
          <TextField
            label="Config (JSON)"
            multiline
            minRows={5}
            value={source}
            onChange={(e) => setText(e.target.value)}
            error={!!parseError}
            helperText={parseError ?? ' '}
            slotProps={{
              htmlInput: { style: { fontFamily: MONO_FONT }, 'aria-label': 'Config JSON' },
            }}
          />
          <Stack direction="row" spacing={2}>
            <TextField
              select
              label="Strategy"
              value={strategy}
              onChange={(e) => setStrategy(e.target.value as RolloutStrategy)}
              sx={{ minWidth: 140 }}
            >
              <MenuItem value="all">All at once</MenuItem>
              <MenuItem value="staged">Staged</MenuItem>
            </TextField>
            {strategy === 'staged' && (
              <>
                <TextField
                  label="Canary %"
                  value={canary}
                  onChange={(e) => setCanary(e.target.value)}
                />
                <TextField
                  label="Batch size"
                  value={batchSize}
                  onChange={(e) => setBatchSize(e.target.value)}
                />
              </>
            )}
            <TextField label="Pause (s)" value={pause} onChange={(e) => setPause(e.target.value)} />
          </Stack>
          {push.error && <ErrorAlert error={push.error} />}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!!parseError || push.isPending}
          onClick={() => push.mutate()}
        >
          Start rollout
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function RolloutView({ r }: { r: Rollout }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const act = useMutation({
    mutationFn: (a: 'pause' | 'resume' | 'abort') => rolloutsApi[a](r.id),
    onSettled: () => void qc.invalidateQueries({ queryKey: rolloutsKeys.all }),
  });
  const total = r.agents.length || 1;
  const done = r.counts.acked + r.counts.rolled_back;
  const active = r.state === 'running' || r.state === 'paused';
  return (
    <Stack spacing={1} data-testid="rollout" data-state={r.state}>
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap' }}>
        <Typography variant="subtitle2">Version {r.version}</Typography>
        <Alert
          severity={STATE_COLOR[r.state]}
          icon={false}
          sx={{ py: 0, px: 1 }}
          data-testid="rollout-state"
        >
          {r.state.replace('_', ' ')}
        </Alert>
        <Typography variant="body2" color="text.secondary">
          {r.strategy === 'staged'
            ? `batch ${Math.min(r.currentBatch + 1, r.batchCount)} of ${r.batchCount}`
            : 'all at once'}{' '}
          · {r.counts.acked}/{r.agents.length} applied · started {formatRelative(r.createdAt)}
        </Typography>
        {can('operator') && active && (
          <Stack direction="row" spacing={1}>
            {r.state === 'running' ? (
              <Button size="small" onClick={() => act.mutate('pause')}>
                Pause
              </Button>
            ) : (
              <Button size="small" onClick={() => act.mutate('resume')}>
                Resume
              </Button>
            )}
            <Button size="small" color="error" onClick={() => act.mutate('abort')}>
              Abort
            </Button>
          </Stack>
        )}
      </Stack>
      <LinearProgress
        variant="determinate"
        value={(done / total) * 100}
        color={
          r.state === 'rolled_back' ? 'error' : r.state === 'completed' ? 'success' : 'primary'
        }
      />
      {r.reason && (
        <Typography variant="caption" color="text.secondary">
          {r.reason}
        </Typography>
      )}
      {act.error && <ErrorAlert error={act.error} />}
    </Stack>
  );
}

/** The group's latest rollout, live (`rollout_updated`). */
export function RolloutPanel({ group }: { group: AgentGroup }) {
  const qc = useQueryClient();
  const rollouts = useQuery(rolloutsQueries.ofGroup(group.id, 1));
  useSocketEvent('rollout_updated', (e) => {
    if (e.rollout.groupId === group.id) void qc.invalidateQueries({ queryKey: rolloutsKeys.all });
  });
  const latest = rollouts.data?.items[0];
  if (!latest) return null;
  return <RolloutView r={latest} />;
}
