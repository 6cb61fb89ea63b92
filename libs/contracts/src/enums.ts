export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const API_KEY_SCOPES = [
  'agents:register',
  'agents:write',
  'metrics:write',
  'read',
  'admin',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * Liveness status kept by the server. `online`/`stale`/`offline` come from heartbeats (or
 * their absence); `error`/`down` are what an agent reported about itself.
 */
export const AGENT_STATUSES = ['online', 'stale', 'offline', 'error', 'down'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** What an agent says it is doing, sent in heartbeats. */
export const AGENT_ACTIVITY_STATES = [
  'active',
  'idle',
  'busy',
  'blocked',
  'error',
  'down',
] as const;
export type AgentActivityState = (typeof AGENT_ACTIVITY_STATES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
