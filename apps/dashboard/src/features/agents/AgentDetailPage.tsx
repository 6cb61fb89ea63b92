import { lazy, Suspense, useState, type ComponentType } from 'react';
import { Link as RouterLink, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Card from '@mui/material/Card';
import CardContent from '@mui/material/CardContent';
import Grid from '@mui/material/Grid';
import Link from '@mui/material/Link';
import List from '@mui/material/List';
import ListItem from '@mui/material/ListItem';
import ListItemText from '@mui/material/ListItemText';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import type { AgentConfig, AgentDetail } from '@agent-monitor/contracts';
import { agentsApi, agentsKeys, agentsQueries } from '../../api/agents.queries';
import { errorMessage } from '../../api/client';
import { useAgentRoom } from '../../api/socket';
import { Can } from '../../app/auth';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useNotify } from '../../components/Notifier';
import { PageHeader } from '../../components/PageHeader';
import { PageSkeleton } from '../../components/Skeletons';
import { StatusChip } from '../../components/StatusChip';
import { formatDateTime, formatRelative } from '../../components/format';
import { TagList } from './TagList';
import { useLiveAgentStatus } from './useLiveAgentStatus';
import { useNow } from './useNow';

/**
 * The metrics domain's charts for one agent, when that feature provides
 * `features/metrics/AgentMetricsPanel.tsx` (default export, prop `agentId`). A glob import
 * keeps this page building before it exists.
 */
const metricsPanels = import.meta.glob<{ default: ComponentType<{ agentId: string }> }>(
  '../metrics/AgentMetricsPanel.tsx',
);
const loadMetricsPanel = Object.values(metricsPanels)[0];
const AgentMetricsPanel = loadMetricsPanel ? lazy(loadMetricsPanel) : null;

export default function AgentDetailPage() {
  const { id = '' } = useParams();
  const now = useNow(1000);
  useLiveAgentStatus();
  useAgentRoom(id);
  const detail = useQuery({
    ...agentsQueries.detail(id),
    // The last heartbeat keeps moving; refetch about once per interval (bounded).
    refetchInterval: (q) =>
      Math.min(Math.max((q.state.data?.heartbeatIntervalSec ?? 10) * 1000, 2000), 30_000),
  });
  const history = useQuery(agentsQueries.history(id));

  if (detail.isPending) return <PageSkeleton />;
  if (detail.error || !detail.data)
    return <ErrorAlert error={detail.error} onRetry={() => void detail.refetch()} />;
  const a = detail.data;

  return (
    <Box>
      <PageHeader
        title={
          <Stack direction="row" spacing={1.5} sx={{ alignItems: 'center' }}>
            <span>{a.name}</span>
            <StatusChip status={a.status} data-testid="agent-status" />
          </Stack>
        }
        subtitle={
          <>
            <Link component={RouterLink} to="/agents">
              Agents
            </Link>{' '}
            · {a.type} · last heartbeat{' '}
            <span data-testid="last-heartbeat">{formatAgo(a.lastHeartbeat, now)}</span>
          </>
        }
      />
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Identity agent={a} now={now} />
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Tags agent={a} />
          <Box sx={{ mt: 2 }}>
            <Section title="Metadata">
              <Box component="pre" sx={{ m: 0, fontSize: 13, overflow: 'auto', maxHeight: 240 }}>
                {JSON.stringify(a.metadata, null, 2)}
              </Box>
            </Section>
          </Box>
        </Grid>
        {AgentMetricsPanel && (
          <Grid size={12}>
            <Suspense fallback={null}>
              <AgentMetricsPanel agentId={a.id} />
            </Suspense>
          </Grid>
        )}
        <Grid size={{ xs: 12, md: 6 }}>
          <Can role="operator" fallback={<ConfigView agent={a} />}>
            {/* keyed by version: a new version (saved here or elsewhere) resets the editor */}
            <ConfigEditor key={a.configVersion} agent={a} />
          </Can>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Status timeline">
            {history.error && <ErrorAlert error={history.error} />}
            <List dense data-testid="status-timeline">
              {history.data?.items.map((h) => (
                <ListItem key={h.id} disableGutters>
                  <Stack direction="row" spacing={1} sx={{ alignItems: 'center', width: '100%' }}>
                    <StatusChip status={h.status} size="small" />
                    <ListItemText
                      primary={`${h.previousStatus ?? 'new'} → ${h.status} (${h.reason.replace('_', ' ')})`}
                      secondary={`${formatDateTime(h.at)} · ${formatRelative(h.at, now)}`}
                    />
                  </Stack>
                </ListItem>
              ))}
            </List>
          </Section>
        </Grid>
      </Grid>
    </Box>
  );
}

function formatAgo(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  return s < 90 ? `${s} s ago` : formatRelative(iso, now);
}

function Section({
  title,
  children,
  action,
}: {
  title: string;
  children: React.ReactNode;
  action?: React.ReactNode;
}) {
  return (
    <Card variant="outlined">
      <CardContent>
        <Stack direction="row" sx={{ alignItems: 'center', mb: 1 }}>
          <Typography variant="subtitle1" sx={{ fontWeight: 600, flex: 1 }}>
            {title}
          </Typography>
          {action}
        </Stack>
        {children}
      </CardContent>
    </Card>
  );
}

