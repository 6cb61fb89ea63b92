import Box from '@mui/material/Box';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { useConnectionState, type ConnectionState } from '../../api/socket';

const LOOK: Record<ConnectionState, { label: string; hint: string; color: string }> = {
  connected: { label: 'Live', hint: 'Receiving live updates', color: 'success.main' },
  connecting: { label: 'Connecting', hint: 'Opening the live connection…', color: 'warning.main' },
  reconnecting: {
    label: 'Reconnecting',
    hint: 'Live connection lost; retrying. Pages still refresh on their own.',
    color: 'warning.main',
  },
  idle: { label: 'Offline', hint: 'No live connection', color: 'text.disabled' },
};

/** The live (socket.io) connection's state, always visible in the top bar. */
export function ConnectionIndicator() {
  const state = useConnectionState();
  const look = LOOK[state];
  return (
    <Tooltip title={look.hint}>
      <Box
        role="status"
        aria-label={`Live connection: ${look.label}`}
        data-connection={state}
        sx={{
          display: 'flex',
          alignItems: 'center',
          gap: 0.75,
          px: 1.25,
          py: 0.5,
          borderRadius: 99,
          border: 1,
          borderColor: 'divider',
        }}
      >
        <Box
          sx={{
            width: 8,
            height: 8,
            borderRadius: '50%',
            bgcolor: look.color,
            ...(state === 'connected' && {
              boxShadow: '0 0 0 0 currentColor',
              animation: 'am-live 2s infinite',
              color: 'success.main',
              '@keyframes am-live': {
                '0%': { boxShadow: '0 0 0 0 rgba(63,185,80,0.55)' },
                '70%': { boxShadow: '0 0 0 6px rgba(63,185,80,0)' },
                '100%': { boxShadow: '0 0 0 0 rgba(63,185,80,0)' },
              },
            }),
          }}
        />
        <Typography
          variant="caption"
          sx={{ fontWeight: 600, display: { xs: 'none', sm: 'block' } }}
        >
          {look.label}
        </Typography>
      </Box>
    </Tooltip>
  );
}
