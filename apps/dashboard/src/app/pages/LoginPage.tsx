import { useEffect, useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import CircularProgress from '@mui/material/CircularProgress';
import IconButton from '@mui/material/IconButton';
import InputAdornment from '@mui/material/InputAdornment';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import Visibility from '@mui/icons-material/Visibility';
import VisibilityOff from '@mui/icons-material/VisibilityOff';
import DarkModeOutlined from '@mui/icons-material/DarkModeOutlined';
import LightModeOutlined from '@mui/icons-material/LightModeOutlined';
import { ApiError, errorMessage } from '../../api/client';
import { safeNext, useAuth } from '../auth';
import { Logo } from '../../components/Logo';
import { useThemeMode } from '../useThemeMode';

/** Seconds left of a 429's Retry-After, counting down so the user sees when to try again. */
function useCountdown(): [number, (s: number) => void] {
  const [left, setLeft] = useState(0);
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => setLeft((s) => s - 1), 1000);
    return () => clearTimeout(t);
  }, [left]);
  return [left, setLeft];
}

/** 42 → "42 s", 891 → "15 min". */
function formatWait(sec: number): string {
  return sec < 90 ? `${sec} s` : `${Math.ceil(sec / 60)} min`;
}

export default function LoginPage() {
  const { status, login } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get('next'));
  const { resolved, toggle } = useThemeMode();

  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [retryIn, setRetryIn] = useCountdown();

  useEffect(() => {
    document.title = 'Sign in · Agent Monitor';
  }, []);

  if (status === 'authenticated') return <Navigate to={next} replace />;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (busy || retryIn > 0) return;
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
      navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 429) {
        setRetryIn(err.retryAfterSec ?? 30);
        setError('Too many sign-in attempts.');
      } else if (err instanceof ApiError && err.statusCode === 401) {
        setError(err.message || 'Invalid email or password.');
      } else {
        setError(errorMessage(err));
      }
      setBusy(false);
    }
  };

  return (
    <Box
      sx={(t) => ({
        minHeight: '100vh',
        display: 'grid',
        placeItems: 'center',
        p: 2,
        background:
          'radial-gradient(1200px 600px at 10% -10%, rgba(37,99,235,0.12), transparent 60%), radial-gradient(900px 500px at 110% 110%, rgba(124,58,237,0.10), transparent 60%)',
        bgcolor: 'background.default',
        ...t.applyStyles('dark', {
          background:
            'radial-gradient(1200px 600px at 10% -10%, rgba(96,165,250,0.14), transparent 60%), radial-gradient(900px 500px at 110% 110%, rgba(167,139,250,0.12), transparent 60%)',
        }),
      })}
    >
      <Tooltip title={`Switch to ${resolved === 'dark' ? 'light' : 'dark'} theme`}>
        <IconButton
          onClick={toggle}
          sx={{ position: 'fixed', top: 16, right: 16 }}
          aria-label={`Switch to ${resolved === 'dark' ? 'light' : 'dark'} theme`}
          data-theme={resolved}
        >
          {resolved === 'dark' ? <LightModeOutlined /> : <DarkModeOutlined />}
        </IconButton>
      </Tooltip>
      <Box sx={{ width: '100%', maxWidth: 400 }}>
        <Stack
          direction="row"
          spacing={1.5}
          sx={{ alignItems: 'center', justifyContent: 'center', mb: 3 }}
        >
          <Logo size={40} />
          <Typography variant="h5" component="div" sx={{ fontWeight: 700 }}>
            Agent Monitor
          </Typography>
        </Stack>
        <Paper variant="outlined" sx={{ p: { xs: 3, sm: 4 }, borderRadius: 3 }}>
          <Typography variant="h6" component="h1">
            Sign in
          </Typography>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 3 }}>
            Watch your fleet of agents, services and workers live.
          </Typography>
          <form onSubmit={submit} noValidate>
            <Stack spacing={2}>
              {error && (
                <Alert severity={retryIn > 0 ? 'warning' : 'error'} role="alert">
                  {error}
                  {retryIn > 0 && ` Try again in ${formatWait(retryIn)}.`}
                </Alert>
              )}
              {params.get('next') && !error && (
                <Alert severity="info">Please sign in to continue.</Alert>
              )}
              <TextField
                label="Email"
                type="email"
                name="email"
                autoComplete="username"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                required
                autoFocus
                fullWidth
              />
              <TextField
                label="Password"
                type={show ? 'text' : 'password'}
                name="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
                fullWidth
                slotProps={{
                  input: {
                    endAdornment: (
                      <InputAdornment position="end">
                        <IconButton
                          aria-label={show ? 'Hide password' : 'Show password'}
                          onClick={() => setShow((s) => !s)}
                          edge="end"
                          size="small"
                        >
                          {show ? (
                            <VisibilityOff fontSize="small" />
                          ) : (
                            <Visibility fontSize="small" />
                          )}
                        </IconButton>
                      </InputAdornment>
                    ),
                  },
                }}
              />
              <Button
                type="submit"
                variant="contained"
                size="large"
                disabled={busy || retryIn > 0 || !email || !password}
                startIcon={busy ? <CircularProgress size={18} color="inherit" /> : undefined}
              >
                {busy ? 'Signing in…' : 'Sign in'}
              </Button>
            </Stack>
          </form>
        </Paper>
        <Typography
          variant="caption"
          color="text.secondary"
          sx={{ display: 'block', textAlign: 'center', mt: 3 }}
        >
          Forgot your password? Ask an administrator to reset it.
        </Typography>
      </Box>
    </Box>
  );
}
