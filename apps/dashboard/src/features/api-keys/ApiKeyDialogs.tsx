import { useState } from 'react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Checkbox from '@mui/material/Checkbox';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import FormControl from '@mui/material/FormControl';
import FormControlLabel from '@mui/material/FormControlLabel';
import FormGroup from '@mui/material/FormGroup';
import FormHelperText from '@mui/material/FormHelperText';
import FormLabel from '@mui/material/FormLabel';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import ContentCopy from '@mui/icons-material/ContentCopy';
import Check from '@mui/icons-material/Check';
import {
  API_KEY_SCOPES,
  type ApiKeyScope,
  type CreateApiKeyRequest,
  type CreatedApiKey,
} from '@agent-monitor/contracts';
import { ApiError } from '../../api/client';
import { copyText } from '../../components/CopyButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { MONO_FONT } from '../../app/theme';

export const SCOPE_HELP: Record<ApiKeyScope, string> = {
  'agents:register': 'Register new agents (each gets its own agent key)',
  'agents:write': "One agent's own heartbeats, metrics and activity",
  'metrics:write': 'Write metrics for any agent (InfluxDB clients, collectors)',
  read: 'Read everything a viewer can see',
  admin: 'Everything, including users and keys — use sparingly',
};

/** Scopes offered when creating a key; agent keys (`agents:write`) come from registration. */
const CREATABLE: ApiKeyScope[] = API_KEY_SCOPES.filter((s) => s !== 'agents:write');

const EXPIRY = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'never', label: 'Never' },
] as const;

/** When a key created now with this expiry choice stops working. */
function expiryDate(days: string): Date {
  return new Date(Date.now() + Number(days) * 86_400_000);
}

export function CreateApiKeyDialog({
  open,
  onClose,
  onCreate,
}: {
  open: boolean;
  onClose: () => void;
  onCreate: (body: CreateApiKeyRequest) => Promise<CreatedApiKey>;
}) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>(['agents:register']);
  const [expiry, setExpiry] = useState<string>('90');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fields = error instanceof ApiError ? error.fieldErrors : {};
  const valid = name.trim() !== '' && scopes.length > 0;

  const reset = () => {
    setName('');
    setScopes(['agents:register']);
    setExpiry('90');
    setError(null);
  };
  const close = () => {
    if (busy) return;
    reset();
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
            const expiresAt = expiry === 'never' ? undefined : expiryDate(expiry).toISOString();
            await onCreate({ name: name.trim(), scopes, ...(expiresAt && { expiresAt }) });
            setBusy(false);
            reset();
          } catch (err) {
            setBusy(false);
            setError(err);
          }
        }}
      >
        <DialogTitle>New API key</DialogTitle>
        <DialogContent>
          <Stack spacing={2.5} sx={{ pt: 1 }}>
            <TextField
              label="Name"
              placeholder="e.g. build-runners, telegraf"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={!!fields.name}
              helperText={
                fields.name ?? 'What uses this key, so you know what breaks if you revoke it.'
              }
              required
              autoFocus
            />
            <FormControl error={scopes.length === 0 || !!fields.scopes} component="fieldset">
              <FormLabel component="legend" sx={{ mb: 0.5 }}>
                Scopes
              </FormLabel>
              <FormGroup>
                {CREATABLE.map((s) => (
                  <FormControlLabel
                    key={s}
                    control={
                      <Checkbox
                        size="small"
                        checked={scopes.includes(s)}
                        onChange={(e) =>
                          setScopes((cur) =>
                            e.target.checked ? [...cur, s] : cur.filter((x) => x !== s),
                          )
                        }
                      />
                    }
                    label={
                      <Box>
                        <Typography variant="body2" component="span" sx={{ fontFamily: MONO_FONT }}>
                          {s}
                        </Typography>
                        <Typography
                          variant="caption"
                          color="text.secondary"
                          sx={{ display: 'block' }}
                        >
                          {SCOPE_HELP[s]}
                        </Typography>
                      </Box>
                    }
                    sx={{ alignItems: 'flex-start', my: 0.25, '& .MuiCheckbox-root': { pt: 0.5 } }}
                  />
                ))}
              </FormGroup>
              {(scopes.length === 0 || fields.scopes) && (
                <FormHelperText>{fields.scopes ?? 'Pick at least one scope.'}</FormHelperText>
              )}
            </FormControl>
            <TextField
              select
              label="Expires"
              value={expiry}
              onChange={(e) => setExpiry(e.target.value)}
              helperText={
                expiry === 'never'
                  ? 'The key works until revoked.'
                  : `Stops working on ${expiryDate(expiry).toLocaleDateString()}.`
              }
            >
              {EXPIRY.map((o) => (
                <MenuItem key={o.value} value={o.value}>
                  {o.label}
                </MenuItem>
              ))}
            </TextField>
            {error != null && <ErrorAlert error={error} />}
          </Stack>
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2 }}>
          <Button onClick={close} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="contained" disabled={!valid || busy}>
            Create key
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** The one time the secret is visible: copy it now, it is stored only as a hash. */
export function SecretDialog({
  created,
  onClose,
}: {
  created: CreatedApiKey | null;
  onClose: () => void;
}) {
  const [copied, setCopied] = useState(false);
  const [copyFailed, setCopyFailed] = useState(false);
  const close = () => {
    setCopied(false);
    setCopyFailed(false);
    onClose();
  };
  return (
    <Dialog
      open={created !== null}
      // Only the explicit button closes it: a stray click outside must not lose the secret.
      onClose={(_, reason) => reason !== 'backdropClick' && close()}
      aria-labelledby="secret-title"
    >
      <DialogTitle id="secret-title">API key created</DialogTitle>
      <DialogContent>
        <Alert severity="warning" sx={{ mb: 2 }}>
          Copy this key now. It is shown only once and cannot be recovered; if you lose it, revoke
          it and create a new one.
        </Alert>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
          {created?.name}
        </Typography>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'stretch' }}>
          <Box
            data-testid="api-key-secret"
            sx={{
              flex: 1,
              fontFamily: MONO_FONT,
              fontSize: 14,
              p: 1.5,
              borderRadius: 2,
              border: 1,
              borderColor: 'divider',
              bgcolor: 'action.hover',
              wordBreak: 'break-all',
              userSelect: 'all',
            }}
          >
            {created?.key}
          </Box>
          <Button
            variant={copied ? 'outlined' : 'contained'}
            color={copied ? 'success' : 'primary'}
            startIcon={copied ? <Check /> : <ContentCopy />}
            onClick={async () => {
              if (!created) return;
              try {
                await copyText(created.key);
                setCopied(true);
                setCopyFailed(false);
              } catch {
                setCopyFailed(true);
              }
            }}
            sx={{ flexShrink: 0 }}
          >
            {copied ? 'Copied' : 'Copy'}
          </Button>
        </Stack>
        {copyFailed && (
          <Typography variant="caption" color="error" sx={{ display: 'block', mt: 1 }}>
            The browser refused to copy; select the key and copy it by hand.
          </Typography>
        )}
        <Typography variant="caption" color="text.secondary" sx={{ display: 'block', mt: 2 }}>
          Send it as <code>Authorization: Bearer …</code>, <code>Authorization: Token …</code>{' '}
          (InfluxDB clients) or <code>X-API-Key: …</code>.
        </Typography>
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button variant={copied ? 'contained' : 'text'} onClick={close}>
          {copied ? 'Done' : "I've stored the key"}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
