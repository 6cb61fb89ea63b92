import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  HistoricalQuerySchema,
  type AlertTest,
  type BacktestEvent,
} from '@agent-monitor/contracts';
import { AgentsService } from '../agents/agents.service.js';
import { groupMemberSql } from '../groups/group-membership.js';
import { MetricsQueryService } from '../metrics/metrics-query.service.js';
import { sqlRows } from '../notifications/sql.js';
import { inScope, splitQueryName, subjectLabelKeys, type ScopeSubject } from './alert-subjects.js';
import {
  conditionMetrics,
  evaluateCondition,
  metricSelector,
  parseLabelKey,
  resolveSeries,
  type AgentSignals,
  type SeriesWindow,
} from './condition-eval.js';

const MAX_AGENTS = 50;
/** Agents read before the scope's exact match (tags are also pre-filtered in SQL). */
const MAX_CANDIDATES = 1000;

/**
 * Replays a rule draft over stored history: each agent's series come from the metrics query
 * service (raw samples, or rollups where raw data is gone), the condition is evaluated at every
 * point with the same evaluator the live engine uses, and `for`/keepFiringFor are applied.
 * Agents are scoped, and series label sets enumerated and filtered, by the live engine's own
 * functions (alert-subjects.ts): one simulated alert per agent and label set, as live.
 * Agent status history is not replayed (status conditions never hold in a backtest).
 */
@Injectable()
export class BacktestService {
  constructor(
    private readonly db: DataSource,
    private readonly agents: AgentsService,
    private readonly metrics: MetricsQueryService,
  ) {}

  /** Agents the scope selects (as the live engine's `inScope` decides), by name, at most 50. */
  private async scoped(
    scope: NonNullable<AlertTest['rule']>['scope'],
  ): Promise<Array<{ id: string; name: string }>> {
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    const where = ['a.deleted_at IS NULL'];
    if (scope.agentIds?.length) where.push(`a.id = ANY(${p(scope.agentIds)}::uuid[])`);
    if (scope.type) where.push(`a.type = ${p(scope.type)}`);
    if (scope.environment) where.push(`a.environment = ${p(scope.environment)}`);
    for (const [k, v] of Object.entries(scope.tags ?? {}))
      where.push(
        `EXISTS (SELECT 1 FROM agent_tags t WHERE t.agent_id = a.id AND t.key = ${p(k)} AND t.value = ${p(v)})`,
      );
    const groups = scope.groupIds?.length ? p(scope.groupIds) : null;
    const groupsOf = groups
      ? `ARRAY(SELECT g.id FROM agent_groups g WHERE g.id = ANY(${groups}::uuid[]) AND ${groupMemberSql('a', 'g.id')})`
      : `'{}'::uuid[]`;
    const rows = await sqlRows<{ id: string; groups: string[] }>(
      this.db,
      `SELECT id, groups FROM (SELECT a.id, a.name, ${groupsOf} AS groups FROM agents a WHERE ${where.join(' AND ')}) x
        ${groups ? 'WHERE cardinality(groups) > 0' : ''}
        ORDER BY name, id LIMIT ${MAX_CANDIDATES}`,
      params,
    );
    const groupsById = new Map(rows.map((r) => [r.id, r.groups]));
    const found = await this.agents.findByIds(rows.map((r) => r.id));
    return found
      .filter((a) => {
        const subject: ScopeSubject = {
          id: a.id,
          type: a.type,
          environment: a.environment,
          tags: a.tags ?? {},
          groups: groupsById.get(a.id) ?? [],
        };
        return inScope(scope, subject);
      })
      .sort((x, y) => x.name.localeCompare(y.name) || x.id.localeCompare(y.id))
      .slice(0, MAX_AGENTS)
      .map((a) => ({ id: a.id, name: a.name }));
  }

