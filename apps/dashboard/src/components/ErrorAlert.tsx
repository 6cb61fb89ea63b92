import Alert, { type AlertProps } from '@mui/material/Alert';
import AlertTitle from '@mui/material/AlertTitle';
import Button from '@mui/material/Button';
import { ApiError, errorMessage } from '../api/client';

export interface ErrorAlertProps extends Omit<AlertProps, 'children'> {
  error: unknown;
  title?: string;
  /** Shows a Retry button (e.g. `query.refetch`). */
  onRetry?: () => void;
}

/** An error from the API (or anywhere) as the user should read it: its message, never a stack. */
export function ErrorAlert({ error, title, onRetry, ...rest }: ErrorAlertProps) {
  if (!error) return null;
  const forbidden = error instanceof ApiError && error.statusCode === 403;
  return (
    <Alert
      severity={forbidden ? 'warning' : 'error'}
      variant="outlined"
      action={
        onRetry && !forbidden ? (
          <Button color="inherit" size="small" onClick={onRetry}>
            Retry
          </Button>
        ) : undefined
      }
      {...rest}
    >
      {title && <AlertTitle>{title}</AlertTitle>}
      {errorMessage(error)}
    </Alert>
  );
}
