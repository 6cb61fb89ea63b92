import { Link as RouterLink } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Card from '@mui/material/Card';
import CardContent from '@mui/material/CardContent';
import Chip from '@mui/material/Chip';
import Divider from '@mui/material/Divider';
import Grid from '@mui/material/Grid';
import Link from '@mui/material/Link';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import OpenInNew from '@mui/icons-material/OpenInNew';
import VpnKeyOutlined from '@mui/icons-material/VpnKeyOutlined';
import GroupOutlined from '@mui/icons-material/GroupOutlined';
import HistoryOutlined from '@mui/icons-material/HistoryOutlined';
import type { Role } from '@agent-monitor/contracts';
import { useAuth } from '../auth';
import { healthQueries } from '../../api/health.queries';
import { useConnectionState } from '../../api/socket';
import { CopyButton } from '../../components/CopyButton';
import { Page, PageHeader } from '../../components/PageHeader';
import { formatDateTime, formatDuration, formatRelative } from '../../components/format';
import { MONO_FONT } from '../theme';

const ROLE_TEXT: Record<Role, string> = {
  admin: 'You can do everything: manage users and API keys, configure alerting and the fleet.',
  operator:
    'You can manage agents, groups, alert rules, notification channels and silences. Users and API keys are managed by admins.',
  viewer:
    'You can see everything: agents, metrics, alerts and activity. Changes are made by operators and admins.',
};

function greeting(d = new Date()): string {
  const h = d.getHours();
  return h < 5
    ? 'Good evening'
    : h < 12
      ? 'Good morning'
      : h < 18
        ? 'Good afternoon'
        : 'Good evening';
}

function CodeBlock({ code }: { code: string }) {
  return (
    <Box
      sx={{
        position: 'relative',
        bgcolor: 'action.hover',
        border: 1,
        borderColor: 'divider',
        borderRadius: 2,
        p: 1.5,
        pr: 5,
      }}
    >
      <Box
        component="pre"
        sx={{
          m: 0,
          fontFamily: MONO_FONT,
          fontSize: 12.5,
          whiteSpace: 'pre-wrap',
          overflowWrap: 'anywhere',
        }}
      >
        {code}
      </Box>
      <Box sx={{ position: 'absolute', top: 6, right: 6 }}>
        <CopyButton text={code} label="Copy command" />
      </Box>
    </Box>
  );
}

function Fact({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <Stack direction="row" sx={{ justifyContent: 'space-between', py: 0.75, gap: 2 }}>
      <Typography variant="body2" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="body2" component="div" sx={{ textAlign: 'right', minWidth: 0 }}>
        {value}
      </Typography>
    </Stack>
  );
}

