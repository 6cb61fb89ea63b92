import Box from '@mui/material/Box';
import Paper from '@mui/material/Paper';
import Skeleton from '@mui/material/Skeleton';
import Stack from '@mui/material/Stack';

/** Placeholder for a whole page while its code or first data loads. */
export function PageSkeleton() {
  return (
    <Box sx={{ p: { xs: 2, md: 3 } }} aria-busy="true" aria-label="Loading">
      <Skeleton variant="text" width={220} height={40} />
      <Skeleton variant="text" width={360} sx={{ mb: 3 }} />
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2} sx={{ mb: 2 }}>
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} variant="rounded" height={112} sx={{ flex: 1 }} />
        ))}
      </Stack>
      <Skeleton variant="rounded" height={280} />
    </Box>
  );
}

/** Placeholder rows shaped like the table that will replace them. */
export function TableSkeleton({ rows = 6, columns = 5 }: { rows?: number; columns?: number }) {
  return (
    <Box aria-busy="true" aria-label="Loading" sx={{ px: 2, py: 1 }}>
      {Array.from({ length: rows }, (_, r) => (
        <Stack key={r} direction="row" spacing={2} sx={{ py: 1.25 }}>
          {Array.from({ length: columns }, (_, c) => (
            <Skeleton key={c} variant="text" sx={{ flex: c === 0 ? 2 : 1 }} />
          ))}
        </Stack>
      ))}
    </Box>
  );
}

/** Placeholder for a card of figures. */
export function CardSkeleton({ height = 120 }: { height?: number }) {
  return (
    <Paper variant="outlined" sx={{ p: 2 }} aria-busy="true">
      <Skeleton variant="text" width="40%" />
      <Skeleton variant="rounded" height={height - 40} sx={{ mt: 1 }} />
    </Paper>
  );
}
