import { z } from 'zod';

/** One instance's self-monitoring figures over one interval (SYSTEM_HEALTH_INTERVAL). */
export interface SystemHealthSnapshot {
  at: string;
  /** `host:pid:random` of the API instance that measured it. */
  instance: string;
  /** HTTP requests answered in the interval (dashboard files and /metrics excluded). */
  requests: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  serverErrors: number;
  clientErrors: number;
  /** Ingested metric values per second over the interval. */
  ingestRate: number;
  /** Ingest requests working + waiting in the back-pressure gate. */
  ingestInFlight: number;
  /** Background jobs waiting (pg-boss). */
  queueDepth: number;
  dbStatus: 'up' | 'down';
  dbLatencyMs: number | null;
  dbPoolInUse: number;
  dbPoolWaiting: number;
  redisStatus: 'up' | 'down' | 'disabled';
  eventLoopLagMs: number;
  rssMb: number;
  socketConnections: number;
}

export interface SystemHealthResponse {
  status: 'ok' | 'degraded';
  /** This instance's figures now. */
  current: SystemHealthSnapshot;
  /** The latest snapshot of every instance seen within three intervals. */
  instances: SystemHealthSnapshot[];
  /** Stored snapshots, oldest first, all instances. */
  history: SystemHealthSnapshot[];
  intervalSec: number;
}

export const SystemHealthQuerySchema = z.strictObject({
  /** How far back the history goes. */
  minutes: z.coerce.number().int().min(1).max(10_080).default(60),
});
export type SystemHealthQuery = z.infer<typeof SystemHealthQuerySchema>;

/** Dead-man's-switch answer: 200 means "the monitor is alive", always "firing" by design. */
export interface WatchdogResponse {
  status: 'firing';
  at: string;
  instance: string;
  database: 'up';
  lastSnapshotAt: string | null;
}
