import { useDeferredValue, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Avatar from '@mui/material/Avatar';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import IconButton from '@mui/material/IconButton';
import InputAdornment from '@mui/material/InputAdornment';
import LinearProgress from '@mui/material/LinearProgress';
import ListItemIcon from '@mui/material/ListItemIcon';
import Menu from '@mui/material/Menu';
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
import Add from '@mui/icons-material/Add';
import Search from '@mui/icons-material/Search';
import MoreVert from '@mui/icons-material/MoreVert';
import AdminPanelSettingsOutlined from '@mui/icons-material/AdminPanelSettingsOutlined';
import LockReset from '@mui/icons-material/LockReset';
import BlockOutlined from '@mui/icons-material/BlockOutlined';
import CheckCircleOutlined from '@mui/icons-material/CheckCircleOutlined';
import DeleteOutlined from '@mui/icons-material/DeleteOutlined';
import GroupOutlined from '@mui/icons-material/GroupOutlined';
import { ROLES, type Role, type User } from '@agent-monitor/contracts';
import { usersApi, usersKeys, usersQueries } from '../../api/users.queries';
import { useAuth } from '../../app/auth';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { useNotify } from '../../components/Notifier';
import { formatDateTime, formatRelative, initials } from '../../components/format';
import { ChangeRoleDialog, CreateUserDialog, ResetPasswordDialog } from './UserDialogs';

type Pending =
  | { kind: 'role'; user: User }
  | { kind: 'password'; user: User }
  | { kind: 'delete'; user: User }
  | { kind: 'disable'; user: User }
  | null;

function RoleChip({ role }: { role: Role }) {
  return (
    <Chip
      size="small"
      label={role}
      variant={role === 'admin' ? 'filled' : 'outlined'}
      color={role === 'admin' ? 'primary' : role === 'operator' ? 'secondary' : 'default'}
      sx={{ textTransform: 'capitalize' }}
    />
  );
}

export default function UsersPage() {
  const qc = useQueryClient();
  const notify = useNotify();
  const { user: me } = useAuth();
  const [q, setQ] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [page, setPage] = useState(0);
  const [limit, setLimit] = useState(25);
  const [creating, setCreating] = useState(false);
  const [pending, setPending] = useState<Pending>(null);
  const [menu, setMenu] = useState<{ anchor: HTMLElement; user: User } | null>(null);
  const search = useDeferredValue(q.trim());

  const list = useQuery(
    usersQueries.list({ q: search, role: role || undefined, page: page + 1, limit }),
  );
  const invalidate = () => qc.invalidateQueries({ queryKey: usersKeys.all });

  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Parameters<typeof usersApi.update>[1] }) =>
      usersApi.update(id, body),
    onSuccess: invalidate,
  });
  const remove = useMutation({ mutationFn: usersApi.remove, onSuccess: invalidate });
  const create = useMutation({ mutationFn: usersApi.create, onSuccess: invalidate });

  const rows = list.data?.items ?? [];
  const open = (kind: NonNullable<Pending>['kind'], user: User) => {
    setMenu(null);
    setPending({ kind, user } as Pending);
  };

  return (
    <Page>
      <PageHeader
        title="Users"
        subtitle="People who can sign in to Agent Monitor, and what their role lets them do."
        actions={
          <Button variant="contained" startIcon={<Add />} onClick={() => setCreating(true)}>
            New user
          </Button>
        }
      />
      <Paper variant="outlined" sx={{ overflow: 'hidden' }}>
        <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1.5} sx={{ p: 2 }}>
          <TextField
            size="small"
            placeholder="Search name or email"
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
              htmlInput: { 'aria-label': 'Search users' },
            }}
          />
          <TextField
            select
            size="small"
            label="Role"
            value={role}
            onChange={(e) => {
              setRole(e.target.value as Role | '');
              setPage(0);
            }}
            sx={{ minWidth: 160 }}
            slotProps={{ inputLabel: { shrink: true }, select: { displayEmpty: true } }}
          >
            <MenuItem value="">All roles</MenuItem>
            {ROLES.map((r) => (
              <MenuItem key={r} value={r} sx={{ textTransform: 'capitalize' }}>
                {r}
              </MenuItem>
            ))}
          </TextField>
        </Stack>
        <Box sx={{ height: 2 }}>{list.isFetching && !list.isPending && <LinearProgress />}</Box>
        {list.isError && (
          <Box sx={{ p: 2 }}>
            <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
          </Box>
        )}
        {list.isPending ? (
          <TableSkeleton columns={5} />
        ) : rows.length === 0 && !list.isError ? (
          <EmptyState
            icon={<GroupOutlined />}
            title={search || role ? 'No users match' : 'No users yet'}
            description={
              search || role ? 'Try another search or role.' : 'Invite your team with New user.'
            }
          />
        ) : (
          <TableContainer>
            <Table size="medium" aria-label="Users">
              <TableHead>
                <TableRow>
                  <TableCell>User</TableCell>
                  <TableCell>Role</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell>Last sign-in</TableCell>
                  <TableCell>Created</TableCell>
                  <TableCell align="right" aria-label="Actions" />
                </TableRow>
              </TableHead>
              <TableBody>
                {rows.map((u) => (
                  <TableRow key={u.id} hover data-testid={`user-row-${u.email}`}>
                    <TableCell>
                      <Stack direction="row" spacing={1.5} sx={{ alignItems: 'center' }}>
                        <Avatar
                          sx={{
                            width: 32,
                            height: 32,
                            fontSize: 13,
                            bgcolor: u.disabled ? 'action.disabledBackground' : 'primary.main',
                          }}
                        >
                          {initials(u.name || u.email)}
                        </Avatar>
                        <Box sx={{ minWidth: 0 }}>
                          <Typography variant="body2" sx={{ fontWeight: 600 }} noWrap>
                            {u.name}
                            {u.id === me?.id && (
                              <Typography component="span" variant="caption" color="text.secondary">
                                {' '}
                                (you)
                              </Typography>
                            )}
                          </Typography>
                          <Typography variant="caption" color="text.secondary" noWrap>
                            {u.email}
                          </Typography>
                        </Box>
                      </Stack>
                    </TableCell>
                    <TableCell>
                      <RoleChip role={u.role} />
                    </TableCell>
                    <TableCell>
                      {u.disabled ? (
                        <Chip size="small" label="Disabled" color="default" variant="outlined" />
                      ) : (
                        <Chip size="small" label="Active" color="success" variant="outlined" />
                      )}
                    </TableCell>
                    <TableCell>
                      <Tooltip title={formatDateTime(u.lastLoginAt)}>
                        <span>{u.lastLoginAt ? formatRelative(u.lastLoginAt) : 'Never'}</span>
                      </Tooltip>
                    </TableCell>
                    <TableCell>{formatDateTime(u.createdAt, { dateOnly: true })}</TableCell>
                    <TableCell align="right">
                      <IconButton
                        aria-label={`Actions for ${u.email}`}
                        onClick={(e) => setMenu({ anchor: e.currentTarget, user: u })}
                        size="small"
                      >
                        <MoreVert fontSize="small" />
                      </IconButton>
                    </TableCell>
                  </TableRow>
                ))}
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

      <Menu
        anchorEl={menu?.anchor}
        open={menu !== null}
        onClose={() => setMenu(null)}
        anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }}
        transformOrigin={{ vertical: 'top', horizontal: 'right' }}
      >
        {menu && [
          <MenuItem key="role" onClick={() => open('role', menu.user)}>
            <ListItemIcon>
              <AdminPanelSettingsOutlined fontSize="small" />
            </ListItemIcon>
            Change role
          </MenuItem>,
          <MenuItem key="password" onClick={() => open('password', menu.user)}>
            <ListItemIcon>
              <LockReset fontSize="small" />
            </ListItemIcon>
            Reset password
          </MenuItem>,
          menu.user.disabled ? (
            <MenuItem
              key="enable"
              onClick={async () => {
                const u = menu.user;
                setMenu(null);
                try {
                  await update.mutateAsync({ id: u.id, body: { disabled: false } });
                  notify(`${u.email} can sign in again`);
                } catch (err) {
                  notify(err instanceof Error ? err.message : String(err), 'error');
                }
              }}
            >
              <ListItemIcon>
                <CheckCircleOutlined fontSize="small" />
              </ListItemIcon>
              Enable
            </MenuItem>
          ) : (
            <MenuItem
              key="disable"
              disabled={menu.user.id === me?.id}
              onClick={() => open('disable', menu.user)}
            >
              <ListItemIcon>
                <BlockOutlined fontSize="small" />
              </ListItemIcon>
              Disable
            </MenuItem>
          ),
          <MenuItem
            key="delete"
            disabled={menu.user.id === me?.id}
            onClick={() => open('delete', menu.user)}
            sx={{ color: 'error.main' }}
          >
            <ListItemIcon sx={{ color: 'inherit' }}>
              <DeleteOutlined fontSize="small" />
            </ListItemIcon>
            Delete
          </MenuItem>,
        ]}
      </Menu>

      <CreateUserDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreate={async (v) => {
          const u = await create.mutateAsync(v);
          notify(`User ${u.email} created`);
        }}
      />
      <ChangeRoleDialog
        user={pending?.kind === 'role' ? pending.user : null}
        onClose={() => setPending(null)}
        onSave={async (u, r) => {
          await update.mutateAsync({ id: u.id, body: { role: r } });
          notify(`${u.email} is now ${r}`);
        }}
      />
      <ResetPasswordDialog
        user={pending?.kind === 'password' ? pending.user : null}
        onClose={() => setPending(null)}
        onSave={async (u, password) => {
          await update.mutateAsync({ id: u.id, body: { password } });
          notify(`Password of ${u.email} reset`);
        }}
      />
      <ConfirmDialog
        open={pending?.kind === 'disable'}
        title="Disable user?"
        description={
          <>
            <strong>{pending?.user.email}</strong> will be signed out everywhere and cannot sign in
            until enabled again.
          </>
        }
        confirmLabel="Disable"
        destructive
        onClose={() => setPending(null)}
        onConfirm={async () => {
          if (!pending) return;
          await update.mutateAsync({ id: pending.user.id, body: { disabled: true } });
          notify(`${pending.user.email} disabled`);
        }}
      />
      <ConfirmDialog
        open={pending?.kind === 'delete'}
        title="Delete user?"
        description={
          <>
            <strong>{pending?.user.email}</strong> will be deleted and signed out. Their entries in
            the audit log stay. This cannot be undone.
          </>
        }
        confirmLabel="Delete user"
        destructive
        onClose={() => setPending(null)}
        onConfirm={async () => {
          if (!pending) return;
          await remove.mutateAsync(pending.user.id);
          notify(`${pending.user.email} deleted`);
        }}
      />
    </Page>
  );
}
