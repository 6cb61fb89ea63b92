import { useMemo } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router';
import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import Link from '@mui/material/Link';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import { TASK_STATUSES, type Task, type TaskStatus } from '@agent-monitor/contracts';
import { activityQueries, applyActivityUpdate } from '../../api/activity.queries';
import { useSocketEvent } from '../../api/socket';
import { ErrorAlert } from '../../components/ErrorAlert';
import { CardSkeleton } from '../../components/Skeletons';
import { formatRelative } from '../../components/format';
import { MONO_FONT } from '../../app/theme';

export const STATUS_LABEL: Record<TaskStatus, string> = {
  todo: 'To do',
  in_progress: 'In progress',
  blocked: 'Blocked',
  review: 'Review',
  done: 'Done',
};

const STATUS_ACCENT: Record<TaskStatus, string> = {
  todo: 'text.secondary',
  in_progress: 'info.main',
  blocked: 'error.main',
  review: 'warning.main',
  done: 'success.main',
};

function TaskCard({ t }: { t: Task }) {
  return (
    <Paper
      variant="outlined"
      data-testid={`task-card-${t.taskId}`}
      sx={{ p: 1.5, borderLeft: 3, borderLeftColor: STATUS_ACCENT[t.status] }}
    >
      <Typography variant="body2" sx={{ fontWeight: 500 }}>
        {t.title ?? t.taskId}
      </Typography>
      <Typography variant="caption" sx={{ fontFamily: MONO_FONT, display: 'block' }}>
        {t.taskId}
      </Typography>
      <Stack direction="row" spacing={1} sx={{ mt: 1, alignItems: 'center', flexWrap: 'wrap' }}>
        {t.assignee && <Chip size="small" label={t.assignee} />}
        {t.agentId && (
          <Link
            component={RouterLink}
            to={`/activity/agents/${t.agentId}`}
            variant="caption"
            underline="hover"
          >
            {t.agentName ?? t.agentId.slice(0, 8)}
          </Link>
        )}
        <Typography variant="caption" color="text.secondary">
          {formatRelative(t.updatedAt)}
        </Typography>
      </Stack>
    </Paper>
  );
}

/** Columns by status; cards move live on `activity_updated`. */
export function TaskBoard() {
  const qc = useQueryClient();
  const tasks = useQuery(activityQueries.tasks({ limit: 1000 }));
  useSocketEvent('activity_updated', (e) => applyActivityUpdate(qc, e));

  const columns = useMemo(() => {
    const by = new Map<TaskStatus, Task[]>(TASK_STATUSES.map((s) => [s, []]));
    for (const t of tasks.data?.items ?? []) by.get(t.status)?.push(t);
    return by;
  }, [tasks.data]);

  if (tasks.error) return <ErrorAlert error={tasks.error} onRetry={() => void tasks.refetch()} />;
  if (tasks.isPending) return <CardSkeleton height={300} />;
  return (
    <Box
      sx={{
        display: 'grid',
        gridTemplateColumns: { xs: '1fr', md: `repeat(${TASK_STATUSES.length}, minmax(0, 1fr))` },
        gap: 2,
        alignItems: 'start',
      }}
    >
      {TASK_STATUSES.map((s) => (
        <Paper
          key={s}
          data-testid={`column-${s}`}
          sx={{ p: 1.5, bgcolor: 'action.hover', minHeight: 120 }}
          elevation={0}
        >
          <Stack direction="row" sx={{ mb: 1.5, alignItems: 'center' }} spacing={1}>
            <Typography variant="subtitle2">{STATUS_LABEL[s]}</Typography>
            <Chip size="small" label={columns.get(s)?.length ?? 0} />
          </Stack>
          <Stack spacing={1}>
            {(columns.get(s) ?? []).map((t) => (
              <TaskCard key={t.taskId} t={t} />
            ))}
          </Stack>
        </Paper>
      ))}
    </Box>
  );
}
