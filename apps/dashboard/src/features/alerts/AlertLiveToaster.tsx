import { useState } from 'react';
import { Link as RouterLink } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import Alert from '@mui/material/Alert';
import Badge from '@mui/material/Badge';
import IconButton from '@mui/material/IconButton';
import Snackbar from '@mui/material/Snackbar';
import Tooltip from '@mui/material/Tooltip';
import NotificationsOutlined from '@mui/icons-material/NotificationsOutlined';
import type { AlertEvent } from '@agent-monitor/contracts';
import { alertQueries, alertsKeys } from '../../api/alerts.queries';
import { queryClient } from '../../api/query-client';
import { useSocketEvent } from '../../api/socket';

const TOAST_SEVERITY = {
  info: 'info',
  warning: 'warning',
  error: 'error',
  critical: 'error',
} as const;

/**
 * The top-bar bell: count of firing alerts, refreshed by the alert socket events, and a toast
 * whenever an alert fires anywhere in the fleet.
 */
export function AlertLiveToaster() {
  const active = useQuery({ ...alertQueries.active(), refetchInterval: 60_000 });
  const [toast, setToast] = useState<AlertEvent | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: alertsKeys.all });
  useSocketEvent('alert_triggered', (e) => {
    setToast(e);
    refresh();
  });
  useSocketEvent('alert_resolved', refresh);
  useSocketEvent('alert_acknowledged', refresh);
  const firing = (active.data ?? []).filter((a) => a.state === 'firing').length;
  return (
    <>
      <Tooltip title={`${firing} firing alert${firing === 1 ? '' : 's'}`}>
        <IconButton component={RouterLink} to="/alerts" aria-label="alerts" color="inherit">
          <Badge badgeContent={firing} color="error" data-testid="alert-badge">
            <NotificationsOutlined />
          </Badge>
        </IconButton>
      </Tooltip>
      <Snackbar
        key={toast?.alertId}
        open={!!toast}
        autoHideDuration={8000}
        onClose={(_, reason) => reason !== 'clickaway' && setToast(null)}
        anchorOrigin={{ vertical: 'top', horizontal: 'right' }}
      >
        <Alert
          severity={toast ? TOAST_SEVERITY[toast.severity] : 'info'}
          variant="filled"
          onClose={() => setToast(null)}
          role="alert"
          data-testid="alert-toast"
        >
          {toast ? `${toast.ruleName}: ${toast.summary}` : ''}
        </Alert>
      </Snackbar>
    </>
  );
}
