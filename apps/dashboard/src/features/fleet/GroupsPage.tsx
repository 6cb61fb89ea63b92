import { Fragment, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Collapse from '@mui/material/Collapse';
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
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import Add from '@mui/icons-material/Add';
import SettingsSuggestOutlined from '@mui/icons-material/SettingsSuggestOutlined';
import DeleteOutline from '@mui/icons-material/DeleteOutlined';
import KeyboardArrowDown from '@mui/icons-material/KeyboardArrowDown';
import KeyboardArrowRight from '@mui/icons-material/KeyboardArrowRight';
import { AGENT_STATUSES, type AgentGroup } from '@agent-monitor/contracts';
import { ApiError } from '../../api/client';
import { groupsApi, groupsKeys, groupsQueries } from '../../api/fleet.queries';
import { useSocketEvent } from '../../api/socket';
import { useAuth } from '../../app/auth';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { StatusChip } from '../../components/StatusChip';
import { PushConfigDialog, RolloutPanel } from './RolloutPanel';

/** `team=blue, region=*` (or one pair per line) → `{team: 'blue', region: '*'}`. */
export function parseSelector(text: string): Record<string, string> | null | string {
  const pairs = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!pairs.length) return null;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.search(/[=:]/);
    if (i <= 0) return `"${p}" is not key=value`;
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}

function CreateGroupDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [selector, setSelector] = useState('');
  const [parentId, setParentId] = useState('');
  const parsed = parseSelector(selector);
  // One level of nesting: only top-level groups can be parents.
  const parents = useQuery({ ...groupsQueries.list({ limit: 500 }), enabled: open });
  const create = useMutation({
    mutationFn: () =>
      groupsApi.create({
        name: name.trim(),
        description: description.trim() || undefined,
        tagSelector: typeof parsed === 'string' ? null : parsed,
        parentId: parentId || null,
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: groupsKeys.all });
      setName('');
      setDescription('');
      setSelector('');
      setParentId('');
      onClose();
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>New group</DialogTitle>
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
          <TextField
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <TextField
            label="Tag selector"
            placeholder="team=blue, region=*"
            value={selector}
            onChange={(e) => setSelector(e.target.value)}
            error={typeof parsed === 'string'}
            helperText={
              typeof parsed === 'string'
                ? parsed
                : 'Agents whose tags match every pair join automatically (* = any value).'
            }
          />
          <TextField
            select
            label="Parent group"
            value={parents.data ? parentId : ''}
            onChange={(e) => setParentId(e.target.value)}
            error={!!fieldErrors.parentId}
            helperText={
              fieldErrors.parentId ?? "Optional. The parent's members include this group's."
            }
          >
            <MenuItem value="">None (top level)</MenuItem>
            {parents.data?.items
              .filter((g) => !g.parentId)
              .map((g) => (
                <MenuItem key={g.id} value={g.id}>
                  {g.name}
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
          disabled={!name.trim() || typeof parsed === 'string' || create.isPending}
          onClick={() => create.mutate()}
        >
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** The group's aggregates: members' latest metrics (avg / min / max). */
function Aggregates({ group }: { group: AgentGroup }) {
  const detail = useQuery(groupsQueries.detail(group.id));
  if (detail.error) return <ErrorAlert error={detail.error} />;
  if (detail.isPending) return <TableSkeleton rows={2} columns={5} />;
  const d = detail.data;
  return (
    <Stack spacing={1} sx={{ px: 2, pt: 2 }}>
      {d.children.length > 0 && (
        <Typography variant="body2" color="text.secondary">
          Includes the members of {d.children.map((c) => c.name).join(', ')}.
        </Typography>
      )}
      {d.metrics.length === 0 ? (
        <Typography variant="body2" color="text.secondary">
          No metrics from the members yet.
        </Typography>
      ) : (
        <Table size="small" aria-label={`Metrics of ${group.name}`}>
          <TableHead>
            <TableRow>
              <TableCell>Metric (latest)</TableCell>
              <TableCell align="right">Agents</TableCell>
              <TableCell align="right">Avg</TableCell>
              <TableCell align="right">Min</TableCell>
              <TableCell align="right">Max</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {d.metrics.slice(0, 12).map((m) => (
              <TableRow key={m.metric} data-testid={`group-metric-${m.metric}`}>
                <TableCell>{m.metric}</TableCell>
                <TableCell align="right">{m.agentCount}</TableCell>
                <TableCell align="right">{m.avg}</TableCell>
                <TableCell align="right">{m.min}</TableCell>
                <TableCell align="right">{m.max}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Stack>
  );
}

function Members({ group }: { group: AgentGroup }) {
  const members = useQuery(groupsQueries.members(group.id));
  if (members.error) return <ErrorAlert error={members.error} />;
  if (members.isPending) return <TableSkeleton rows={3} columns={3} />;
  if (!members.data.items.length) {
    return (
      <Typography variant="body2" color="text.secondary" sx={{ p: 2 }}>
        No agents match this group.
      </Typography>
    );
  }
  return (
    <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap', p: 2 }}>
      {members.data.items.map((a) => (
        <Stack key={a.id} direction="row" spacing={0.5} sx={{ alignItems: 'center' }}>
          <Typography variant="body2">{a.name}</Typography>
          <StatusChip status={a.status} size="small" />
        </Stack>
      ))}
    </Stack>
  );
}

/** Groups of agents (explicit and by tag selector) with their members' status at a glance. */
export default function GroupsPage() {
  const { can } = useAuth();
  const qc = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<AgentGroup | null>(null);
  const [pushing, setPushing] = useState<AgentGroup | null>(null);
  const list = useQuery(groupsQueries.list({ limit: 500 }));
  // Membership by tags and status counts change with the fleet.
  useSocketEvent(
    'agent_status_changed',
    () => void qc.invalidateQueries({ queryKey: groupsKeys.all }),
  );
  const remove = useMutation({
    mutationFn: (id: string) => groupsApi.remove(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: groupsKeys.all }),
  });

  return (
    <Page>
      <PageHeader
        title="Groups"
        subtitle="Agents grouped explicitly or by tags; membership by tags follows tag changes."
        actions={
          can('operator') && (
            <Button variant="contained" startIcon={<Add />} onClick={() => setCreating(true)}>
              New group
            </Button>
          )
        }
      />
      {list.error && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}
      {remove.error && <ErrorAlert error={remove.error} sx={{ mb: 2 }} />}
      {list.isPending ? (
        <TableSkeleton rows={4} columns={4} />
      ) : list.data && list.data.items.length === 0 ? (
        <EmptyState
          title="No groups yet"
          description="Group agents by tag (team=blue) or by hand to see and manage them together."
        />
      ) : (
        <Paper variant="outlined">
          <TableContainer>
            <Table size="small" aria-label="Groups">
              <TableHead>
                <TableRow>
                  <TableCell width={40} />
                  <TableCell>Name</TableCell>
                  <TableCell>Selector</TableCell>
                  <TableCell align="right">Members</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell width={96} />
                </TableRow>
              </TableHead>
              <TableBody>
                {list.data?.items.map((g) => (
                  <Fragment key={g.id}>
                    <TableRow hover data-testid={`group-row-${g.name}`}>
                      <TableCell>
                        <IconButton
                          size="small"
                          aria-label={open === g.id ? 'Hide members' : 'Show members'}
                          onClick={() => setOpen(open === g.id ? null : g.id)}
                        >
                          {open === g.id ? <KeyboardArrowDown /> : <KeyboardArrowRight />}
                        </IconButton>
                      </TableCell>
                      <TableCell>
                        <Typography variant="body2" sx={{ fontWeight: 500 }}>
                          {g.parentId ? '↳ ' : ''}
                          {g.name}
                        </Typography>
                        {g.parentId && (
                          <Typography
                            variant="caption"
                            color="text.secondary"
                            sx={{ display: 'block' }}
                          >
                            in {list.data?.items.find((p) => p.id === g.parentId)?.name ?? '…'}
                          </Typography>
                        )}
                        {g.children.length > 0 && (
                          <Chip
                            size="small"
                            variant="outlined"
                            label={`${g.children.length} subgroup${g.children.length === 1 ? '' : 's'}`}
                          />
                        )}
                        {g.description && (
                          <Typography variant="caption" color="text.secondary">
                            {g.description}
                          </Typography>
                        )}
                      </TableCell>
                      <TableCell>
                        {g.tagSelector
                          ? Object.entries(g.tagSelector).map(([k, v]) => (
                              <Chip key={k} size="small" label={`${k}=${v}`} sx={{ mr: 0.5 }} />
                            ))
                          : '—'}
                        {g.agentIds.length > 0 && (
                          <Chip
                            size="small"
                            variant="outlined"
                            label={`+${g.agentIds.length} explicit`}
                          />
                        )}
                      </TableCell>
                      <TableCell align="right" data-testid="member-count">
                        {g.memberCount}
                      </TableCell>
                      <TableCell>
                        <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
                          {AGENT_STATUSES.filter((s) => g.statusCounts[s] > 0).map((s) => (
                            <StatusChip
                              key={s}
                              status={s}
                              size="small"
                              label={`${s} ${g.statusCounts[s]}`}
                            />
                          ))}
                        </Box>
                      </TableCell>
                      <TableCell>
                        {can('operator') && (
                          <IconButton
                            size="small"
                            aria-label={`Push config to ${g.name}`}
                            onClick={() => {
                              setPushing(g);
                              setOpen(g.id);
                            }}
                          >
                            <SettingsSuggestOutlined fontSize="small" />
                          </IconButton>
                        )}
                        {can('operator') && (
                          <IconButton
                            size="small"
                            aria-label={`Delete ${g.name}`}
                            onClick={() => setDeleting(g)}
                          >
                            <DeleteOutline fontSize="small" />
                          </IconButton>
                        )}
                      </TableCell>
                    </TableRow>
                    <TableRow>
                      <TableCell
                        colSpan={6}
                        sx={{ p: 0, borderBottom: open === g.id ? undefined : 0 }}
                      >
                        <Collapse in={open === g.id} unmountOnExit>
                          <Aggregates group={g} />
                          <Box sx={{ px: 2, pt: 2 }}>
                            <RolloutPanel group={g} />
                          </Box>
                          <Members group={g} />
                        </Collapse>
                      </TableCell>
                    </TableRow>
                  </Fragment>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        </Paper>
      )}
      <CreateGroupDialog open={creating} onClose={() => setCreating(false)} />
      {pushing && <PushConfigDialog group={pushing} open onClose={() => setPushing(null)} />}
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete group ${deleting.name}?`}
          description="The agents stay; only the grouping is removed."
          confirmLabel="Delete"
          destructive
          onClose={() => setDeleting(null)}
          onConfirm={() => remove.mutateAsync(deleting.id)}
        />
      )}
    </Page>
  );
}
