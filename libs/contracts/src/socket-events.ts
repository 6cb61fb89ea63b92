import { z } from 'zod';
import type { AgentStatus, AlertSeverity, Role } from './enums.js';
import type { Task } from './activity.js';
import type { Rollout } from './fleet.js';

/** The socket.io namespace the dashboard connects to; JWT in `handshake.auth.token`. */
export const DASHBOARD_NAMESPACE = '/dashboard';

/** Every server event carries a monotonically increasing sequence number. */
export interface Sequenced {
  seq: number;
}

export interface AgentStatusChangedEvent extends Sequenced {
  agentId: string;
  name: string;
  previousStatus: AgentStatus | null;
  status: AgentStatus;
  at: string;
  reason: 'registered' | 'heartbeat' | 'missed_heartbeats' | 'reported' | 'deleted';
}

export interface ConfigPushedEvent extends Sequenced {
  agentId: string;
  configVersion: number;
  at: string;
  rolloutId?: string;
}

export interface NewMetricsDataEvent extends Sequenced {
  agentId: string;
  at: string;
  /** Latest value per query name (`cpu_usage`, `ai_metrics.tokens{model=gpt4}` …). */
  values: Record<string, number>;
}

export interface AlertEvent extends Sequenced {
  alertId: string;
  ruleId: string;
  ruleName: string;
  agentId: string | null;
  agentName: string | null;
  severity: AlertSeverity;
  status: 'pending' | 'firing' | 'resolved' | 'acknowledged';
  summary: string;
  value: number | null;
  at: string;
  groupKey?: string;
  by?: string;
}

/** Coordination activity changed: task board rows (current state) or new commits. */
export interface ActivityUpdatedEvent extends Sequenced {
  agentId: string;
  at: string;
  /** Tasks whose current state changed, as the board shows them now. */
  tasks: Task[];
  /** Commits newly stored (duplicates are not counted). */
  newCommits: number;
}

/** A configuration rollout moved (batch started, acked, paused, finished, rolled back). */
export interface RolloutUpdatedEvent extends Sequenced {
  rollout: Omit<Rollout, 'agents'>;
  at: string;
}

export interface SystemHealthUpdateEvent extends Sequenced {
  at: string;
  [metric: string]: unknown;
}

/** Sent instead of replaying when a client's last sequence fell out of the buffer. */
export interface ResyncEvent {
  reason: 'gap_too_large' | 'unknown_sequence';
  currentSeq: number;
}

export interface SessionChangedEvent {
  reason: 'role_changed' | 'disabled' | 'logged_out';
  role?: Role;
}

export interface ServerToClientEvents {
  agent_status_changed: (e: AgentStatusChangedEvent) => void;
  config_pushed: (e: ConfigPushedEvent) => void;
  new_metrics_data: (e: NewMetricsDataEvent) => void;
  alert_triggered: (e: AlertEvent) => void;
  alert_acknowledged: (e: AlertEvent) => void;
  alert_resolved: (e: AlertEvent) => void;
  system_health_update: (e: SystemHealthUpdateEvent) => void;
  activity_updated: (e: ActivityUpdatedEvent) => void;
  rollout_updated: (e: RolloutUpdatedEvent) => void;
  resync: (e: ResyncEvent) => void;
  session_changed: (e: SessionChangedEvent) => void;
}

/** Events the server broadcasts with a sequence number (and replays on resume). */
export type SequencedEventName = Exclude<keyof ServerToClientEvents, 'resync' | 'session_changed'>;

export const JoinAgentSchema = z.strictObject({ agentId: z.uuid() });
export type JoinAgent = z.infer<typeof JoinAgentSchema>;

export const ResumeSchema = z.strictObject({ lastSeq: z.number().int().min(0) });
export type Resume = z.infer<typeof ResumeSchema>;

export interface Ack {
  ok: boolean;
  error?: string;
  /** For `resume`: how many events were replayed. */
  replayed?: number;
}

export interface ClientToServerEvents {
  join_agent: (p: JoinAgent, ack?: (a: Ack) => void) => void;
  leave_agent: (p: JoinAgent, ack?: (a: Ack) => void) => void;
  resume: (p: Resume, ack?: (a: Ack) => void) => void;
}
