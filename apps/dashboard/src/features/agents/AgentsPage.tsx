import { useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Grid from '@mui/material/Grid';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TablePagination from '@mui/material/TablePagination';
import TextField from '@mui/material/TextField';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import GridViewOutlined from '@mui/icons-material/GridViewOutlined';
import TableRowsOutlined from '@mui/icons-material/TableRowsOutlined';
import { AGENT_KINDS, AGENT_STATUSES, type AgentStatus } from '@agent-monitor/contracts';
import { agentsQueries, type AgentListParams } from '../../api/agents.queries';
import { groupsQueries } from '../../api/fleet.queries';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { PageHeader } from '../../components/PageHeader';
import { CardSkeleton, TableSkeleton } from '../../components/Skeletons';
import { StatusChip } from '../../components/StatusChip';
import { AgentCard } from './AgentCard';
import { AgentsTable } from './AgentsTable';
import { useLiveAgentStatus } from './useLiveAgentStatus';
import { useNow } from './useNow';

const SORTS = [
  ['name', 'Name'],
  ['status', 'Status'],
  ['type', 'Type'],
  ['-lastHeartbeat', 'Latest heartbeat'],
  ['-registeredAt', 'Newest'],
] as const;

/** Filters live in the URL so a filtered view can be shared and survives a reload. */
function useFilters() {
  const [sp, setSp] = useSearchParams();
  const params: AgentListParams = {
    status: sp.get('status') ?? undefined,
    type: sp.get('type') ?? undefined,
    environment: sp.get('environment') ?? undefined,
    region: sp.get('region') ?? undefined,
    group: sp.get('group') ?? undefined,
    tag: sp.getAll('tag'),
    q: sp.get('q') ?? undefined,
    sort: sp.get('sort') ?? 'name',
    page: Number(sp.get('page') ?? 1),
    limit: Number(sp.get('limit') ?? 100),
  };
  const view = (sp.get('view') ?? 'table') as 'table' | 'grid';
  const set = (patch: Record<string, string | string[] | undefined>, keepPage = false) => {
    const next = new URLSearchParams(sp);
    for (const [k, v] of Object.entries(patch)) {
      next.delete(k);
      for (const x of Array.isArray(v) ? v : v ? [v] : []) next.append(k, x);
    }
    if (!keepPage) next.delete('page');
    setSp(next, { replace: true });
  };
  return { params, view, set };
}

export default function AgentsPage() {
  const { params, view, set } = useFilters();
  const [search, setSearch] = useState(params.q ?? '');
  const [tagText, setTagText] = useState((params.tag ?? []).join(', '));
  const now = useNow(1000);
  useLiveAgentStatus();

  // Debounced search: typing does not fire a request per key.
  useEffect(() => {
    const t = setTimeout(() => {
      if ((params.q ?? '') !== search.trim()) set({ q: search.trim() || undefined });
    }, 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only the typed text drives this
  }, [search]);

  const list = useQuery(agentsQueries.list(params));
  const groups = useQuery(groupsQueries.list({ limit: 500 }));
  const counts = list.data?.statusCounts;
  const total = useMemo(
    () => (counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0),
    [counts],
  );
  const selected = params.status as AgentStatus | undefined;

  return (
    <Box>
      <PageHeader
        title="Agents"
        subtitle={
          counts
            ? `${total} agent${total === 1 ? '' : 's'} match the filters`
            : 'Every registered agent, live'
        }
        actions={
          <ToggleButtonGroup
            size="small"
            exclusive
            value={view}
            onChange={(_e, v: string | null) => v && set({ view: v }, true)}
            aria-label="View"
          >
            <ToggleButton value="table" aria-label="Table view">
              <TableRowsOutlined fontSize="small" />
            </ToggleButton>
            <ToggleButton value="grid" aria-label="Grid view">
              <GridViewOutlined fontSize="small" />
            </ToggleButton>
          </ToggleButtonGroup>
        }
      />

      <Stack
        direction="row"
        spacing={1}
        sx={{ mb: 2, flexWrap: 'wrap', rowGap: 1 }}
        data-testid="status-counts"
      >
        {AGENT_STATUSES.map((s) => (
          <StatusChip
            key={s}
            status={s}
            label={`${s} ${counts?.[s] ?? 0}`}
            data-testid={`count-${s}`}
            variant={selected === s ? 'filled' : 'outlined'}
            onClick={() => set({ status: selected === s ? undefined : s })}
          />
        ))}
      </Stack>

      <Stack direction={{ xs: 'column', md: 'row' }} spacing={1.5} sx={{ mb: 2 }}>
        <TextField
          size="small"
          label="Search name or host"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          sx={{ minWidth: 220 }}
          slotProps={{ htmlInput: { 'data-testid': 'agent-search' } }}
        />
        <TextField
          select
          size="small"
          label="Status"
          value={params.status ?? ''}
          onChange={(e) => set({ status: e.target.value || undefined })}
          sx={{ minWidth: 130 }}
          slotProps={{ htmlInput: { 'data-testid': 'filter-status' } }}
        >
          <MenuItem value="">Any</MenuItem>
          {AGENT_STATUSES.map((s) => (
            <MenuItem key={s} value={s}>
              {s}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          size="small"
          label="Type"
          value={params.type ?? ''}
          onChange={(e) => set({ type: e.target.value || undefined })}
          sx={{ minWidth: 170 }}
        >
          <MenuItem value="">Any</MenuItem>
          {AGENT_KINDS.map((k) => (
            <MenuItem key={k} value={k}>
              {k}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          size="small"
          label="Environment"
          value={params.environment ?? ''}
          onChange={(e) => set({ environment: e.target.value.trim() || undefined })}
          sx={{ minWidth: 140 }}
        />
        <TextField
          size="small"
          label="Region"
          value={params.region ?? ''}
          onChange={(e) => set({ region: e.target.value.trim() || undefined })}
          sx={{ minWidth: 120 }}
          slotProps={{ htmlInput: { 'data-testid': 'filter-region' } }}
        />
        <TextField
          select
          size="small"
          label="Group"
          value={groups.data ? (params.group ?? '') : ''}
          onChange={(e) => set({ group: e.target.value || undefined })}
          sx={{ minWidth: 150 }}
        >
          <MenuItem value="">Any</MenuItem>
          {groups.data?.items.map((g) => (
            <MenuItem key={g.id} value={g.id}>
              {g.parentId ? '↳ ' : ''}
              {g.name}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          size="small"
          label="Tags (key:value, …)"
          value={tagText}
          onChange={(e) => setTagText(e.target.value)}
          onBlur={() =>
            set({
              tag: tagText
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean),
            })
          }
          onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
          sx={{ minWidth: 180 }}
        />
        <TextField
          select
          size="small"
          label="Sort"
          value={params.sort ?? 'name'}
          onChange={(e) => set({ sort: e.target.value }, true)}
          sx={{ minWidth: 160 }}
        >
          {SORTS.map(([v, l]) => (
            <MenuItem key={v} value={v}>
              {l}
            </MenuItem>
          ))}
        </TextField>
      </Stack>

      {list.error && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}
      {list.isPending ? (
        view === 'table' ? (
          <TableSkeleton rows={8} columns={6} />
        ) : (
          <CardSkeleton />
        )
      ) : list.data && list.data.items.length === 0 ? (
        <EmptyState
          title="No agents match"
          description="Agents appear here when they register with POST /api/v2/agents/register (try `npm run demo`)."
        />
      ) : list.data ? (
        <>
          {view === 'table' ? (
            <AgentsTable agents={list.data.items} now={now} />
          ) : (
            <Grid container spacing={2}>
              {list.data.items.map((a) => (
                <Grid key={a.id} size={{ xs: 12, sm: 6, md: 4, lg: 3 }}>
                  <AgentCard agent={a} now={now} />
                </Grid>
              ))}
            </Grid>
          )}
          <TablePagination
            component="div"
            count={list.data.total}
            page={(params.page ?? 1) - 1}
            onPageChange={(_e, p) => set({ page: String(p + 1) }, true)}
            rowsPerPage={params.limit ?? 100}
            rowsPerPageOptions={[24, 50, 100, 200, 500]}
            onRowsPerPageChange={(e) => set({ limit: e.target.value })}
          />
        </>
      ) : null}
      {list.isFetching && !list.isPending && (
        <Typography variant="caption" color="text.secondary">
          Updating…
        </Typography>
      )}
    </Box>
  );
}
