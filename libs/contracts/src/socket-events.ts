import { z } from 'zod';
import type { AgentStatus, AlertSeverity, Role } from './enums.js';
import type { Task } from './activity.js';
import type { Rollout } from './fleet.js';

/** The socket.io namespace the dashboard connects to; JWT in `handshake.auth.token`. */
export const DASHBOARD_NAMESPACE = '/dashboard';

/**
 * Every server event carries its position in the live stream: `seq` increases within one
 * `epoch` (on the wire, see `Positioned`). An epoch is one unbroken numbering: the shared Redis
 * one while every instance reaches Redis, or one instance's own while it numbers events alone
 * (no REDIS_URL, or Redis unreachable). A new epoch starts whenever numbering could have lost
 * or reused a number (API restart without Redis, an instance's Redis link dropped and came
 * back); positions from different epochs cannot be compared, so a client resuming from another
 * epoch gets `resync`, and a client that sees the epoch change in the live stream must refetch.
 */
export interface Sequenced {
  seq: number;
}

/** The epoch an event was numbered in; the server adds it to every sequenced event it emits. */
export interface Epoch {
  epoch: string;
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

/**
 * Refetch everything: events may have been missed that cannot be replayed. Sent instead of
 * replaying when a client's last position fell out of the bounded buffer (`gap_too_large`),
 * is ahead of the server (`unknown_sequence`) or belongs to another epoch (`epoch_changed`);
 * also broadcast to every client when an instance that lost Redis gets it back (its events
 * in between reached only its own sockets). Continue from `{epoch, currentSeq}`.
 */
export interface ResyncEvent {
  reason: 'gap_too_large' | 'unknown_sequence' | 'epoch_changed';
  epoch: string;
  currentSeq: number;
}

export interface SessionChangedEvent {
  reason: 'role_changed' | 'disabled' | 'logged_out';
  role?: Role;
}

export interface ServerToClientEvents {
  agent_status_changed: (e: AgentStatusChangedEvent & Epoch) => void;
  config_pushed: (e: ConfigPushedEvent & Epoch) => void;
  new_metrics_data: (e: NewMetricsDataEvent & Epoch) => void;
  alert_triggered: (e: AlertEvent & Epoch) => void;
  alert_acknowledged: (e: AlertEvent & Epoch) => void;
  alert_resolved: (e: AlertEvent & Epoch) => void;
  system_health_update: (e: SystemHealthUpdateEvent & Epoch) => void;
  activity_updated: (e: ActivityUpdatedEvent & Epoch) => void;
  rollout_updated: (e: RolloutUpdatedEvent & Epoch) => void;
  resync: (e: ResyncEvent) => void;
  session_changed: (e: SessionChangedEvent) => void;
}

/** Events the server broadcasts with a sequence number (and replays on resume). */
export type SequencedEventName = Exclude<keyof ServerToClientEvents, 'resync' | 'session_changed'>;

export const JoinAgentSchema = z.strictObject({ agentId: z.uuid() });
export type JoinAgent = z.infer<typeof JoinAgentSchema>;

/** The last position a client saw (`epoch` and `seq` of its latest event, or of a `resync`). */
export const ResumeSchema = z.strictObject({
  epoch: z.string().min(1).max(64),
  lastSeq: z.number().int().min(0),
});
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
