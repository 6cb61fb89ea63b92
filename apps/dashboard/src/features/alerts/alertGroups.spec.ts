import { describe, expect, test } from '@jest/globals';
import type { AlertInstance } from '@agent-monitor/contracts';
import { groupAlerts } from './alertGroups';

let n = 0;
function alert(
  p: Partial<AlertInstance> & Pick<AlertInstance, 'ruleId' | 'ruleName'>,
): AlertInstance {
  n++;
  return {
    id: `a${n}`,
    agentId: null,
    agentName: null,
    labels: {},
    severity: 'warning',
    state: 'firing',
    value: null,
    threshold: null,
    summary: '',
    startedAt: '2026-01-01T00:00:00Z',
    firedAt: '2026-01-01T00:00:00Z',
    resolvedAt: null,
    resolvedBy: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    ackComment: null,
    ackExpiresAt: null,
    suppressed: false,
    groupKey: `rule:${p.ruleId}`,
    escalationStep: 0,
    labelKey: '',
    inhibitedBy: null,
    causedBy: null,
    correlationId: null,
    correlatedWith: [],
    ...p,
  };
}

describe('groupAlerts', () => {
  // x's cpu alert led one notification; y's cpu alert (same rule) and x's memory alert (same
  // agent) followed in it. z's disk alert went out alone; x's pending alert was not notified.
  const cpuX = alert({ id: 'cpuX', ruleId: 'cpu', ruleName: 'CPU', agentId: 'x', agentName: 'X' });
  cpuX.correlationId = 'cpuX';
  const cpuY = alert({
    ruleId: 'cpu',
    ruleName: 'CPU',
    agentId: 'y',
    agentName: 'Y',
    correlationId: 'cpuX',
  });
  const memX = alert({
    ruleId: 'mem',
    ruleName: 'Memory',
    agentId: 'x',
    agentName: 'X',
    correlationId: 'cpuX',
  });
  const diskZ = alert({
    id: 'diskZ',
    ruleId: 'disk',
    ruleName: 'Disk',
    agentId: 'z',
    agentName: 'Z',
    correlationId: 'diskZ',
  });
  const cpuZ = alert({
    ruleId: 'cpu',
    ruleName: 'CPU',
    agentId: 'z',
    agentName: 'Z',
    state: 'pending',
  });
  const all = [cpuX, cpuY, memX, diskZ, cpuZ];
  const ids = (g: { alerts: AlertInstance[] }[]) => g.map((x) => x.alerts.map((a) => a.id));

  test('by notification: both kinds of correlation shown together, as they were sent', () => {
    const g = groupAlerts(all, 'notification');
    expect(ids(g)).toEqual([[cpuX.id, cpuY.id, memX.id], [diskZ.id], [cpuZ.id]]);
    expect(g[0]).toMatchObject({ title: 'CPU, Memory', subtitle: '3 alerts · 2 agents · 2 rules' });
    expect(g[1]).toMatchObject({ title: 'Disk', subtitle: '1 alert' });
  });

  test('by notification: members inhibited by a group incident are shown with it', () => {
    const incident = alert({
      id: 'inc',
      ruleId: 'gu',
      ruleName: 'Group unreachable',
      correlationId: 'inc',
    });
    const m1 = alert({
      ruleId: 'st',
      ruleName: 'Down',
      agentId: 'p',
      inhibitedBy: 'inc',
      suppressed: true,
      correlationId: 'inc',
    });
    const m2 = alert({
      ruleId: 'st',
      ruleName: 'Down',
      agentId: 'q',
      inhibitedBy: 'inc',
      suppressed: true,
      correlationId: 'inc',
    });
    const g = groupAlerts([incident, m1, m2, diskZ], 'notification');
    expect(ids(g)).toEqual([[incident.id, m1.id, m2.id], [diskZ.id]]);
    expect(g[0].title).toBe('Group unreachable, Down');
  });

  test('by rule: one rule across agents', () => {
    const g = groupAlerts(all, 'rule');
    expect(ids(g)).toEqual([[cpuX.id, cpuY.id, cpuZ.id], [memX.id], [diskZ.id]]);
    expect(g[0]).toMatchObject({ title: 'CPU', subtitle: '3 alerts · 3 agents' });
  });

  test('by agent: one agent across rules; agentless alerts stay with their rule', () => {
    const wd = alert({ ruleId: 'wd', ruleName: 'Watchdog' });
    const g = groupAlerts([...all, wd], 'agent');
    expect(ids(g)).toEqual([[cpuX.id, memX.id], [cpuY.id], [diskZ.id, cpuZ.id], [wd.id]]);
    expect(g[0]).toMatchObject({ title: 'X', subtitle: '2 alerts · 2 rules' });
    expect(g[3]).toMatchObject({ title: 'Watchdog' });
  });
});