function Identity({ agent: a, now }: { agent: AgentDetail; now: number }) {
  const rows: [string, React.ReactNode][] = [
    ['ID', <code key="id">{a.id}</code>],
    ['Type', a.type],
    ['Host', `${a.host}${a.port ? `:${a.port}` : ''}`],
    ['Environment', a.environment ?? '—'],
    ['Version', a.version ?? '—'],
    ['Reported state', a.reportedState ?? '—'],
    ['Current task', a.currentTask ? `${a.currentTask}${a.branch ? ` (${a.branch})` : ''}` : '—'],
    ['Uncommitted changes', a.uncommittedChanges ?? '—'],
    ['Heartbeat interval', `${a.heartbeatIntervalSec} s (jitter ≈ ${a.heartbeatJitterMs} ms)`],
    [
      'Status since',
      `${formatDateTime(a.statusChangedAt)} (${formatRelative(a.statusChangedAt, now)})`,
    ],
    ['Registered', formatDateTime(a.registeredAt)],
    ['Groups', a.groups.length ? a.groups.map((g) => g.name).join(', ') : '—'],
  ];
  return (
    <Section title="Identity">
      <Box
        component="dl"
        sx={{ display: 'grid', gridTemplateColumns: '170px 1fr', rowGap: 0.75, m: 0 }}
      >
        {rows.map(([k, v]) => (
          <Box key={k} sx={{ display: 'contents' }}>
            <Typography component="dt" variant="body2" color="text.secondary">
              {k}
            </Typography>
            <Typography component="dd" variant="body2" sx={{ m: 0, wordBreak: 'break-all' }}>
              {v}
            </Typography>
          </Box>
        ))}
      </Box>
    </Section>
  );
}

function useUpdateAgent(id: string) {
  const qc = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: (tags: Record<string, string>) => agentsApi.update(id, { tags }),
    onSuccess: (d) => {
      qc.setQueryData(agentsKeys.detail(id), d);
      void qc.invalidateQueries({ queryKey: agentsKeys.lists() });
      notify('Tags saved');
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
}

function Tags({ agent: a }: { agent: AgentDetail }) {
  const update = useUpdateAgent(a.id);
  const [text, setText] = useState('');
  const add = () => {
    const [k, ...rest] = text.split(':');
    if (!k.trim()) return;
    update.mutate(
      { ...a.tags, [k.trim()]: rest.join(':').trim() },
      { onSuccess: () => setText('') },
    );
  };
  return (
    <Section title="Tags">
      <Can role="operator" fallback={<TagList tags={a.tags} />}>
        <TagList
          tags={a.tags}
          onDelete={(k) => {
            const next = { ...a.tags };
            delete next[k];
            update.mutate(next);
          }}
        />
        <Stack direction="row" spacing={1} sx={{ mt: 1.5 }}>
          <TextField
            size="small"
            label="Add tag (key:value)"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && add()}
            slotProps={{ htmlInput: { 'data-testid': 'tag-input' } }}
          />
          <Button variant="outlined" onClick={add} disabled={update.isPending || !text.trim()}>
            Add
          </Button>
        </Stack>
      </Can>
    </Section>
  );
}

function ConfigView({ agent: a }: { agent: AgentDetail }) {
  return (
    <Section title={`Configuration (version ${a.configVersion})`}>
      <Box component="pre" sx={{ m: 0, fontSize: 13 }}>
        {JSON.stringify(a.config, null, 2)}
      </Box>
    </Section>
  );
}

function ConfigEditor({ agent: a }: { agent: AgentDetail }) {
  const qc = useQueryClient();
  const notify = useNotify();
  const [text, setText] = useState(() => JSON.stringify(a.config, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (config: AgentConfig) =>
      agentsApi.putConfig(a.id, { config, expectedVersion: a.configVersion }),
    onSuccess: (r) => {
      notify(
        `Configuration version ${r.configVersion} saved; the agent gets it with its next heartbeat`,
      );
      void qc.invalidateQueries({ queryKey: agentsKeys.detail(a.id) });
    },
    onError: (e) => notify(errorMessage(e), 'error'),
  });
  const onSave = () => {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('must be a JSON object');
      setParseError(null);
      save.mutate(parsed as AgentConfig);
    } catch (e) {
      setParseError((e as Error).message);
    }
  };
  const applied = a.appliedConfigVersion ?? 0;
  return (
    <Section
      title={`Configuration (version ${a.configVersion})`}
      action={
        <Typography
          variant="caption"
          color={applied === a.configVersion ? 'success.main' : 'warning.main'}
        >
          {applied === a.configVersion ? 'applied by the agent' : `agent runs version ${applied}`}
        </Typography>
      }
    >
      <TextField
        multiline
        fullWidth
        minRows={6}
        maxRows={20}
        value={text}
        onChange={(e) => setText(e.target.value)}
        error={Boolean(parseError)}
        helperText={parseError ?? 'A JSON object; saving bumps the version.'}
        slotProps={{
          htmlInput: {
            'data-testid': 'config-editor',
            style: { fontFamily: 'monospace', fontSize: 13 },
          },
        }}
      />
      <Button sx={{ mt: 1 }} variant="contained" onClick={onSave} disabled={save.isPending}>
        Save configuration
      </Button>
    </Section>
  );
}
