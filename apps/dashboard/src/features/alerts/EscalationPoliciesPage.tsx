import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
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
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import ArrowDownward from '@mui/icons-material/ArrowDownward';
import ArrowUpward from '@mui/icons-material/ArrowUpward';
import DeleteOutlined from '@mui/icons-material/DeleteOutlined';
import TrendingUp from '@mui/icons-material/TrendingUp';
import type { EscalationPolicy, NotificationChannel } from '@agent-monitor/contracts';
import { alertActions, alertQueries, escalationPoliciesKeys } from '../../api/alerts.queries';
import { queryClient } from '../../api/query-client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { TableSkeleton } from '../../components/Skeletons';

interface StepDraft {
  /** Kept as typed so an empty field is not silently 0. */
  afterMinutes: string;
  channelIds: string[];
}

const refresh = () => void queryClient.invalidateQueries({ queryKey: escalationPoliciesKeys.all });

/** What is wrong with the draft steps, or null; the API checks the same and names the field. */
function stepsProblem(steps: StepDraft[]): string | null {
  if (!steps.length) return 'Add at least one step.';
  for (const [i, s] of steps.entries()) {
    const m = Number(s.afterMinutes);
    if (s.afterMinutes.trim() === '' || !Number.isFinite(m) || m < 0)
      return `Step ${i + 1}: minutes must be 0 or more.`;
    if (!s.channelIds.length) return `Step ${i + 1}: pick at least one channel.`;
    if (i > 0 && m < Number(steps[i - 1].afterMinutes))
      return `Step ${i + 1} comes before step ${i}: minutes must not decrease down the list.`;
  }
  return null;
}

