import { Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  ALERT_SEVERITIES,
  emptyAlertSummary,
  type AlertSeverity,
  type AlertSummary,
  type AvailabilitySummary,
  type GenerateReportQuery,
  type Report,
  type ReportAgentRow,
  type ReportGroupRow,
  type ReportScope,
} from '@agent-monitor/contracts';
import { notFound } from '../../common/errors.js';
import { GroupsService } from '../groups/groups.service.js';
import { ReportMetricsSource } from './report-metrics.source.js';

interface AgentRow {
  id: string;
  name: string;
  type: string;
  environment: string | null;
}

/** Sums kept per subject so agent figures combine into exact group and fleet figures. */
interface AlertAcc {
  total: number;
  bySeverity: Record<AlertSeverity, number>;
  ackSum: number;
  ackN: number;
  resSum: number;
  resN: number;
}

const newAcc = (): AlertAcc => ({
  total: 0,
  bySeverity: emptyAlertSummary().bySeverity,
  ackSum: 0,
  ackN: 0,
  resSum: 0,
  resN: 0,
});

function addAcc(into: AlertAcc, a: AlertAcc): void {
  into.total += a.total;
  for (const s of ALERT_SEVERITIES) into.bySeverity[s] += a.bySeverity[s];
  into.ackSum += a.ackSum;
  into.ackN += a.ackN;
  into.resSum += a.resSum;
  into.resN += a.resN;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

function toSummary(a: AlertAcc): AlertSummary {
  return {
    total: a.total,
    bySeverity: { ...a.bySeverity },
    mttaSec: a.ackN ? round(a.ackSum / a.ackN, 1) : null,
    mttrSec: a.resN ? round(a.resSum / a.resN, 1) : null,
  };
}

function availability(onlineSec: number, observedSec: number): AvailabilitySummary {
  return {
    availabilityPct: observedSec > 0 ? round((onlineSec / observedSec) * 100, 3) : null,
    onlineSec: round(onlineSec, 1),
    observedSec: round(observedSec, 1),
  };
}

/**
 * Builds fleet reports from what each domain stored: availability from the agents' status
 * history, alert counts and MTTA/MTTR from alert instances, activity from the coordination
 * tables, metric summaries and LLM usage from the metrics store. A section whose domain is
 * not installed on this server is left empty with a note saying so.
 */
@Injectable()
export class ReportsService {
  constructor(
    private readonly db: DataSource,
    private readonly groups: GroupsService,
    @Optional() private readonly metrics?: ReportMetricsSource,
  ) {}

  async generate(q: GenerateReportQuery): Promise<Report> {
    const notes: string[] = [];
    const { agents, label } = await this.scopeAgents(q.scope, q.environment, q.region);
    const ids = agents.map((a) => a.id);
    const now = new Date();
    // The future is not observed: availability stops at now.
    const until = new Date(Math.min(new Date(q.to).getTime(), now.getTime())).toISOString();

    const [avail, alerts, activity] = await Promise.all([
      this.availability(ids, q.from, until),
      this.alerts(ids, q.from, q.to, notes),
      this.activity(ids, q.from, q.to),
    ]);

    const agentRows: ReportAgentRow[] = agents.map((a) => {
      const av = avail.get(a.id) ?? { online: 0, observed: 0 };
      const act = activity.get(a.id) ?? { tasks: 0, commits: 0 };
      return {
        agentId: a.id,
        name: a.name,
        type: a.type,
        environment: a.environment,
        ...availability(av.online, av.observed),
        alerts: toSummary(alerts.get(a.id) ?? newAcc()),
        tasksCompleted: act.tasks,
        commits: act.commits,
      };
    });

    const groupRows: ReportGroupRow[] = [];
    if (q.scope.kind !== 'agents') {
      const inScope = new Set(ids);
      const groups =
        q.scope.kind === 'group'
          ? [await this.groups.get(q.scope.groupId)]
          : (await this.groups.list({ page: 1, limit: 500 })).items;
      for (const g of groups) {
        const members = (await this.groups.memberIds(g.id)).filter((id) => inScope.has(id));
        let online = 0;
        let observed = 0;
        const acc = newAcc();
        for (const id of members) {
          online += avail.get(id)?.online ?? 0;
          observed += avail.get(id)?.observed ?? 0;
          addAcc(acc, alerts.get(id) ?? newAcc());
        }
        groupRows.push({
          groupId: g.id,
          name: g.name,
          agentCount: members.length,
          ...availability(online, observed),
          alerts: toSummary(acc),
        });
      }
    }

    let online = 0;
    let observed = 0;
    const fleetAcc = newAcc();
    for (const id of ids) {
      online += avail.get(id)?.online ?? 0;
      observed += avail.get(id)?.observed ?? 0;
      addAcc(fleetAcc, alerts.get(id) ?? newAcc());
    }

    let metricRows: Report['metrics'] = [];
    let llmRows: Report['llm'] = [];
    if (this.metrics) {
      [metricRows, llmRows] = await Promise.all([
        this.metrics.summaries(ids, q.from, q.to),
        this.metrics.llmUsage(ids, q.from, q.to),
      ]);
    } else {
      notes.push('Metric summaries and LLM usage are not part of reports on this server yet.');
    }

    return {
      generatedAt: now.toISOString(),
      from: q.from,
      to: q.to,
      scope: {
        ...q.scope,
        label,
        ...(q.environment ? { environment: q.environment } : {}),
        ...(q.region ? { region: q.region } : {}),
      },
      fleet: {
        agentCount: ids.length,
        ...availability(online, observed),
        alerts: toSummary(fleetAcc),
      },
      agents: agentRows,
      groups: groupRows,
      metrics: metricRows,
      llm: llmRows,
      notes,
    };
  }

  private async scopeAgents(
    scope: ReportScope,
    environment?: string,
    region?: string,
  ): Promise<{ agents: AgentRow[]; label: string }> {
    // Regions and environments narrow any scope (metadata.region, the environment column).
    const params: unknown[] = [];
    const where = ['deleted_at IS NULL'];
    if (environment) where.push(`environment = $${params.push(environment)}`);
    if (region) where.push(`metadata->>'region' = $${params.push(region)}`);
    const suffix = [environment && `environment ${environment}`, region && `region ${region}`]
      .filter(Boolean)
      .join(', ');
    const withSuffix = (label: string) => (suffix ? `${label} (${suffix})` : label);
    const select = async (extra?: string, ids?: string[]): Promise<AgentRow[]> => {
      const p = [...params];
      const w = [...where];
      if (ids) w.push(`id = ANY($${p.push(ids)}::uuid[])`);
      if (extra) w.push(extra);
      return this.db.query(
        `SELECT id, name, type, environment FROM agents WHERE ${w.join(' AND ')} ORDER BY name, id`,
        p,
      );
    };
    if (scope.kind === 'all') return { agents: await select(), label: withSuffix('All agents') };
    if (scope.kind === 'group') {
      const g = await this.groups.get(scope.groupId);
      const agents = await select(undefined, await this.groups.memberIds(g.id));
      return { agents, label: withSuffix(`Group ${g.name}`) };
    }
    const known: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
      [scope.agentIds],
    );
    const found = new Set(known.map((a) => a.id));
    const missing = scope.agentIds.filter((id) => !found.has(id));
    if (missing.length) throw notFound('Agent', missing[0]);
    const agents = await select(undefined, scope.agentIds);
    return {
      agents,
      label: withSuffix(`${agents.length} agent${agents.length === 1 ? '' : 's'}`),
    };
  }

  /**
   * Seconds online and seconds observed per agent, from status-history intervals: the status
   * in force at `from` (the last change before it) and every change inside the period; the
   * last interval runs to `until`. Time before an agent's first known status is not observed.
   */
  private async availability(
    ids: string[],
    from: string,
    until: string,
  ): Promise<Map<string, { online: number; observed: number }>> {
    const out = new Map<string, { online: number; observed: number }>();
    if (!ids.length || from >= until) return out;
    const rows: Array<{ agent_id: string; online: number; observed: number }> = await this.db.query(
      `WITH h AS (
           SELECT agent_id, status, at FROM agent_status_history
            WHERE agent_id = ANY($1::uuid[]) AND at >= $2 AND at < $3
           UNION ALL
           SELECT DISTINCT ON (agent_id) agent_id, status, $2::timestamptz AS at
             FROM agent_status_history
            WHERE agent_id = ANY($1::uuid[]) AND at < $2
            ORDER BY agent_id, at DESC),
         seg AS (
           SELECT agent_id, status, at,
                  lead(at, 1, $3::timestamptz) OVER (PARTITION BY agent_id ORDER BY at) AS until
             FROM h)
         SELECT agent_id,
                coalesce(sum(extract(epoch FROM until - at)) FILTER (WHERE status = 'online'), 0)::float8 AS online,
                coalesce(sum(extract(epoch FROM until - at)), 0)::float8 AS observed
           FROM seg GROUP BY agent_id`,
      [ids, from, until],
    );
    for (const r of rows) out.set(r.agent_id, { online: r.online, observed: r.observed });
    return out;
  }

  /** Alerts that fired in the period, per agent (the alerting domain's instances). */
  private async alerts(
    ids: string[],
    from: string,
    to: string,
    notes: string[],
  ): Promise<Map<string, AlertAcc>> {
    const out = new Map<string, AlertAcc>();
    const [{ present }] = await this.db.query(
      `SELECT to_regclass('alert_instances') IS NOT NULL AS present`,
    );
    if (!present) {
      notes.push('Alerts: the alerting module is not installed.');
      return out;
    }
    if (!ids.length) return out;
    const rows: Array<{
      agent_id: string;
      severity: AlertSeverity;
      n: number;
      ack_sum: number | null;
      ack_n: number;
      res_sum: number | null;
      res_n: number;
    }> = await this.db.query(
      `SELECT agent_id, severity, count(*)::int AS n,
              sum(extract(epoch FROM acked_at - fired_at)) FILTER (WHERE acked_at IS NOT NULL)::float8 AS ack_sum,
              count(*) FILTER (WHERE acked_at IS NOT NULL)::int AS ack_n,
              sum(extract(epoch FROM resolved_at - fired_at)) FILTER (WHERE resolved_at IS NOT NULL)::float8 AS res_sum,
              count(*) FILTER (WHERE resolved_at IS NOT NULL)::int AS res_n
         FROM alert_instances
        WHERE fired_at >= $2 AND fired_at < $3 AND agent_id = ANY($1::uuid[])
        GROUP BY agent_id, severity`,
      [ids, from, to],
    );
    for (const r of rows) {
      const acc = out.get(r.agent_id) ?? newAcc();
      acc.total += r.n;
      if (r.severity in acc.bySeverity) acc.bySeverity[r.severity] += r.n;
      acc.ackSum += r.ack_sum ?? 0;
      acc.ackN += r.ack_n;
      acc.resSum += r.res_sum ?? 0;
      acc.resN += r.res_n;
      out.set(r.agent_id, acc);
    }
    return out;
  }

  private async activity(
    ids: string[],
    from: string,
    to: string,
  ): Promise<Map<string, { tasks: number; commits: number }>> {
    const out = new Map<string, { tasks: number; commits: number }>();
    if (!ids.length) return out;
    const rows: Array<{ agent_id: string; tasks: number; commits: number }> = await this.db.query(
      `SELECT agent_id, sum(tasks)::int AS tasks, sum(commits)::int AS commits FROM (
         SELECT agent_id, count(DISTINCT task_id) AS tasks, 0 AS commits FROM activity_task_events
          WHERE agent_id = ANY($1::uuid[]) AND at >= $2 AND at < $3
            AND (type = 'completed' OR status_after = 'done')
          GROUP BY agent_id
         UNION ALL
         SELECT agent_id, 0, count(*) FROM activity_commits
          WHERE agent_id = ANY($1::uuid[]) AND committed_at >= $2 AND committed_at < $3
          GROUP BY agent_id) x
       GROUP BY agent_id`,
      [ids, from, to],
    );
    for (const r of rows) out.set(r.agent_id, { tasks: r.tasks, commits: r.commits });
    return out;
  }
}