/** Home until the fleet overview lands: who you are, how to connect agents, where the docs are. */
export default function WelcomePage() {
  const { user, can } = useAuth();
  const health = useQuery(healthQueries.live());
  const ready = useQuery(healthQueries.ready());
  const live = useConnectionState();
  if (!user) return null;
  const origin = window.location.origin;
  const register = `curl -X POST ${origin}/api/v2/agents/register \\
  -H "X-API-Key: am_YOUR_KEY" -H "Content-Type: application/json" \\
  -d '{"name":"worker-1","type":"service","host":"'"$(hostname)"'"}'`;
  const heartbeat = `curl -X POST ${origin}/api/v2/agents/AGENT_ID/heartbeat \\
  -H "X-API-Key: AGENT_KEY" -H "Content-Type: application/json" -d '{}'`;

  return (
    <Page maxWidth={1200}>
      <PageHeader
        title={`${greeting()}, ${user.name || user.email}`}
        subtitle="Agent Monitor watches your agents, services and workers: heartbeats, metrics, alerts and activity, live."
      />
      <Grid container spacing={2.5}>
        <Grid size={{ xs: 12, md: 7 }}>
          <Card sx={{ height: '100%' }}>
            <CardContent>
              <Typography variant="overline" color="text.secondary">
                Connect an agent
              </Typography>
              <Typography variant="h6" sx={{ mb: 1 }}>
                Two requests get a machine reporting
              </Typography>
              <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
                Register with an API key that has the <code>agents:register</code> scope. The answer
                holds the agent&apos;s id and its own key; send a heartbeat with it every interval
                and metrics as they come.
              </Typography>
              <Stack spacing={1.5}>
                <Typography variant="subtitle2">1. Register</Typography>
                <CodeBlock code={register} />
                <Typography variant="subtitle2">2. Heartbeat (every 30 s)</Typography>
                <CodeBlock code={heartbeat} />
              </Stack>
              <Stack direction="row" sx={{ mt: 2, flexWrap: 'wrap', gap: 1 }}>
                {can('admin') && (
                  <Button
                    component={RouterLink}
                    to="/admin/api-keys"
                    variant="contained"
                    startIcon={<VpnKeyOutlined />}
                  >
                    Create an API key
                  </Button>
                )}
                <Button
                  href="/api/v2/docs"
                  target="_blank"
                  rel="noopener"
                  variant="outlined"
                  endIcon={<OpenInNew fontSize="small" />}
                >
                  API reference
                </Button>
              </Stack>
            </CardContent>
          </Card>
        </Grid>
        <Grid size={{ xs: 12, md: 5 }}>
          <Stack spacing={2.5} sx={{ height: '100%' }}>
            <Card>
              <CardContent>
                <Typography variant="overline" color="text.secondary">
                  Your account
                </Typography>
                <Fact label="Name" value={user.name || '—'} />
                <Fact label="Email" value={user.email} />
                <Fact
                  label="Role"
                  value={
                    <Chip
                      size="small"
                      label={user.role}
                      color={user.role === 'admin' ? 'primary' : 'default'}
                      sx={{ textTransform: 'capitalize' }}
                      data-testid="welcome-role"
                    />
                  }
                />
                <Fact
                  label="Last sign-in"
                  value={user.lastLoginAt ? formatRelative(user.lastLoginAt) : 'now'}
                />
                <Fact
                  label="Member since"
                  value={formatDateTime(user.createdAt, { dateOnly: true })}
                />
                <Divider sx={{ my: 1.5 }} />
                <Typography variant="body2" color="text.secondary">
                  {ROLE_TEXT[user.role]}
                </Typography>
              </CardContent>
            </Card>
            <Card>
              <CardContent>
                <Typography variant="overline" color="text.secondary">
                  Server
                </Typography>
                <Fact
                  label="Status"
                  value={
                    ready.isPending ? (
                      '…'
                    ) : ready.data?.status === 'ok' ? (
                      <Chip size="small" color="success" variant="outlined" label="Healthy" />
                    ) : (
                      <Chip size="small" color="error" variant="outlined" label="Degraded" />
                    )
                  }
                />
                {health.data && (
                  <>
                    <Fact label="Version" value={<code>{health.data.version}</code>} />
                    <Fact label="Uptime" value={formatDuration(health.data.uptimeSec)} />
                  </>
                )}
                <Fact
                  label="Live updates"
                  value={
                    live === 'connected' ? 'Connected' : live === 'idle' ? 'Off' : 'Connecting…'
                  }
                />
                <Divider sx={{ my: 1.5 }} />
                <Stack spacing={0.75}>
                  <Link href="/api/v2/docs" target="_blank" rel="noopener" underline="hover">
                    OpenAPI explorer (/api/v2/docs)
                  </Link>
                  <Link
                    href="/api/v2/openapi.json"
                    target="_blank"
                    rel="noopener"
                    underline="hover"
                  >
                    OpenAPI document (JSON)
                  </Link>
                  <Link href="/metrics" target="_blank" rel="noopener" underline="hover">
                    Prometheus metrics (/metrics)
                  </Link>
                </Stack>
              </CardContent>
            </Card>
          </Stack>
        </Grid>
        {can('admin') && (
          <Grid size={12}>
            <Card>
              <CardContent>
                <Typography variant="overline" color="text.secondary">
                  Administration
                </Typography>
                <Grid container spacing={2} sx={{ mt: 0.5 }}>
                  {[
                    {
                      to: '/admin/users',
                      icon: <GroupOutlined />,
                      title: 'Users',
                      text: 'Invite teammates as admin, operator or viewer; reset passwords.',
                    },
                    {
                      to: '/admin/api-keys',
                      icon: <VpnKeyOutlined />,
                      title: 'API keys',
                      text: 'Keys for agents, scripts and InfluxDB clients, with scopes and expiry.',
                    },
                    {
                      to: '/admin/audit',
                      icon: <HistoryOutlined />,
                      title: 'Audit log',
                      text: 'Who changed what, when and from where.',
                    },
                  ].map((a) => (
                    <Grid key={a.to} size={{ xs: 12, sm: 4 }}>
                      <Box
                        component={RouterLink}
                        to={a.to}
                        sx={{
                          display: 'flex',
                          gap: 1.5,
                          p: 1.5,
                          borderRadius: 2,
                          color: 'inherit',
                          textDecoration: 'none',
                          border: 1,
                          borderColor: 'divider',
                          height: '100%',
                          '&:hover': { bgcolor: 'action.hover', borderColor: 'primary.main' },
                        }}
                      >
                        <Box sx={{ color: 'primary.main', mt: 0.25 }}>{a.icon}</Box>
                        <Box>
                          <Typography variant="subtitle2">{a.title}</Typography>
                          <Typography variant="body2" color="text.secondary">
                            {a.text}
                          </Typography>
                        </Box>
                      </Box>
                    </Grid>
                  ))}
                </Grid>
              </CardContent>
            </Card>
          </Grid>
        )}
      </Grid>
    </Page>
  );
}
