import { STATUS_CODES } from 'node:http';
import type { ErrorResponse } from '@agent-monitor/contracts';

export function errorBody(statusCode: number, message: string, details?: unknown): ErrorResponse {
  const body: ErrorResponse = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
  };
  if (details !== undefined) body.details = details;
  return body;
}
