import { Injectable } from '@nestjs/common';
import {
  HistoricalQuerySchema,
  ListAgentsQuerySchema,
  type AlertTest,
  type BacktestEvent,
} from '@agent-monitor/contracts';
import { AgentsService } from '../agents/agents.service.js';
import { MetricsQueryService } from '../metrics/metrics-query.service.js';
import {
  conditionMetrics,
  evaluateCondition,
  type AgentSignals,
  type SeriesWindow,
} from './condition-eval.js';

const MAX_AGENTS = 50;

/**
 * Replays a rule draft over stored history: each agent's series come from the metrics query
 * service (raw samples, or rollups where raw data is gone), the condition is evaluated at every
 * point with the same evaluator the live engine uses, and `for`/keepFiringFor are applied.
 * Agent status history is not replayed (status conditions never hold in a backtest).
 */
@Injectable()
export class BacktestService {
  constructor(
    private readonly agents: AgentsService,
    private readonly metrics: MetricsQueryService,
  ) {}

  async run(rule: NonNullable<AlertTest['rule']>, fromIso?: string, toIso?: string) {
    const to = toIso ? Date.parse(toIso) : Date.now();
    const from = fromIso ? Date.parse(fromIso) : to - 86_400_000;
    const scope = rule.scope;
    let agents: Array<{ id: string; name: string }>;
    if (scope.agentIds?.length) {
      agents = (await this.agents.findByIds(scope.agentIds.slice(0, MAX_AGENTS))).map((a) => ({
        id: a.id,
        name: a.name,
      }));
    } else {
      const list = await this.agents.list(
        ListAgentsQuerySchema.parse({
          limit: MAX_AGENTS,
          ...(scope.type ? { type: scope.type } : {}),
          ...(scope.environment ? { environment: scope.environment } : {}),
          ...(scope.tags
            ? {
                tag: Object.entries(scope.tags)
                  .map(([k, v]) => `${k}:${v}`)
                  .join(','),
              }
            : {}),
        }),
      );
      agents = list.items.map((a) => ({ id: a.id, name: a.name }));
    }
    const metrics = [...conditionMetrics(rule.condition).keys()];
    const events: BacktestEvent[] = [];
    let points = 0;
    for (const agent of agents) {
      const series = new Map<string, SeriesWindow>();
      for (const metric of metrics) {
        const h = await this.metrics.historical(
          agent.id,
          HistoricalQuerySchema.parse({
            metric,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
          }),
        );
        series.set(metric, { ts: h.points.map((p) => p.t), v: h.points.map((p) => p.v) });
        points += h.points.length;
      }
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
        const r = evaluateCondition(rule.condition, signals, t);
        if (r.active) {
          lastTrue = t;
          pendingSince ??= t;
          if (!open && t - pendingSince >= rule.forSec * 1000) {
            open = {
              agentId: agent.id,
              agentName: agent.name,
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
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      agents: agents.length,
      points,
      events,
    };
  }
}
