import type { AgentStatus } from '@agent-monitor/contracts';

/**
 * The internal event bus (@nestjs/event-emitter): how domains tell each other what happened
 * without reaching into each other's repositories. Events are in-process; anything that must
 * survive a crash or reach other instances is written to PostgreSQL first (and to sockets
 * through RealtimePublisher, which fans out via Redis when configured).
 *
 * Emit with `events.emit(InternalEvent.X, payload satisfies InternalEventPayloads[typeof X])`.
 */
export const InternalEvent = {
  AgentRegistered: 'agent.registered',
  AgentStatusChanged: 'agent.status_changed',
  AgentHeartbeat: 'agent.heartbeat',
  AgentDeleted: 'agent.deleted',
  AgentConfigChanged: 'agent.config_changed',
  /** After commit: samples that were stored, for streaming alert evaluation and live charts. */
  MetricsIngested: 'metrics.ingested',
  /** A user's sessions ended or role changed: sockets of that user must follow. */
  UserAccessChanged: 'user.access_changed',
} as const;

export interface AgentRef {
  agentId: string;
  name: string;
}

export interface IngestedSample {
  agentId: string;
  /** epoch milliseconds */
  ts: number;
  /** query name → value, e.g. `cpu_usage`, `ai_metrics.inference_time{model=gpt4}` */
  values: Record<string, number>;
}

/** One series set of an ingested batch: its agent and the query name of each value column. */
export interface IngestedSeries {
  agentId: string;
  /** e.g. `cpu_usage`, `ai_metrics.inference_time{model=gpt4}` */
  names: readonly string[];
}

/**
 * The values one ingest request committed, column-wise (a batch of 5,000 lines is a handful
 * of typed arrays, not 5,000 objects): row `r` belongs to `series[rowSeries[r]]`, was sampled
 * at `rowTs[r]` (epoch ms) and holds `vals[rowOffset[r] + j]` for column `j` of that series
 * (`j < names.length`; NaN = no value in that column). One row per (series set, timestamp).
 * Read it with `forEachIngestedValue` / `ingestedSamples`; build one with `ingestedBatchOf`.
 */
export interface IngestedBatch {
  series: readonly IngestedSeries[];
  rows: number;
  rowSeries: Int32Array;
  rowTs: Float64Array;
  rowOffset: Int32Array;
  vals: Float64Array;
  /** Number of values (non-NaN cells). */
  values: number;
}

/** Calls `fn` for every value of the batch, row by row. */
export function forEachIngestedValue(
  b: IngestedBatch,
  fn: (agentId: string, name: string, ts: number, value: number) => void,
): void {
  for (let r = 0; r < b.rows; r++) {
    const s = b.series[b.rowSeries[r]];
    const off = b.rowOffset[r];
    for (let j = 0; j < s.names.length; j++) {
      const v = b.vals[off + j];
      if (v === v) fn(s.agentId, s.names[j], b.rowTs[r], v);
    }
  }
}

/** The batch as one sample object per (agent, timestamp) (tests, small consumers). */
export function ingestedSamples(b: IngestedBatch): IngestedSample[] {
  const out: IngestedSample[] = [];
  const byKey = new Map<string, IngestedSample>();
  forEachIngestedValue(b, (agentId, name, ts, value) => {
    const k = `${agentId}\u0000${ts}`;
    let s = byKey.get(k);
    if (!s) {
      byKey.set(k, (s = { agentId, ts, values: {} }));
      out.push(s);
    }
    s.values[name] = value;
  });
  return out;
}

/** Builds a batch from sample objects (one series per sample). */
export function ingestedBatchOf(samples: IngestedSample[]): IngestedBatch {
  const series: IngestedSeries[] = [];
  const rowOffset = new Int32Array(samples.length);
  const widths = samples.map((s) => Object.keys(s.values).length);
  const vals = new Float64Array(widths.reduce((a, b) => a + b, 0));
  let off = 0;
  samples.forEach((s, i) => {
    const names = Object.keys(s.values);
    series.push({ agentId: s.agentId, names });
    rowOffset[i] = off;
    for (const n of names) vals[off++] = s.values[n];
  });
  return {
    series,
    rows: samples.length,
    rowSeries: Int32Array.from(samples, (_s, i) => i),
    rowTs: Float64Array.from(samples, (s) => s.ts),
    rowOffset,
    vals,
    values: vals.length,
  };
}

export interface InternalEventPayloads {
  [InternalEvent.AgentRegistered]: AgentRef & { created: boolean };
  [InternalEvent.AgentStatusChanged]: AgentRef & {
    previousStatus: AgentStatus | null;
    status: AgentStatus;
    at: Date;
    reason: 'registered' | 'heartbeat' | 'missed_heartbeats' | 'reported' | 'deleted';
  };
  [InternalEvent.AgentHeartbeat]: AgentRef & { at: Date; appliedConfigVersion?: number | null };
  [InternalEvent.AgentDeleted]: AgentRef;
  [InternalEvent.AgentConfigChanged]: AgentRef & { configVersion: number; rolloutId?: string };
  [InternalEvent.MetricsIngested]: IngestedBatch;
  [InternalEvent.UserAccessChanged]: {
    userId: string;
    reason: 'role_changed' | 'disabled' | 'deleted' | 'password_changed' | 'logged_out';
    role?: string;
    /** Sessions that stay valid (e.g. the one that changed the password). */
    keepSessionId?: string;
  };
}