function PolicyEditor({
  policy,
  channels,
  onClose,
}: {
  policy: EscalationPolicy | null;
  channels: NotificationChannel[];
  onClose: () => void;
}) {
  const notify = useNotify();
  const [name, setName] = useState(policy?.name ?? '');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [repeat, setRepeat] = useState(
    policy?.repeatEveryMinutes ? String(policy.repeatEveryMinutes) : '',
  );
  const [steps, setSteps] = useState<StepDraft[]>(
    policy?.steps.map((s) => ({
      afterMinutes: String(s.afterMinutes),
      channelIds: s.channelIds,
    })) ?? [{ afterMinutes: '0', channelIds: [] }],
  );
  const problem = stepsProblem(steps);
  const repeatBad = repeat.trim() !== '' && !(Number(repeat) >= 1);
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name,
        description: description.trim() ? description : null,
        steps: steps.map((s) => ({
          afterMinutes: Number(s.afterMinutes),
          channelIds: s.channelIds,
        })),
        repeatEveryMinutes: repeat.trim() ? Number(repeat) : null,
      };
      return policy ? alertActions.updatePolicy(policy.id, body) : alertActions.createPolicy(body);
    },
    onSuccess: () => {
      notify(policy ? 'Escalation policy saved' : 'Escalation policy created');
      refresh();
      onClose();
    },
  });
  const setStep = (i: number, patch: Partial<StepDraft>) =>
    setSteps(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const move = (i: number, by: -1 | 1) => {
    const next = [...steps];
    [next[i], next[i + by]] = [next[i + by], next[i]];
    setSteps(next);
  };
  const channelName = (id: string) => channels.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="md">
      <DialogTitle>{policy ? `Edit ${policy.name}` : 'New escalation policy'}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          {save.error && <ErrorAlert error={save.error} />}
          <TextField
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            slotProps={{ htmlInput: { 'data-testid': 'policy-name' } }}
          />
          <TextField
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <Typography variant="subtitle2">
            Steps — while a firing alert is not acknowledged, each step notifies its channels the
            given number of minutes after the alert fired.
          </Typography>
          {!channels.length && (
            <Typography variant="body2" color="text.secondary">
              No notification channels yet: create one on the Channels tab first.
            </Typography>
          )}
          {steps.map((s, i) => (
            <Stack
              key={i}
              direction="row"
              spacing={1.5}
              sx={{ alignItems: 'center' }}
              data-testid={`policy-step-${i}`}
            >
              <Typography variant="body2" sx={{ width: 52, color: 'text.secondary' }}>
                Step {i + 1}
              </Typography>
              <TextField
                size="small"
                type="number"
                label="After (min)"
                value={s.afterMinutes}
                onChange={(e) => setStep(i, { afterMinutes: e.target.value })}
                sx={{ width: 120 }}
                slotProps={{ htmlInput: { min: 0, 'data-testid': `policy-step-minutes-${i}` } }}
              />
              <TextField
                select
                size="small"
                label="Channels"
                value={s.channelIds}
                onChange={(e) => {
                  const v = e.target.value as unknown as string[] | string;
                  setStep(i, { channelIds: typeof v === 'string' ? v.split(',') : v });
                }}
                sx={{ flex: 1, minWidth: 220 }}
                slotProps={{
                  select: {
                    multiple: true,
                    renderValue: (v) => (
                      <Box sx={{ display: 'flex', flexWrap: 'wrap', gap: 0.5 }}>
                        {(v as string[]).map((id) => (
                          <Chip key={id} size="small" label={channelName(id)} />
                        ))}
                      </Box>
                    ),
                    SelectDisplayProps: { 'data-testid': `policy-step-channels-${i}` } as object,
                  },
                }}
              >
                {channels.map((c) => (
                  <MenuItem key={c.id} value={c.id}>
                    {c.name} ({c.type})
                  </MenuItem>
                ))}
              </TextField>
              <Tooltip title="Move up">
                <span>
                  <IconButton
                    size="small"
                    aria-label={`Move step ${i + 1} up`}
                    disabled={i === 0}
                    onClick={() => move(i, -1)}
                  >
                    <ArrowUpward fontSize="small" />
                  </IconButton>
                </span>
              </Tooltip>
              <Tooltip title="Move down">
                <span>
                  <IconButton
                    size="small"
                    aria-label={`Move step ${i + 1} down`}
                    disabled={i === steps.length - 1}
                    onClick={() => move(i, 1)}
                  >
                    <ArrowDownward fontSize="small" />
                  </IconButton>
                </span>
              </Tooltip>
              <Tooltip title="Remove step">
                <span>
                  <IconButton
                    size="small"
                    aria-label={`Remove step ${i + 1}`}
                    disabled={steps.length === 1}
                    onClick={() => setSteps(steps.filter((_, j) => j !== i))}
                  >
                    <DeleteOutlined fontSize="small" />
                  </IconButton>
                </span>
              </Tooltip>
            </Stack>
          ))}
          <Box>
            <Button
              size="small"
              disabled={steps.length >= 10}
              onClick={() =>
                setSteps([
                  ...steps,
                  {
                    afterMinutes: String(Number(steps[steps.length - 1]?.afterMinutes ?? 0) + 15),
                    channelIds: [],
                  },
                ])
              }
              data-testid="policy-add-step"
            >
              Add step
            </Button>
          </Box>
          <TextField
            size="small"
            type="number"
            label="Repeat last step every (min)"
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            error={repeatBad}
            helperText={
              repeatBad ? 'At least 1 minute, or empty for no repeat' : 'Empty: never repeat'
            }
            sx={{ width: 280 }}
          />
          {problem && (
            <Typography variant="body2" color="warning.main" data-testid="policy-problem">
              {problem}
            </Typography>
          )}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!name.trim() || !!problem || repeatBad || save.isPending}
          onClick={() => save.mutate()}
          data-testid="policy-save"
        >
          {policy ? 'Save' : 'Create policy'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Escalation policies: reusable ordered steps that alert rules pick by name. */
export function EscalationPoliciesPage() {
  const notify = useNotify();
  const policies = useQuery(alertQueries.escalationPolicies());
  const channels = useQuery(alertQueries.channels());
  const [editing, setEditing] = useState<EscalationPolicy | 'new' | null>(null);
  const [deleting, setDeleting] = useState<EscalationPolicy | null>(null);
  const channelName = (id: string) =>
    channels.data?.items.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  const newButton = (
    <Button variant="contained" onClick={() => setEditing('new')} data-testid="new-policy">
      New policy
    </Button>
  );
  return (
    <Box>
      <Stack direction="row" sx={{ mb: 2, alignItems: 'center' }}>
        <Typography variant="body2" color="text.secondary" sx={{ flex: 1 }}>
          A firing alert that nobody acknowledges walks down its rule&apos;s policy, step by step;
          an acknowledgement stops it.
        </Typography>
        {newButton}
      </Stack>
      {policies.error && <ErrorAlert error={policies.error} />}
      {policies.isPending && (
        <Paper variant="outlined">
          <TableSkeleton rows={4} columns={5} />
        </Paper>
      )}
      {policies.data?.items.length === 0 && (
        <Paper variant="outlined">
          <EmptyState
            title="No escalation policies"
            description="Create one, then pick it in an alert rule to page more people the longer an alert stays unacknowledged."
            icon={<TrendingUp />}
            action={newButton}
          />
        </Paper>
      )}
      {!!policies.data?.items.length && (
        <Paper variant="outlined">
          <Table size="small" data-testid="policies-table">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Steps</TableCell>
                <TableCell>Repeat</TableCell>
                <TableCell>Used by</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {policies.data.items.map((p) => (
                <TableRow key={p.id}>
                  <TableCell>
                    {p.name}
                    {p.description && (
                      <Typography variant="caption" color="text.secondary" component="div">
                        {p.description}
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell>
                    <Stack spacing={0.5}>
                      {p.steps.map((s, i) => (
                        <Typography key={i} variant="body2">
                          {i + 1}. after {s.afterMinutes} min →{' '}
                          {s.channelIds.map(channelName).join(', ')}
                        </Typography>
                      ))}
                    </Stack>
                  </TableCell>
                  <TableCell>
                    {p.repeatEveryMinutes ? `every ${p.repeatEveryMinutes} min` : '—'}
                  </TableCell>
                  <TableCell>
                    {p.rules.length ? (
                      <Tooltip title={p.rules.map((r) => r.name).join(', ')}>
                        <Chip size="small" label={`${p.rules.length} rule(s)`} />
                      </Tooltip>
                    ) : (
                      <Typography variant="body2" color="text.secondary">
                        no rules
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                    <Button size="small" onClick={() => setEditing(p)}>
                      Edit
                    </Button>
                    <Button size="small" color="error" onClick={() => setDeleting(p)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Paper>
      )}
      {editing && (
        <PolicyEditor
          policy={editing === 'new' ? null : editing}
          channels={channels.data?.items ?? []}
          onClose={() => setEditing(null)}
        />
      )}
      <ConfirmDialog
        open={!!deleting}
        title="Delete escalation policy?"
        description={
          deleting?.rules.length
            ? `${deleting.name} is used by ${deleting.rules.map((r) => r.name).join(', ')}; point those rules at another policy first.`
            : `${deleting?.name ?? ''} will be deleted.`
        }
        confirmLabel="Delete"
        destructive
        onConfirm={async () => {
          if (!deleting) return;
          await alertActions.deletePolicy(deleting.id);
          notify('Escalation policy deleted');
          refresh();
        }}
        onClose={() => setDeleting(null)}
      />
    </Box>
  );
}
