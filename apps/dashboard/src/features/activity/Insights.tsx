import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router';
import { Bar } from 'react-chartjs-2';
import { BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import Box from '@mui/material/Box';
import Link from '@mui/material/Link';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import { useTheme } from '@mui/material/styles';
import { activityQueries } from '../../api/activity.queries';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { CardSkeleton, TableSkeleton } from '../../components/Skeletons';
import { formatRelative } from '../../components/format';

Chart.register(BarElement, CategoryScale, LinearScale, Tooltip);

/** Completed tasks per day (7 or 30 days) and per-agent totals over the same window. */
export function Insights() {
  const theme = useTheme();
  const [days, setDays] = useState<7 | 30>(7);
  const velocity = useQuery(activityQueries.velocity(days));
  const stats = useQuery(activityQueries.stats(days));
  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
        <Typography variant="h6">Velocity</Typography>
        <ToggleButtonGroup
          size="small"
          exclusive
          value={days}
          onChange={(_, v: 7 | 30 | null) => v && setDays(v)}
          aria-label="Window"
        >
          <ToggleButton value={7}>7 days</ToggleButton>
          <ToggleButton value={30}>30 days</ToggleButton>
        </ToggleButtonGroup>
        {velocity.data && (
          <Typography variant="body2" color="text.secondary" data-testid="velocity-total">
            {velocity.data.total} completed · {velocity.data.averagePerDay}/day
          </Typography>
        )}
      </Stack>
      {velocity.error && <ErrorAlert error={velocity.error} />}
      {velocity.isPending ? (
        <CardSkeleton height={240} />
      ) : (
        velocity.data && (
          <Paper variant="outlined" sx={{ p: 2 }}>
            <Box sx={{ height: 240 }}>
              <Bar
                aria-label="Completed tasks per day"
                data={{
                  labels: velocity.data.points.map((p) => p.date.slice(5)),
                  datasets: [
                    {
                      label: 'Completed tasks',
                      data: velocity.data.points.map((p) => p.completed),
                      backgroundColor: theme.palette.primary.main,
                      borderRadius: 4,
                    },
                  ],
                }}
                options={{
                  maintainAspectRatio: false,
                  animation: false,
                  scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
                }}
              />
            </Box>
          </Paper>
        )
      )}
      <Typography variant="h6">Agents</Typography>
      {stats.error && <ErrorAlert error={stats.error} />}
      {stats.isPending ? (
        <TableSkeleton rows={4} columns={7} />
      ) : stats.data && stats.data.items.length === 0 ? (
        <EmptyState title="No activity yet" dense />
      ) : (
        <Paper variant="outlined">
          <TableContainer>
            <Table size="small" aria-label="Agent activity">
              <TableHead>
                <TableRow>
                  <TableCell>Agent</TableCell>
                  <TableCell align="right">Completed</TableCell>
                  <TableCell align="right">In progress</TableCell>
                  <TableCell align="right">Blocked</TableCell>
                  <TableCell align="right">Commits</TableCell>
                  <TableCell align="right">Lines +/−</TableCell>
                  <TableCell>Last activity</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {stats.data?.items.map((s) => (
                  <TableRow key={s.agentId}>
                    <TableCell>
                      <Link component={RouterLink} to={`/activity/agents/${s.agentId}`}>
                        {s.agentName ?? s.agentId.slice(0, 8)}
                      </Link>
                    </TableCell>
                    <TableCell align="right">{s.tasksCompleted}</TableCell>
                    <TableCell align="right">{s.tasksInProgress}</TableCell>
                    <TableCell align="right">{s.tasksBlocked}</TableCell>
                    <TableCell align="right">{s.commits}</TableCell>
                    <TableCell align="right">
                      +{s.linesAdded} / −{s.linesRemoved}
                    </TableCell>
                    <TableCell>{formatRelative(s.lastActivityAt)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        </Paper>
      )}
    </Stack>
  );
}
