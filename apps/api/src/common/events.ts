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
  [InternalEvent.MetricsIngested]: { samples: IngestedSample[] };
  [InternalEvent.UserAccessChanged]: {
    userId: string;
    reason: 'role_changed' | 'disabled' | 'deleted' | 'password_changed' | 'logged_out';
    role?: string;
    /** Sessions that stay valid (e.g. the one that changed the password). */
    keepSessionId?: string;
  };
}
