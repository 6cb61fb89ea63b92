import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import IconButton from '@mui/material/IconButton';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import FormControlLabel from '@mui/material/FormControlLabel';
import Switch from '@mui/material/Switch';
import DeleteOutline from '@mui/icons-material/DeleteOutlined';
import {
  ALERT_STATUS_CONDITIONS,
  MAX_CONDITION_DEPTH,
  THRESHOLD_OPS,
  TOP_LEVEL_ONLY_KINDS,
  DEFAULT_MEMBER_HOLD_SEC,
  UNREACHABLE_STATUSES,
  WINDOW_AGGREGATES,
  type AlertCondition,
} from '@agent-monitor/contracts';

type Kind = AlertCondition['kind'];

export function defaultCondition(kind: Kind): AlertCondition {
  switch (kind) {
    case 'threshold':
      return { kind, metric: 'cpu_usage', op: '>', value: 90, aggregate: 'last', windowSec: 0 };
    case 'no_data':
      return { kind, metric: undefined, forSec: 300 };
    case 'agent_status':
      return { kind, statuses: ['offline'], forSec: 60 };
    case 'watchdog':
      return { kind };
    case 'group_unreachable':
      return {
        kind,
        fraction: 0.5,
        minMembers: 3,
        statuses: ['offline', 'stale', 'down'],
        includeRegions: true,
        memberHoldSec: DEFAULT_MEMBER_HOLD_SEC,
      };
    case 'and':
    case 'or':
      return { kind, conditions: [defaultCondition('threshold')] };
  }
}

/** Multi-select of agent statuses (status rules, group-unreachable rules). */
function StatusMultiSelect<S extends string>({
  label,
  options,
  value,
  onChange,
}: {
  label: string;
  options: readonly S[];
  value: S[];
  onChange: (v: S[]) => void;
}) {
  return (
    <TextField
      select
      size="small"
      label={label}
      value={value}
      // A multiple select hands back the selected values as an array.
      onChange={(e) => onChange(e.target.value as unknown as S[])}
      slotProps={{ select: { multiple: true } }}
      sx={{ minWidth: 160 }}
    >
      {options.map((s) => (
        <MenuItem key={s} value={s}>
          {s}
        </MenuItem>
      ))}
    </TextField>
  );
}

const KIND_LABELS: Record<Kind, string> = {
  threshold: 'Threshold',
  no_data: 'No data',
  agent_status: 'Agent status',
  watchdog: 'Watchdog (always fires)',
  group_unreachable: 'Group unreachable',
  and: 'All of (AND)',
  or: 'Any of (OR)',
};

/**
 * Builds a condition tree visually: leaves are threshold/no-data/status, AND/OR nest them.
 * Watchdog and group-unreachable are whole conditions (offered at the top level only).
 */
