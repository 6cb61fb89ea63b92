import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Checkbox from '@mui/material/Checkbox';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import FormControlLabel from '@mui/material/FormControlLabel';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Switch from '@mui/material/Switch';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import {
  ALERT_SEVERITIES,
  type AlertCondition,
  type AlertRule,
  type AlertSeverity,
} from '@agent-monitor/contracts';
import {
  alertActions,
  alertQueries,
  alertRulesKeys,
  escalationPoliciesKeys,
} from '../../api/alerts.queries';
import { groupsQueries } from '../../api/fleet.queries';
import { errorMessage } from '../../api/client';
import { queryClient } from '../../api/query-client';
import { EmptyState } from '../../components/EmptyState';
import { GroupMultiSelect } from '../../components/GroupMultiSelect';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { SeverityChip } from '../../components/SeverityChip';
import { ConditionEditor, defaultCondition } from './ConditionEditor';

function describe(c: AlertCondition): string {
  switch (c.kind) {
    case 'threshold':
      return `${c.aggregate === 'last' ? c.metric : `${c.aggregate}(${c.metric}, ${c.windowSec}s)`} ${c.op} ${c.value}`;
    case 'no_data':
      return `no ${c.metric ?? 'data'} for ${c.forSec}s`;
    case 'agent_status':
      return `status ${c.statuses.join('/')} for ${c.forSec}s`;
    case 'watchdog':
      return 'always (watchdog)';
    case 'group_unreachable':
      return `more than ${Math.round(c.fraction * 100)}% of a group${c.includeRegions ? ' or region' : ''} (≥ ${c.minMembers} agents) ${c.statuses.join('/')}`;
    case 'and':
    case 'or':
      return `(${c.conditions.map(describe).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
  }
}

function describeScope(r: AlertRule): string {
  const s = r.scope;
  const parts: string[] = [];
  if (s.groupIds?.length)
    parts.push(`${s.groupIds.length} group${s.groupIds.length === 1 ? '' : 's'}`);
  if (s.agentIds?.length)
    parts.push(`${s.agentIds.length} agent${s.agentIds.length === 1 ? '' : 's'}`);
  if (s.tags && Object.keys(s.tags).length)
    parts.push(
      Object.entries(s.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    );
  if (s.type) parts.push(`type ${s.type}`);
  if (s.environment) parts.push(`env ${s.environment}`);
  return parts.join(' · ') || 'all agents';
}

function RuleEditor({ open, onClose }: { open: boolean; onClose: () => void }) {
  const notify = useNotify();
  const channels = useQuery({ ...alertQueries.channels(), enabled: open });
  const groups = useQuery({ ...groupsQueries.list({ limit: 100 }), enabled: open });
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const policies = useQuery({ ...alertQueries.escalationPolicies(), enabled: open });
  const [policyId, setPolicyId] = useState('');
  const [name, setName] = useState('');
  const [severity, setSeverity] = useState<AlertSeverity>('warning');
  const [forSec, setForSec] = useState(0);
  const [summary, setSummary] = useState('{{rule.name}} on {{agent.name}}: {{value}}');
  const [channelIds, setChannelIds] = useState<string[]>([]);
  const [condition, setCondition] = useState<AlertCondition>(defaultCondition('threshold'));
  const preview = useMutation({
    mutationFn: () => alertActions.preview({ condition, forSec }),
  });
  const save = useMutation({
    mutationFn: () =>
      alertActions.createRule({
        name,
        severity,
        forSec,
        summaryTemplate: summary,
        channelIds,
        escalationPolicyId: policyId || null,
        condition,
        scope: groupIds.length ? { groupIds } : {},
      }),
    onSuccess: () => {
      notify('Rule created');
      void queryClient.invalidateQueries({ queryKey: alertRulesKeys.all });
      // A policy lists the rules that use it.
      void queryClient.invalidateQueries({ queryKey: escalationPoliciesKeys.all });
      onClose();
    },
  });
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="md">
      <DialogTitle>New alert rule</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          {save.error && <ErrorAlert error={save.error} />}
          <Stack direction="row" spacing={2}>
            <TextField
              label="Name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              fullWidth
              required
              slotProps={{ htmlInput: { 'data-testid': 'rule-name' } }}
            />
            <TextField
              select
              label="Severity"
              value={severity}
              onChange={(e) => setSeverity(e.target.value as AlertSeverity)}
              sx={{ minWidth: 140 }}
            >
              {ALERT_SEVERITIES.map((s) => (
                <MenuItem key={s} value={s}>
                  {s}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              label="For (s)"
              type="number"
              value={forSec}
              onChange={(e) => setForSec(Number(e.target.value))}
              sx={{ width: 120 }}
            />
          </Stack>
          <GroupMultiSelect
            label="Agent groups (empty: all agents)"
            groups={groups.data?.items}
            value={groupIds}
            onChange={setGroupIds}
            inputTestId="rule-groups"
            helperText="Only agents in one of these groups (explicit members or by tag selector)"
          />
          <Typography variant="subtitle2">Condition</Typography>
          <ConditionEditor value={condition} onChange={setCondition} />
          <Typography variant="body2" color="text.secondary">
            Fires when {describe(condition)}
          </Typography>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
            <Button
              size="small"
              variant="outlined"
              onClick={() => preview.mutate()}
              disabled={preview.isPending}
              data-testid="rule-preview"
            >
              Preview last 24 h
            </Button>
            {preview.error && (
              <Typography variant="body2" color="error">
                {errorMessage(preview.error)}
              </Typography>
            )}
            {preview.data?.backtest && (
              <Typography variant="body2" data-testid="rule-preview-result">
                Would have fired {preview.data.backtest.events.length} time
                {preview.data.backtest.events.length === 1 ? '' : 's'} on{' '}
                {preview.data.backtest.agents} agent
                {preview.data.backtest.agents === 1 ? '' : 's'} ({preview.data.backtest.points}{' '}
                points)
              </Typography>
            )}
          </Stack>
          <TextField
            label="Summary"
            value={summary}
            onChange={(e) => setSummary(e.target.value)}
            helperText="Placeholders: {{agent.name}} {{value}} {{threshold}} {{rule.name}} {{labels.x}}"
          />
          <Box>
            <Typography variant="subtitle2">Notify</Typography>
            {(channels.data?.items ?? []).map((c) => (
              <FormControlLabel
                key={c.id}
                label={`${c.name} (${c.type})`}
                control={
                  <Checkbox
                    checked={channelIds.includes(c.id)}
                    onChange={(e) =>
                      setChannelIds(
                        e.target.checked
                          ? [...channelIds, c.id]
                          : channelIds.filter((x) => x !== c.id),
                      )
                    }
                  />
                }
              />
            ))}
            {channels.data?.items.length === 0 && (
              <Typography variant="body2" color="text.secondary">
                No channels yet.
              </Typography>
            )}
          </Box>
          <TextField
            select
            label="Escalation policy"
            value={policyId}
            onChange={(e) => setPolicyId(e.target.value)}
            helperText={
              policies.data?.items.length === 0
                ? 'No escalation policies yet (Escalation tab).'
                : 'While a firing alert stays unacknowledged, the policy notifies step by step.'
            }
            slotProps={{
              select: {
                displayEmpty: true,
                SelectDisplayProps: { 'data-testid': 'rule-escalation-policy' } as object,
              },
              inputLabel: { shrink: true },
            }}
          >
            <MenuItem value="">
              <em>None</em>
            </MenuItem>
            {(policies.data?.items ?? []).map((p) => (
              <MenuItem key={p.id} value={p.id}>
                {p.name} ({p.steps.length} step{p.steps.length === 1 ? '' : 's'})
              </MenuItem>
            ))}
          </TextField>
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!name || save.isPending}
          onClick={() => save.mutate()}
          data-testid="rule-save"
        >
          Create rule
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export function RulesPage() {
  const notify = useNotify();
  const rules = useQuery(alertQueries.rules());
  const policies = useQuery(alertQueries.escalationPolicies());
  const [editing, setEditing] = useState(false);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: alertRulesKeys.all });
    void queryClient.invalidateQueries({ queryKey: escalationPoliciesKeys.all });
  };
  const toggle = useMutation({
    mutationFn: (r: AlertRule) => alertActions.updateRule(r.id, { enabled: !r.enabled }),
    onSuccess: refresh,
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  const setPolicy = useMutation({
    mutationFn: ({ rule, policyId }: { rule: AlertRule; policyId: string | null }) =>
      alertActions.updateRule(rule.id, { escalationPolicyId: policyId }),
    onSuccess: () => {
      notify('Escalation policy changed');
      refresh();
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  const remove = useMutation({
    mutationFn: (id: string) => alertActions.deleteRule(id),
    onSuccess: () => {
      notify('Rule deleted');
      refresh();
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  return (
    <Box>
      <Stack direction="row" sx={{ mb: 2 }}>
        <Box sx={{ flex: 1 }} />
        <Button variant="contained" onClick={() => setEditing(true)} data-testid="new-rule">
          New rule
        </Button>
      </Stack>
      {rules.error && <ErrorAlert error={rules.error} />}
      {rules.data?.items.length === 0 && <EmptyState title="No alert rules yet" />}
      {!!rules.data?.items.length && (
        <Paper variant="outlined">
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Enabled</TableCell>
                <TableCell>Name</TableCell>
                <TableCell>Severity</TableCell>
                <TableCell>Condition</TableCell>
                <TableCell>Scope</TableCell>
                <TableCell>Escalation</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {rules.data.items.map((r) => (
                <TableRow key={r.id}>
                  <TableCell>
                    <Switch checked={r.enabled} onChange={() => toggle.mutate(r)} size="small" />
                  </TableCell>
                  <TableCell>{r.name}</TableCell>
                  <TableCell>
                    <SeverityChip severity={r.severity} size="small" />
                  </TableCell>
                  <TableCell sx={{ fontFamily: 'monospace', fontSize: 13 }}>
                    {describe(r.condition)}
                    {r.forSec ? ` for ${r.forSec}s` : ''}
                  </TableCell>
                  <TableCell data-testid="rule-scope">{describeScope(r)}</TableCell>
                  <TableCell>
                    <TextField
                      select
                      variant="standard"
                      size="small"
                      value={
                        policies.data?.items.some((p) => p.id === r.escalationPolicyId)
                          ? (r.escalationPolicyId ?? '')
                          : ''
                      }
                      onChange={(e) =>
                        setPolicy.mutate({ rule: r, policyId: e.target.value || null })
                      }
                      disabled={!policies.data || setPolicy.isPending}
                      sx={{ minWidth: 160 }}
                      slotProps={{
                        select: { displayEmpty: true },
                        htmlInput: { 'aria-label': `Escalation policy of ${r.name}` },
                      }}
                    >
                      <MenuItem value="">
                        <em>None</em>
                      </MenuItem>
                      {(policies.data?.items ?? []).map((p) => (
                        <MenuItem key={p.id} value={p.id}>
                          {p.name}
                        </MenuItem>
                      ))}
                    </TextField>
                  </TableCell>
                  <TableCell>
                    <Button size="small" color="error" onClick={() => remove.mutate(r.id)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Paper>
      )}
      {editing && <RuleEditor open onClose={() => setEditing(false)} />}
    </Box>
  );
}
