import { useRef } from 'react';
import { useNavigate } from 'react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import Box from '@mui/material/Box';
import Typography from '@mui/material/Typography';
import type { Agent } from '@agent-monitor/contracts';
import { StatusChip } from '../../components/StatusChip';
import { formatRelative } from '../../components/format';
import { TagList } from './TagList';

const ROW_HEIGHT = 52;
const COLUMNS = '1.6fr 110px 1fr 1.2fr 0.8fr 1.6fr 130px';

/** A virtualised table: only the rows in view are in the DOM, so a 500-row page stays smooth. */
export function AgentsTable({ agents, now }: { agents: Agent[]; now: number }) {
  const parent = useRef<HTMLDivElement>(null);
  const navigate = useNavigate();
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer re-renders this component itself
  const v = useVirtualizer({
    count: agents.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const cell = { overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' } as const;
  return (
    <Box
      role="table"
      aria-label="Agents"
      sx={{ border: 1, borderColor: 'divider', borderRadius: 1 }}
    >
      <Box
        role="row"
        sx={{
          display: 'grid',
          gridTemplateColumns: COLUMNS,
          gap: 2,
          px: 2,
          py: 1,
          bgcolor: 'action.hover',
          fontWeight: 600,
          fontSize: 14,
        }}
      >
        {['Name', 'Status', 'Type', 'Host', 'Env · region', 'Tags', 'Last heartbeat'].map((h) => (
          <Box role="columnheader" key={h} sx={cell}>
            {h}
          </Box>
        ))}
      </Box>
      <Box ref={parent} sx={{ height: 'min(65vh, 720px)', overflow: 'auto' }}>
        <Box sx={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((row) => {
            const a = agents[row.index];
            return (
              <Box
                role="row"
                key={a.id}
                data-testid="agent-row"
                data-agent-name={a.name}
                tabIndex={0}
                onClick={() => navigate(`/agents/${a.id}`)}
                onKeyDown={(e) => e.key === 'Enter' && navigate(`/agents/${a.id}`)}
                sx={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  right: 0,
                  height: ROW_HEIGHT,
                  transform: `translateY(${row.start}px)`,
                  display: 'grid',
                  gridTemplateColumns: COLUMNS,
                  gap: 2,
                  px: 2,
                  alignItems: 'center',
                  borderTop: 1,
                  borderColor: 'divider',
                  cursor: 'pointer',
                  '&:hover, &:focus-visible': { bgcolor: 'action.hover', outline: 'none' },
                }}
              >
                <Typography role="cell" variant="body2" sx={{ ...cell, fontWeight: 600 }}>
                  {a.name}
                </Typography>
                <Box role="cell">
                  <StatusChip status={a.status} size="small" />
                </Box>
                <Typography role="cell" variant="body2" sx={cell}>
                  {a.type}
                </Typography>
                <Typography role="cell" variant="body2" sx={cell}>
                  {a.host}
                  {a.port ? `:${a.port}` : ''}
                </Typography>
                <Typography role="cell" variant="body2" sx={cell}>
                  {a.environment ?? '—'}
                  {a.region ? ` · ${a.region}` : ''}
                </Typography>
                <Box role="cell" sx={cell}>
                  <TagList tags={a.tags} max={3} />
                </Box>
                <Typography role="cell" variant="body2" color="text.secondary" sx={cell}>
                  {formatRelative(a.lastHeartbeat, now)}
                </Typography>
              </Box>
            );
          })}
        </Box>
      </Box>
    </Box>
  );
}