export function ConditionEditor({
  value,
  onChange,
  onRemove,
  depth = 0,
  path = 'condition',
}: {
  value: AlertCondition;
  onChange: (c: AlertCondition) => void;
  onRemove?: () => void;
  depth?: number;
  path?: string;
}) {
  const kinds = (Object.keys(KIND_LABELS) as Kind[]).filter(
    (k) =>
      (depth < MAX_CONDITION_DEPTH || (k !== 'and' && k !== 'or')) &&
      (depth === 0 || !(TOP_LEVEL_ONLY_KINDS as readonly string[]).includes(k)),
  );
  return (
    <Paper
      variant="outlined"
      sx={{ p: 1.5, pl: 2, borderLeftWidth: 3 }}
      data-testid={`cond-${path}`}
    >
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap', rowGap: 1 }}>
        <TextField
          select
          size="small"
          label="Kind"
          value={value.kind}
          onChange={(e) => onChange(defaultCondition(e.target.value as Kind))}
          sx={{ minWidth: 150 }}
          slotProps={{ htmlInput: { 'data-testid': `${path}-kind` } }}
        >
          {kinds.map((k) => (
            <MenuItem key={k} value={k}>
              {KIND_LABELS[k]}
            </MenuItem>
          ))}
        </TextField>
        {value.kind === 'threshold' && (
          <>
            <TextField
              size="small"
              label="Metric"
              value={value.metric}
              onChange={(e) => onChange({ ...value, metric: e.target.value })}
              title="One alert per label set of a labelled metric; narrow with {label=value} (* = any)"
              placeholder="ai_metrics.inference_time{model=gpt4}"
              slotProps={{ htmlInput: { 'data-testid': `${path}-metric` } }}
            />
            <TextField
              select
              size="small"
              label="Aggregate"
              value={value.aggregate}
              onChange={(e) =>
                onChange({ ...value, aggregate: e.target.value as typeof value.aggregate })
              }
              sx={{ minWidth: 100 }}
            >
              {WINDOW_AGGREGATES.map((a) => (
                <MenuItem key={a} value={a}>
                  {a}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              size="small"
              type="number"
              label="Window (s)"
              value={value.windowSec}
              onChange={(e) => onChange({ ...value, windowSec: Number(e.target.value) })}
              sx={{ width: 110 }}
            />
            <TextField
              select
              size="small"
              label="Op"
              value={value.op}
              onChange={(e) => onChange({ ...value, op: e.target.value as typeof value.op })}
              sx={{ minWidth: 80 }}
              slotProps={{ htmlInput: { 'data-testid': `${path}-op` } }}
            >
              {THRESHOLD_OPS.map((o) => (
                <MenuItem key={o} value={o}>
                  {o}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              size="small"
              type="number"
              label="Value"
              value={value.value}
              onChange={(e) => onChange({ ...value, value: Number(e.target.value) })}
              sx={{ width: 110 }}
              slotProps={{ htmlInput: { 'data-testid': `${path}-value` } }}
            />
          </>
        )}
        {value.kind === 'no_data' && (
          <>
            <TextField
              size="small"
              label="Metric (empty: any)"
              value={value.metric ?? ''}
              onChange={(e) => onChange({ ...value, metric: e.target.value || undefined })}
            />
            <TextField
              size="small"
              type="number"
              label="For (s)"
              value={value.forSec}
              onChange={(e) => onChange({ ...value, forSec: Number(e.target.value) })}
              sx={{ width: 110 }}
            />
          </>
        )}
        {value.kind === 'agent_status' && (
          <>
            <StatusMultiSelect
              label="Status"
              options={ALERT_STATUS_CONDITIONS}
              value={value.statuses}
              onChange={(statuses) => onChange({ ...value, statuses })}
            />
            <TextField
              size="small"
              type="number"
              label="For (s)"
              value={value.forSec}
              onChange={(e) => onChange({ ...value, forSec: Number(e.target.value) })}
              sx={{ width: 110 }}
            />
          </>
        )}
        {value.kind === 'watchdog' && (
          <Typography variant="body2" color="text.secondary" data-testid={`${path}-watchdog-help`}>
            Fires as soon as the rule is enabled and never resolves: route it to a dead-man&apos;s
            switch receiver that alerts when these notifications stop.
          </Typography>
        )}
        {value.kind === 'group_unreachable' && (
          <>
            <TextField
              size="small"
              type="number"
              label="More than (fraction)"
              value={value.fraction}
              onChange={(e) => onChange({ ...value, fraction: Number(e.target.value) })}
              slotProps={{ htmlInput: { step: 0.05, min: 0, max: 0.99 } }}
              sx={{ width: 150 }}
            />
            <TextField
              size="small"
              type="number"
              label="Min members"
              value={value.minMembers}
              onChange={(e) => onChange({ ...value, minMembers: Number(e.target.value) })}
              sx={{ width: 120 }}
            />
            <StatusMultiSelect
              label="Counts as down"
              options={UNREACHABLE_STATUSES}
              value={value.statuses}
              onChange={(statuses) => onChange({ ...value, statuses })}
            />
            <FormControlLabel
              control={
                <Switch
                  checked={value.includeRegions}
                  onChange={(e) => onChange({ ...value, includeRegions: e.target.checked })}
                />
              }
              label="Regions too"
            />
            <TextField
              size="small"
              type="number"
              label="Member hold (s)"
              value={value.memberHoldSec}
              onChange={(e) => onChange({ ...value, memberHoldSec: Number(e.target.value) })}
              slotProps={{ htmlInput: { min: 0, max: 300 } }}
              sx={{ width: 140 }}
            />
            <Typography
              variant="body2"
              color="text.secondary"
              data-testid={`${path}-hold-help`}
              sx={{ flexBasis: '100%' }}
            >
              Status and no-data notifications of a member wait this long first: if the group
              becomes unreachable meanwhile they are never sent (inhibited, linked to the incident);
              otherwise they go out when the hold ends. Threshold alerts never wait.
            </Typography>
          </>
        )}
        <Box sx={{ flex: 1 }} />
        {onRemove && (
          <IconButton aria-label="remove condition" onClick={onRemove} size="small">
            <DeleteOutline fontSize="small" />
          </IconButton>
        )}
      </Stack>
      {(value.kind === 'and' || value.kind === 'or') && (
        <Stack spacing={1} sx={{ mt: 1.5, pl: 2 }}>
          {value.conditions.map((c, i) => (
            <ConditionEditor
              key={i}
              value={c}
              depth={depth + 1}
              path={`${path}.${i}`}
              onChange={(n) =>
                onChange({
                  ...value,
                  conditions: value.conditions.map((x, j) => (j === i ? n : x)),
                })
              }
              onRemove={
                value.conditions.length > 1
                  ? () =>
                      onChange({ ...value, conditions: value.conditions.filter((_, j) => j !== i) })
                  : undefined
              }
            />
          ))}
          <Box>
            <Button
              size="small"
              onClick={() =>
                onChange({
                  ...value,
                  conditions: [...value.conditions, defaultCondition('threshold')],
                })
              }
            >
              Add condition
            </Button>
          </Box>
        </Stack>
      )}
    </Paper>
  );
}
