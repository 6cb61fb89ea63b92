import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useParams } from 'react-router';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import ArrowBack from '@mui/icons-material/ArrowBack';
import type { TimelineItem } from '@agent-monitor/contracts';
import { activityQueries, applyActivityUpdate } from '../../api/activity.queries';
import { useSocketEvent } from '../../api/socket';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { TableSkeleton } from '../../components/Skeletons';
import { formatDateTime } from '../../components/format';
import { MONO_FONT } from '../../app/theme';
import { STATUS_LABEL } from './TaskBoard';

function Item({ item }: { item: TimelineItem }) {
  if (item.kind === 'commit') {
    return (
      <Stack direction="row" spacing={1.5} sx={{ alignItems: 'baseline' }}>
        <Chip size="small" color="secondary" label="commit" />
        <Typography variant="body2" sx={{ fontFamily: MONO_FONT }}>
          {item.hash.slice(0, 8)}
        </Typography>
        <Typography variant="body2" sx={{ flex: 1 }} noWrap title={item.message}>
          {item.message.split('\n')[0]}{' '}
          <Typography component="span" variant="caption" color="text.secondary">
            on {item.branch} · +{item.linesAdded}/−{item.linesRemoved}
          </Typography>
        </Typography>
      </Stack>
    );
  }
  return (
    <Stack direction="row" spacing={1.5} sx={{ alignItems: 'baseline' }}>
      <Chip size="small" label={item.type} />
      <Typography variant="body2" sx={{ fontFamily: MONO_FONT }}>
        {item.taskId}
      </Typography>
      <Typography variant="body2" sx={{ flex: 1 }}>
        {item.title ?? ''}
        {item.statusAfter && (
          <Typography component="span" variant="caption" color="text.secondary">
            {' '}
            {item.statusBefore ? `${STATUS_LABEL[item.statusBefore]} → ` : '→ '}
            {STATUS_LABEL[item.statusAfter]}
          </Typography>
        )}
      </Typography>
    </Stack>
  );
}

/** One agent's task events and commits, newest first, updated live. */
export default function AgentTimelinePage() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const timeline = useQuery(activityQueries.timeline(id, 200));
  useSocketEvent('activity_updated', (e) => applyActivityUpdate(qc, e));
  return (
    <Page maxWidth={1000}>
      <PageHeader
        title="Agent activity"
        subtitle={<span style={{ fontFamily: MONO_FONT }}>{id}</span>}
        actions={
          <Button component={RouterLink} to="/activity" startIcon={<ArrowBack />}>
            Task board
          </Button>
        }
      />
      {timeline.error && <ErrorAlert error={timeline.error} />}
      {timeline.isPending ? (
        <TableSkeleton rows={8} columns={3} />
      ) : timeline.data && timeline.data.items.length === 0 ? (
        <EmptyState title="Nothing recorded for this agent yet" />
      ) : (
        <Paper variant="outlined" sx={{ p: 2 }}>
          <Stack spacing={1.5} data-testid="timeline">
            {timeline.data?.items.map((item) => (
              <Box key={`${item.kind}-${item.kind === 'commit' ? item.hash : item.id}`}>
                <Typography variant="caption" color="text.secondary">
                  {formatDateTime(item.at)}
                </Typography>
                <Item item={item} />
              </Box>
            ))}
          </Stack>
        </Paper>
      )}
    </Page>
  );
}
