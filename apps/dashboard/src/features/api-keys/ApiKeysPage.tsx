import { useDeferredValue, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import FormControlLabel from '@mui/material/FormControlLabel';
import InputAdornment from '@mui/material/InputAdornment';
import LinearProgress from '@mui/material/LinearProgress';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Switch from '@mui/material/Switch';
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
import Add from '@mui/icons-material/Add';
import Search from '@mui/icons-material/Search';
import VpnKeyOutlined from '@mui/icons-material/VpnKeyOutlined';
import type { ApiKey, CreatedApiKey } from '@agent-monitor/contracts';
import { apiKeysApi, apiKeysKeys, apiKeysQueries } from '../../api/api-keys.queries';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { useNotify } from '../../components/Notifier';
import { formatDateTime, formatRelative } from '../../components/format';
import { MONO_FONT } from '../../app/theme';
import { CreateApiKeyDialog, SCOPE_HELP, SecretDialog } from './ApiKeyDialogs';

type KeyState = 'active' | 'revoked' | 'expired';

function keyState(k: ApiKey, now = Date.now()): KeyState {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && new Date(k.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

function StateChip({ state }: { state: KeyState }) {
  const look = {
    active: { label: 'Active', color: 'success' as const },
    revoked: { label: 'Revoked', color: 'default' as const },
    expired: { label: 'Expired', color: 'warning' as const },
  }[state];
  return <Chip size="small" variant="outlined" label={look.label} color={look.color} />;
}

export default function ApiKeysPage() {
  const qc = useQueryClient();
  const notify = useNotify();
  const [q, setQ] = useState('');
  const [showRevoked, setShowRevoked] = useState(false);
  const [page, setPage] = useState(0);
  const [limit, setLimit] = useState(25);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const search = useDeferredValue(q.trim());

  const list = useQuery(
    apiKeysQueries.list({
      q: search,
      revoked: showRevoked ? undefined : 'false',
      page: page + 1,
      limit,
    }),
  );
  const invalidate = () => qc.invalidateQueries({ queryKey: apiKeysKeys.all });
  const create = useMutation({ mutationFn: apiKeysApi.create, onSuccess: invalidate });
  const revoke = useMutation({ mutationFn: apiKeysApi.revoke, onSuccess: invalidate });
  const rows = list.data?.items ?? [];

  return (
    <Page>
      <PageHeader
        title="API keys"
        subtitle="Keys for agents, scripts and InfluxDB clients. Secrets are stored hashed and shown once."
        actions={
          <Button variant="contained" startIcon={<Add />} onClick={() => setCreating(true)}>
            New API key
          </Button>
        }
      />
      <Paper variant="outlined" sx={{ overflow: 'hidden' }}>
        <Stack
          direction={{ xs: 'column', sm: 'row' }}
          spacing={1.5}
          sx={{ p: 2, alignItems: { sm: 'center' } }}
        >
          <TextField
            size="small"
            placeholder="Search name or prefix"
            value={q}
            onChange={(e) => {
              setQ(e.target.value);
              setPage(0);
            }}
            sx={{ flex: 1, maxWidth: { sm: 360 } }}
            slotProps={{
              input: {
                startAdornment: (
                  <InputAdornment position="start">
                    <Search fontSize="small" />
                  </InputAdornment>
                ),
              },
              htmlInput: { 'aria-label': 'Search API keys' },
            }}
          />
          <FormControlLabel
            control={
              <Switch
                checked={showRevoked}
                onChange={(e) => {
                  setShowRevoked(e.target.checked);
                  setPage(0);
                }}
              />
            }
            label="Show revoked"
          />
        </Stack>
        <Box sx={{ height: 2 }}>{list.isFetching && !list.isPending && <LinearProgress />}</Box>
        {list.isError && (
          <Box sx={{ p: 2 }}>
            <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
          </Box>
        )}
        {list.isPending ? (
          <TableSkeleton columns={6} />
        ) : rows.length === 0 && !list.isError ? (
          <EmptyState
            icon={<VpnKeyOutlined />}
            title={search ? 'No keys match' : 'No API keys yet'}
            description={
              search
                ? 'Try another search.'
                : 'Create a key with the agents:register scope to let agents join the fleet.'
            }
            action={
              !search && (
                <Button variant="outlined" startIcon={<Add />} onClick={() => setCreating(true)}>
                  New API key
                </Button>
              )
            }
          />
        ) : (
          <TableContainer>
            <Table aria-label="API keys">
              <TableHead>
                <TableRow>
                  <TableCell>Name</TableCell>
                  <TableCell>Key</TableCell>
                  <TableCell>Scopes</TableCell>
                  <TableCell>Last used</TableCell>
                  <TableCell>Expires</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell align="right" aria-label="Actions" />
                </TableRow>
              </TableHead>
              <TableBody>
                {rows.map((k) => {
                  const state = keyState(k);
                  return (
                    <TableRow
                      key={k.id}
                      hover
                      data-testid={`api-key-row-${k.name}`}
                      sx={{ opacity: state === 'active' ? 1 : 0.6 }}
                    >
                      <TableCell>
                        <Typography variant="body2" sx={{ fontWeight: 600 }}>
                          {k.name}
                        </Typography>
                        <Typography variant="caption" color="text.secondary">
                          {k.agentId ? 'Agent key' : `Created ${formatRelative(k.createdAt)}`}
                        </Typography>
                      </TableCell>
                      <TableCell>
                        <Box component="code" sx={{ fontFamily: MONO_FONT, fontSize: 13 }}>
                          {k.prefix}…
                        </Box>
                      </TableCell>
                      <TableCell>
                        <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', gap: 0.5 }}>
                          {k.scopes.map((s) => (
                            <Tooltip key={s} title={SCOPE_HELP[s]}>
                              <Chip
                                size="small"
                                label={s}
                                color={s === 'admin' ? 'warning' : 'default'}
                                variant="outlined"
                                sx={{ fontFamily: MONO_FONT, fontWeight: 500 }}
                              />
                            </Tooltip>
                          ))}
                        </Stack>
                      </TableCell>
                      <TableCell>
                        <Tooltip title={formatDateTime(k.lastUsedAt)}>
                          <span>{k.lastUsedAt ? formatRelative(k.lastUsedAt) : 'Never'}</span>
                        </Tooltip>
                      </TableCell>
                      <TableCell>
                        {k.expiresAt ? formatDateTime(k.expiresAt, { dateOnly: true }) : 'Never'}
                      </TableCell>
                      <TableCell>
                        <StateChip state={state} />
                      </TableCell>
                      <TableCell align="right">
                        {!k.revokedAt && (
                          <Button
                            size="small"
                            color="error"
                            onClick={() => setRevoking(k)}
                            aria-label={`Revoke ${k.name}`}
                          >
                            Revoke
                          </Button>
                        )}
                      </TableCell>
                    </TableRow>
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
            rowsPerPageOptions={[10, 25, 50, 100]}
          />
        )}
      </Paper>

      <CreateApiKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreate={async (body) => {
          const k = await create.mutateAsync(body);
          setCreating(false);
          setCreated(k);
          return k;
        }}
      />
      <SecretDialog created={created} onClose={() => setCreated(null)} />
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke API key?"
        description={
          <>
            Anything using <strong>{revoking?.name}</strong> (<code>{revoking?.prefix}…</code>) gets
            401 from now on. This cannot be undone.
          </>
        }
        confirmLabel="Revoke key"
        destructive
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await revoke.mutateAsync(revoking.id);
          notify(`Key ${revoking.name} revoked`);
        }}
      />
    </Page>
  );
}
