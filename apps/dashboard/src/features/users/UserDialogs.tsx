import { useState } from 'react';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogContentText from '@mui/material/DialogContentText';
import DialogTitle from '@mui/material/DialogTitle';
import IconButton from '@mui/material/IconButton';
import InputAdornment from '@mui/material/InputAdornment';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import Casino from '@mui/icons-material/Casino';
import { PASSWORD_MIN_LENGTH, ROLES, type Role, type User } from '@agent-monitor/contracts';
import { ApiError } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { generatePassword } from './generate-password';

export const ROLE_HELP: Record<Role, string> = {
  admin: 'Everything, including users, API keys and the audit log',
  operator: 'Agents, groups, alert rules, channels and silences',
  viewer: 'Read-only access to everything except administration',
};

function RoleSelect({ value, onChange }: { value: Role; onChange: (r: Role) => void }) {
  return (
    <TextField
      select
      label="Role"
      value={value}
      onChange={(e) => onChange(e.target.value as Role)}
      helperText={ROLE_HELP[value]}
      slotProps={{ select: { inputProps: { 'data-testid': 'role-select' } } }}
    >
      {ROLES.map((r) => (
        <MenuItem key={r} value={r} sx={{ textTransform: 'capitalize' }}>
          {r}
        </MenuItem>
      ))}
    </TextField>
  );
}

function PasswordField({
  value,
  onChange,
  label,
  error,
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  error?: string;
}) {
  const tooShort = value.length > 0 && value.length < PASSWORD_MIN_LENGTH;
  return (
    <TextField
      label={label}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      autoComplete="new-password"
      error={tooShort || !!error}
      helperText={
        error ?? `At least ${PASSWORD_MIN_LENGTH} characters. Share it with the user securely.`
      }
      required
      slotProps={{
        input: {
          sx: { fontFamily: 'monospace' },
          endAdornment: (
            <InputAdornment position="end">
              <Tooltip title="Generate a strong password">
                <IconButton
                  aria-label="Generate password"
                  onClick={() => onChange(generatePassword())}
                  size="small"
                >
                  <Casino fontSize="small" />
                </IconButton>
              </Tooltip>
              {value && <CopyButton text={value} label="Copy password" />}
            </InputAdornment>
          ),
        },
      }}
    />
  );
}

/** True when every field error is already shown under its field (no need to repeat it). */
function allShown(fields: Record<string, string>, visible: string[]): boolean {
  const keys = Object.keys(fields);
  return keys.length > 0 && keys.every((k) => visible.includes(k));
}

export interface CreateUserValues {
  name: string;
  email: string;
  role: Role;
  password: string;
}

export function CreateUserDialog({
  open,
  onClose,
  onCreate,
}: {
  open: boolean;
  onClose: () => void;
  onCreate: (v: CreateUserValues) => Promise<unknown>;
}) {
  const [v, setV] = useState<CreateUserValues>({
    name: '',
    email: '',
    role: 'viewer',
    password: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fields = error instanceof ApiError ? error.fieldErrors : {};
  const valid =
    v.name.trim() !== '' && /.+@.+\..+/.test(v.email) && v.password.length >= PASSWORD_MIN_LENGTH;
  const close = () => {
    if (busy) return;
    setV({ name: '', email: '', role: 'viewer', password: '' });
    setError(null);
    onClose();
  };
  return (
    <Dialog open={open} onClose={close}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!valid) return;
          setBusy(true);
          setError(null);
          try {
            await onCreate({ ...v, name: v.name.trim(), email: v.email.trim() });
            setBusy(false);
            setV({ name: '', email: '', role: 'viewer', password: '' });
            onClose();
          } catch (err) {
            setBusy(false);
            setError(err);
          }
        }}
      >
        <DialogTitle>New user</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            <TextField
              label="Name"
              value={v.name}
              onChange={(e) => setV({ ...v, name: e.target.value })}
              error={!!fields.name}
              helperText={fields.name}
              required
              autoFocus
            />
            <TextField
              label="Email"
              type="email"
              value={v.email}
              onChange={(e) => setV({ ...v, email: e.target.value })}
              error={!!fields.email}
              helperText={fields.email}
              required
            />
            <RoleSelect value={v.role} onChange={(role) => setV({ ...v, role })} />
            <PasswordField
              label="Initial password"
              value={v.password}
              onChange={(password) => setV({ ...v, password })}
              error={fields.password}
            />
            {error != null && !allShown(fields, ['name', 'email', 'password']) && (
              <ErrorAlert error={error} />
            )}
          </Stack>
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2 }}>
          <Button onClick={close} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="contained" disabled={!valid || busy}>
            Create user
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export function ChangeRoleDialog({
  user,
  onClose,
  onSave,
}: {
  user: User | null;
  onClose: () => void;
  onSave: (u: User, role: Role) => Promise<unknown>;
}) {
  const [role, setRole] = useState<Role | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const current = role ?? user?.role ?? 'viewer';
  const close = () => {
    if (busy) return;
    setRole(null);
    setError(null);
    onClose();
  };
  return (
    <Dialog open={user !== null} onClose={close} maxWidth="xs">
      <DialogTitle>Change role</DialogTitle>
      <DialogContent>
        <DialogContentText sx={{ mb: 2 }}>
          {user?.name} ({user?.email}). Their other sessions end when the role changes.
        </DialogContentText>
        <Stack spacing={2}>
          <RoleSelect value={current} onChange={setRole} />
          {error != null && <ErrorAlert error={error} />}
        </Stack>
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={close} disabled={busy}>
          Cancel
        </Button>
        <Button
          variant="contained"
          disabled={busy || !user || current === user.role}
          onClick={async () => {
            if (!user) return;
            setBusy(true);
            setError(null);
            try {
              await onSave(user, current);
              setBusy(false);
              setRole(null);
              onClose();
            } catch (err) {
              setBusy(false);
              setError(err);
            }
          }}
        >
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export function ResetPasswordDialog({
  user,
  onClose,
  onSave,
}: {
  user: User | null;
  onClose: () => void;
  onSave: (u: User, password: string) => Promise<unknown>;
}) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fields = error instanceof ApiError ? error.fieldErrors : {};
  const close = () => {
    if (busy) return;
    setPassword('');
    setError(null);
    onClose();
  };
  return (
    <Dialog open={user !== null} onClose={close} maxWidth="xs">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!user || password.length < PASSWORD_MIN_LENGTH) return;
          setBusy(true);
          setError(null);
          try {
            await onSave(user, password);
            setBusy(false);
            setPassword('');
            onClose();
          } catch (err) {
            setBusy(false);
            setError(err);
          }
        }}
      >
        <DialogTitle>Reset password</DialogTitle>
        <DialogContent>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
            Set a new password for {user?.name} ({user?.email}). All of their sessions end.
          </Typography>
          <Stack spacing={2}>
            <PasswordField
              label="New password"
              value={password}
              onChange={setPassword}
              error={fields.password}
            />
            {error != null && !allShown(fields, ['password']) && <ErrorAlert error={error} />}
          </Stack>
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2 }}>
          <Button onClick={close} disabled={busy}>
            Cancel
          </Button>
          <Button
            type="submit"
            variant="contained"
            disabled={busy || password.length < PASSWORD_MIN_LENGTH}
          >
            Reset password
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
