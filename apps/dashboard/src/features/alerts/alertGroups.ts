import type { AlertInstance } from '@agent-monitor/contracts';

/**
 * How the Alerts page gathers active alerts: as their notifications went out (the correlation
 * group: one rule across agents, or one agent across rules), by rule, or by agent.
 */
export type AlertGrouping = 'notification' | 'rule' | 'agent';

export interface AlertGroup {
  key: string;
  title: string;
  /** What the members have in common, for the group header. */
  subtitle: string;
  alerts: AlertInstance[];
}

function agentLabel(a: AlertInstance): string {
  return a.agentName ?? a.agentId ?? a.ruleName;
}

function keyOf(a: AlertInstance, by: AlertGrouping): string {
  switch (by) {
    case 'rule':
      return a.groupKey;
    case 'agent':
      // Agentless alerts (watchdogs, group incidents) stay with their rule.
      return a.agentId ? `agent:${a.agentId}` : a.groupKey;
    case 'notification':
      // Not notified (pending, or a rule without channels): with its rule, as before.
      return a.correlationId ? `notification:${a.correlationId}` : a.groupKey;
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function describe(alerts: AlertInstance[], by: AlertGrouping): Omit<AlertGroup, 'key' | 'alerts'> {
  const rules = [...new Set(alerts.map((a) => a.ruleName))];
  const agents = [...new Set(alerts.filter((a) => a.agentId).map(agentLabel))];
  const count = plural(alerts.length, 'alert');
  if (by === 'agent' && alerts[0].agentId)
    return { title: agentLabel(alerts[0]), subtitle: `${count} · ${plural(rules.length, 'rule')}` };
  if (rules.length === 1)
    return {
      title: rules[0],
      subtitle: agents.length > 1 ? `${count} · ${plural(agents.length, 'agent')}` : count,
    };
  if (agents.length === 1)
    return { title: agents[0], subtitle: `${count} · ${plural(rules.length, 'rule')}` };
  return {
    title: rules.join(', '),
    subtitle: `${count} · ${plural(agents.length, 'agent')} · ${plural(rules.length, 'rule')}`,
  };
}

/** Groups in the order their first member appears (the active list comes most severe first). */
export function groupAlerts(alerts: AlertInstance[], by: AlertGrouping): AlertGroup[] {
  const m = new Map<string, AlertInstance[]>();
  for (const a of alerts) {
    const k = keyOf(a, by);
    m.set(k, [...(m.get(k) ?? []), a]);
  }
  return [...m].map(([key, members]) => ({ key, alerts: members, ...describe(members, by) }));
}
