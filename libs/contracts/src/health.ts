export interface HealthStatus {
  status: 'ok' | 'error';
  version: string;
  uptimeSec: number;
  checks?: Record<string, { status: 'up' | 'down'; latencyMs?: number; message?: string }>;
}
