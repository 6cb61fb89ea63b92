import { useDeferredValue, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router';
import Link from '@mui/material/Link';
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
import Typography from '@mui/material/Typography';
import { activityQueries } from '../../api/activity.queries';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { TableSkeleton } from '../../components/Skeletons';
import { formatDateTime, formatRelative } from '../../components/format';
import { MONO_FONT } from '../../app/theme';

/** Newest commits first, filtered by branch, author or text. */
export function CommitFeed({ agentId }: { agentId?: string }) {
  const [q, setQ] = useState('');
  const [branch, setBranch] = useState('');
  const [author, setAuthor] = useState('');
  const [page, setPage] = useState(0);
  const [limit, setLimit] = useState(25);
  const f = useDeferredValue({ q, branch, author });
  const commits = useQuery(
    activityQueries.commits({
      agentId,
      q: f.q.trim(),
      branch: f.branch.trim(),
      author: f.author.trim(),
      page: page + 1,
      limit,
    }),
  );
  return (
    <Stack spacing={2}>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
        <TextField
          size="small"
          label="Search message or hash"
          value={q}
          onChange={(e) => (setQ(e.target.value), setPage(0))}
        />
        <TextField
          size="small"
          label="Branch"
          value={branch}
          onChange={(e) => (setBranch(e.target.value), setPage(0))}
        />
        <TextField
          size="small"
          label="Author"
          value={author}
          onChange={(e) => (setAuthor(e.target.value), setPage(0))}
        />
      </Stack>
      {commits.error && <ErrorAlert error={commits.error} onRetry={() => void commits.refetch()} />}
      {commits.isPending ? (
        <TableSkeleton rows={5} columns={5} />
      ) : commits.data && commits.data.total === 0 ? (
        <EmptyState
          title="No commits"
          description="Agents report commits with POST /api/v2/agents/:id/commits."
          dense
        />
      ) : (
        <Paper variant="outlined">
          <TableContainer>
            <Table size="small" aria-label="Commits">
              <TableHead>
                <TableRow>
                  <TableCell>Commit</TableCell>
                  <TableCell>Message</TableCell>
                  <TableCell>Branch</TableCell>
                  <TableCell>Author / agent</TableCell>
                  <TableCell align="right">Changes</TableCell>
                  <TableCell>When</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {commits.data?.items.map((c) => (
                  <TableRow key={c.hash} data-testid={`commit-${c.hash}`}>
                    <TableCell sx={{ fontFamily: MONO_FONT }}>{c.hash.slice(0, 8)}</TableCell>
                    <TableCell sx={{ maxWidth: 420 }}>
                      <Typography variant="body2" noWrap title={c.message}>
                        {c.message.split('\n')[0]}
                      </Typography>
                    </TableCell>
                    <TableCell sx={{ fontFamily: MONO_FONT }}>{c.branch}</TableCell>
                    <TableCell>
                      <Typography variant="body2">{c.author}</Typography>
                      <Link
                        component={RouterLink}
                        to={`/activity/agents/${c.agentId}`}
                        variant="caption"
                      >
                        {c.agentName ?? c.agentId.slice(0, 8)}
                      </Link>
                    </TableCell>
                    <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                      <Typography component="span" variant="body2" color="success.main">
                        +{c.linesAdded}
                      </Typography>{' '}
                      <Typography component="span" variant="body2" color="error.main">
                        −{c.linesRemoved}
                      </Typography>{' '}
                      <Typography component="span" variant="caption" color="text.secondary">
                        ({c.filesChanged} files)
                      </Typography>
                    </TableCell>
                    <TableCell title={formatDateTime(c.committedAt)}>
                      {formatRelative(c.committedAt)}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
          <TablePagination
            component="div"
            count={commits.data?.total ?? 0}
            page={page}
            rowsPerPage={limit}
            rowsPerPageOptions={[25, 50, 100]}
            onPageChange={(_, p) => setPage(p)}
            onRowsPerPageChange={(e) => (setLimit(Number(e.target.value)), setPage(0))}
          />
        </Paper>
      )}
    </Stack>
  );
}