  async run(rule: NonNullable<AlertTest['rule']>, fromIso?: string, toIso?: string) {
    const to = toIso ? Date.parse(toIso) : Date.now();
    const from = fromIso ? Date.parse(fromIso) : to - 86_400_000;
    const agents = await this.scoped(rule.scope);
    const metrics = [...conditionMetrics(rule.condition).keys()];
    const selectors = metrics.map(metricSelector);
    const events: BacktestEvent[] = [];
    let points = 0;
    for (const agent of agents) {
      // The agent's stored series, as the engine learns them from samples: label sets per base.
      const catalog = new Set((await this.metrics.seriesOf(agent.id)).items.map((i) => i.name));
      const labelSets = new Map<string, Set<string>>();
      for (const name of catalog) {
        const { base, labelKey } = splitQueryName(name);
        if (!labelKey) continue;
        let sets = labelSets.get(base);
        if (!sets) labelSets.set(base, (sets = new Set()));
        sets.add(labelKey);
      }
      const labelKeys = subjectLabelKeys(
        selectors,
        (base) => labelSets.get(base),
        (base) => catalog.has(base),
      );
      const series = new Map<string, SeriesWindow>();
      const load = async (name: string) => {
        if (series.has(name) || !catalog.has(name)) return;
        const h = await this.metrics.historical(
          agent.id,
          HistoricalQuerySchema.parse({
            metric: name,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
          }),
        );
        series.set(name, { ts: h.points.map((p) => p.t), v: h.points.map((p) => p.v) });
        points += h.points.length;
      };
      for (const labelKey of labelKeys) {
        // The series each leaf reads for this label set, resolved as the engine resolves them.
        const names = new Set<string>();
        for (const m of metrics) {
          const name = resolveSeries(m, labelKey, (n) => catalog.has(n));
          if (name !== null) names.add(name);
        }
        for (const name of names) await load(name);
        events.push(
          ...replay(
            rule,
            { id: agent.id, name: agent.name, labelKey },
            new Map([...names].filter((n) => series.has(n)).map((n) => [n, series.get(n)!])),
            from,
          ),
        );
      }
    }
    events.sort((a, b) => a.firedAt.localeCompare(b.firedAt));
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      agents: agents.length,
      points,
      events,
    };
  }
}

/** The pending → firing → resolved walk of one simulated alert (agent, label set). */
function replay(
  rule: NonNullable<AlertTest['rule']>,
  subject: { id: string; name: string; labelKey: string },
  series: Map<string, SeriesWindow>,
  from: number,
): BacktestEvent[] {
  const events: BacktestEvent[] = [];
  const labels = Object.fromEntries(parseLabelKey(subject.labelKey));
  const times = [...new Set([...series.values()].flatMap((w) => w.ts))].sort((a, b) => a - b);
  let pendingSince: number | null = null;
  let open: BacktestEvent | null = null;
  let lastTrue = 0;
  for (const t of times) {
    const visible = new Map<string, SeriesWindow>();
    const lastSeen = new Map<string, number>();
    for (const [m, w] of series) {
      let n = 0;
      while (n < w.ts.length && w.ts[n] <= t) n++;
      visible.set(m, { ts: w.ts.slice(0, n), v: w.v.slice(0, n) });
      if (n) lastSeen.set(m, w.ts[n - 1]);
    }
    const signals: AgentSignals = {
      series: visible,
      lastSeen,
      lastSeenAny: t,
      status: null,
      watchingSince: from,
    };
    const r = evaluateCondition(rule.condition, signals, t, subject.labelKey);
    if (r.active) {
      lastTrue = t;
      pendingSince ??= t;
      if (!open && t - pendingSince >= rule.forSec * 1000) {
        open = {
          agentId: subject.id,
          agentName: subject.name,
          labelKey: subject.labelKey,
          labels,
          firedAt: new Date(t).toISOString(),
          resolvedAt: null,
          value: r.value,
        };
        events.push(open);
      }
    } else {
      pendingSince = null;
      if (open && t - lastTrue >= rule.keepFiringForSec * 1000) {
        open.resolvedAt = new Date(t).toISOString();
        open = null;
      }
    }
  }
  return events;
}
