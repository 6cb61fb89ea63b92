import { useState } from 'react';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import { PASSWORD_MIN_LENGTH } from '@agent-monitor/contracts';
import { profileApi } from '../../api/profile.queries';
import { ErrorAlert } from '../../components/ErrorAlert';

/** Change one's own password; the API ends the user's other sessions. */
export function ChangePasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  const tooShort = next.length > 0 && next.length < PASSWORD_MIN_LENGTH;
  const mismatch = confirm.length > 0 && confirm !== next;
  const valid = current.length > 0 && next.length >= PASSWORD_MIN_LENGTH && confirm === next;

  const close = () => {
    if (busy) return;
    setCurrent('');
    setNext('');
    setConfirm('');
    setError(null);
    setDone(false);
    onClose();
  };

  return (
    <Dialog open={open} onClose={close} maxWidth="xs">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!valid) return;
          setBusy(true);
          setError(null);
          try {
            await profileApi.changePassword({ currentPassword: current, newPassword: next });
            setDone(true);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <DialogTitle>Change password</DialogTitle>
        <DialogContent>
          {done ? (
            <Alert severity="success">
              Password changed. Your other sessions have been signed out.
            </Alert>
          ) : (
            <Stack spacing={2} sx={{ pt: 1 }}>
              <TextField
                label="Current password"
                type="password"
                autoComplete="current-password"
                value={current}
                onChange={(e) => setCurrent(e.target.value)}
                autoFocus
                required
              />
              <TextField
                label="New password"
                type="password"
                autoComplete="new-password"
                value={next}
                onChange={(e) => setNext(e.target.value)}
                error={tooShort}
                helperText={`At least ${PASSWORD_MIN_LENGTH} characters; common passwords are refused.`}
                required
              />
              <TextField
                label="Repeat new password"
                type="password"
                autoComplete="new-password"
                value={confirm}
                onChange={(e) => setConfirm(e.target.value)}
                error={mismatch}
                helperText={mismatch ? 'The passwords differ.' : ' '}
                required
              />
              {error != null && <ErrorAlert error={error} />}
            </Stack>
          )}
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2 }}>
          {done ? (
            <Button variant="contained" onClick={close}>
              Done
            </Button>
          ) : (
            <>
              <Button onClick={close} disabled={busy}>
                Cancel
              </Button>
              <Button type="submit" variant="contained" disabled={!valid || busy}>
                Change password
              </Button>
            </>
          )}
        </DialogActions>
      </form>
    </Dialog>
  );
}
