import { Fragment, useDeferredValue, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Collapse from '@mui/material/Collapse';
import IconButton from '@mui/material/IconButton';
import LinearProgress from '@mui/material/LinearProgress';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TablePagination from '@mui/material/TablePagination';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import KeyboardArrowDown from '@mui/icons-material/KeyboardArrowDown';
import KeyboardArrowRight from '@mui/icons-material/KeyboardArrowRight';
import HistoryOutlined from '@mui/icons-material/HistoryOutlined';
import Refresh from '@mui/icons-material/Refresh';
import FilterAltOff from '@mui/icons-material/FilterAltOff';
import { AUDIT_OUTCOMES, type AuditLogEntry, type AuditOutcome } from '@agent-monitor/contracts';
import { auditQueries } from '../../api/audit.queries';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { formatDateTime, formatRelative } from '../../components/format';
import { MONO_FONT } from '../../app/theme';

interface Filters {
  action: string;
  resourceType: string;
  outcome: AuditOutcome | '';
  from: string;
  to: string;
}

const EMPTY: Filters = { action: '', resourceType: '', outcome: '', from: '', to: '' };

/** `<input type="datetime-local">` value (local time, no zone) → ISO with offset, or undefined. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function filtersFrom(params: URLSearchParams): Filters {
  return {
    action: params.get('action') ?? '',
    resourceType: params.get('resourceType') ?? '',
    outcome: AUDIT_OUTCOMES.find((o) => o === params.get('outcome')) ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
  };
}

const ACTOR_LABEL: Record<AuditLogEntry['actorType'], string> = {
  user: 'User',
  api_key: 'API key',
  system: 'System',
  anonymous: 'Anonymous',
};

function Actor({ e }: { e: AuditLogEntry }) {
  return (
    <Box sx={{ minWidth: 0 }}>
      <Typography variant="body2" noWrap sx={{ fontWeight: 500 }}>
        {e.actorLabel ?? e.actorId ?? ACTOR_LABEL[e.actorType]}
      </Typography>
      <Typography variant="caption" color="text.secondary">
        {ACTOR_LABEL[e.actorType]}
      </Typography>
    </Box>
  );
}

function Details({ e }: { e: AuditLogEntry }) {
  return (
    <Stack direction={{ xs: 'column', md: 'row' }} spacing={3} sx={{ py: 2, px: 1 }}>
      <Box sx={{ minWidth: 240 }}>
        {[
          ['Event id', e.id],
          ['Request id', e.requestId],
          ['Actor id', e.actorId],
          ['Resource id', e.resourceId],
          ['Time', formatDateTime(e.at)],
        ].map(([k, v]) => (
          <Stack key={k} direction="row" spacing={2} sx={{ py: 0.25 }}>
            <Typography variant="caption" color="text.secondary" sx={{ width: 90, flexShrink: 0 }}>
              {k}
            </Typography>
            <Typography variant="caption" sx={{ fontFamily: MONO_FONT, wordBreak: 'break-all' }}>
              {v ?? '—'}
            </Typography>
          </Stack>
        ))}
      </Box>
      <Box sx={{ flex: 1, minWidth: 0 }}>
        <Typography variant="caption" color="text.secondary">
          Changes
        </Typography>
        {e.changes && Object.keys(e.changes).length > 0 ? (
          <Box
            component="pre"
            data-testid="audit-changes"
            sx={{
              m: 0,
              mt: 0.5,
              p: 1.5,
              borderRadius: 2,
              bgcolor: 'action.hover',
              fontFamily: MONO_FONT,
              fontSize: 12,
              overflow: 'auto',
              maxHeight: 320,
            }}
          >
            {JSON.stringify(e.changes, null, 2)}
          </Box>
        ) : (
          <Typography variant="body2" color="text.secondary">
            No field changes recorded.
          </Typography>
        )}
      </Box>
    </Stack>
  );
}

export default function AuditLogPage() {
  // Filters and page live in the URL, so a filtered view can be bookmarked and shared
  // (e.g. /admin/audit?outcome=failure&action=auth.login).
  const [params, setParams] = useSearchParams();
  const filters = filtersFrom(params);
  const page = Math.max(0, Number(params.get('page') ?? 1) - 1) || 0;
  const update = (next: Partial<Filters> & { page?: number }) => {
    setParams(
      (cur) => {
        const out = new URLSearchParams(cur);
        for (const [k, v] of Object.entries(next)) {
          if (v === '' || v === undefined || (k === 'page' && v === 0)) out.delete(k);
          else out.set(k, k === 'page' ? String(Number(v) + 1) : String(v));
        }
        return out;
      },
      { replace: true },
    );
  };
  const setFilters = (f: Filters) => update({ ...f, page: 0 });
  const setPage = (p: number) => update({ page: p });
  const [limit, setLimit] = useState(50);
  const [open, setOpen] = useState<Set<string>>(new Set());
  // Typing stays responsive: the query follows the URL a moment later (a string, so stable).
  const f = filtersFrom(new URLSearchParams(useDeferredValue(params.toString())));

  const list = useQuery(
    auditQueries.list({
      action: f.action.trim(),
      resourceType: f.resourceType.trim(),
      outcome: f.outcome || undefined,
      from: localToIso(f.from),
      to: localToIso(f.to),
      page: page + 1,
      limit,
    }),
  );
  const rows = list.data?.items ?? [];
  const filtered = Object.values(filters).some((v) => v !== '');
  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => {
    update({ [k]: v, page: 0 });
  };
  const toggle = (id: string) =>
    setOpen((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <Page>
      <PageHeader
        title="Audit log"
        subtitle="Every change, sign-in and refused request: who, what, when and from where."
        actions={
          <Button
            variant="outlined"
            startIcon={<Refresh />}
            onClick={() => void list.refetch()}
            disabled={list.isFetching}
          >
            Refresh
          </Button>
        }
      />
      <Paper variant="outlined" sx={{ overflow: 'hidden' }}>
        <Box
          sx={{
            p: 2,
            display: 'flex',
            flexDirection: { xs: 'column', md: 'row' },
            alignItems: { md: 'center' },
            flexWrap: 'wrap',
            gap: 1.5,
          }}
        >
          <TextField
            size="small"
            label="Action contains"
            placeholder="user.create"
            value={filters.action}
            onChange={(e) => set('action', e.target.value)}
            sx={{ minWidth: 180 }}
          />
          <TextField
            size="small"
            label="Resource type"
            placeholder="user"
            value={filters.resourceType}
            onChange={(e) => set('resourceType', e.target.value)}
            sx={{ minWidth: 160 }}
          />
          <TextField
            select
            size="small"
            label="Outcome"
            value={filters.outcome}
            onChange={(e) => set('outcome', e.target.value as AuditOutcome | '')}
            sx={{ minWidth: 140 }}
            slotProps={{ inputLabel: { shrink: true }, select: { displayEmpty: true } }}
          >
            <MenuItem value="">Any</MenuItem>
            <MenuItem value="success">Success</MenuItem>
            <MenuItem value="failure">Failure</MenuItem>
          </TextField>
          <TextField
            size="small"
            label="From"
            type="datetime-local"
            value={filters.from}
            onChange={(e) => set('from', e.target.value)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <TextField
            size="small"
            label="To"
            type="datetime-local"
            value={filters.to}
            onChange={(e) => set('to', e.target.value)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          {filtered && (
            <Button
              startIcon={<FilterAltOff />}
              onClick={() => {
                setFilters(EMPTY);
              }}
            >
              Clear
            </Button>
          )}
        </Box>
        <Box sx={{ height: 2 }}>{list.isFetching && !list.isPending && <LinearProgress />}</Box>
        {list.isError && (
          <Box sx={{ p: 2 }}>
            <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
          </Box>
        )}
        {list.isPending ? (
          <TableSkeleton columns={6} rows={10} />
        ) : rows.length === 0 && !list.isError ? (
          <EmptyState
            icon={<HistoryOutlined />}
            title={filtered ? 'No entries match these filters' : 'Nothing recorded yet'}
            description={
              filtered
                ? 'Widen the time range or clear a filter.'
                : 'Changes appear here as they happen.'
            }
          />
        ) : (
          <TableContainer>
            <Table size="small" aria-label="Audit log">
              <TableHead>
                <TableRow>
                  <TableCell padding="checkbox" />
                  <TableCell>Time</TableCell>
                  <TableCell>Actor</TableCell>
                  <TableCell>Action</TableCell>
                  <TableCell>Resource</TableCell>
                  <TableCell>Outcome</TableCell>
                  <TableCell>IP</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {rows.map((e) => {
                  const expanded = open.has(e.id);
                  return (
                    <Fragment key={e.id}>
                      <TableRow
                        hover
                        onClick={() => toggle(e.id)}
                        sx={{
                          cursor: 'pointer',
                          '& > td': { borderBottom: expanded ? 0 : undefined },
                        }}
                        data-testid="audit-row"
                        data-action={e.action}
                      >
                        <TableCell padding="checkbox">
                          <IconButton
                            size="small"
                            aria-label={expanded ? 'Hide details' : 'Show details'}
                            aria-expanded={expanded}
                            onClick={(ev) => {
                              ev.stopPropagation();
                              toggle(e.id);
                            }}
                          >
                            {expanded ? (
                              <KeyboardArrowDown fontSize="small" />
                            ) : (
                              <KeyboardArrowRight fontSize="small" />
                            )}
                          </IconButton>
                        </TableCell>
                        <TableCell sx={{ whiteSpace: 'nowrap' }}>
                          <Tooltip title={formatDateTime(e.at)}>
                            <span>{formatRelative(e.at)}</span>
                          </Tooltip>
                        </TableCell>
                        <TableCell sx={{ maxWidth: 220 }}>
                          <Actor e={e} />
                        </TableCell>
                        <TableCell>
                          <Box component="code" sx={{ fontFamily: MONO_FONT, fontSize: 12.5 }}>
                            {e.action}
                          </Box>
                        </TableCell>
                        <TableCell sx={{ maxWidth: 260 }}>
                          <Typography variant="body2" noWrap>
                            {e.resourceType}
                          </Typography>
                          {e.resourceId && (
                            <Typography
                              variant="caption"
                              color="text.secondary"
                              noWrap
                              sx={{ display: 'block', fontFamily: MONO_FONT }}
                            >
                              {e.resourceId}
                            </Typography>
                          )}
                        </TableCell>
                        <TableCell>
                          <Chip
                            size="small"
                            variant="outlined"
                            label={e.outcome === 'success' ? 'Success' : 'Failure'}
                            color={e.outcome === 'success' ? 'success' : 'error'}
                          />
                        </TableCell>
                        <TableCell sx={{ fontFamily: MONO_FONT, fontSize: 12.5 }}>
                          {e.ip ?? '—'}
                        </TableCell>
                      </TableRow>
                      <TableRow>
                        <TableCell
                          colSpan={7}
                          sx={{ py: 0, ...(expanded ? {} : { borderBottom: 0 }) }}
                        >
                          <Collapse in={expanded} timeout="auto" unmountOnExit>
                            <Details e={e} />
                          </Collapse>
                        </TableCell>
                      </TableRow>
                    </Fragment>
                  );
                })}
              </TableBody>
            </Table>
          </TableContainer>
        )}
        {list.data && list.data.total > 0 && (
          <TablePagination
            component="div"
            count={list.data.total}
            page={page}
            onPageChange={(_, p) => setPage(p)}
            rowsPerPage={limit}
            onRowsPerPageChange={(e) => {
              setLimit(Number(e.target.value));
              setPage(0);
            }}
            rowsPerPageOptions={[25, 50, 100, 200]}
          />
        )}
      </Paper>
    </Page>
  );
}
