import { Injectable } from '@nestjs/common';
import {
  AGENT_STATUSES,
  ListAgentsQuerySchema,
  type Agent,
  type AgentsSummary,
  type DashboardMetrics,
  type DashboardOverview,
  type Timerange,
} from '@agent-monitor/contracts';
import { AgentsService } from '../agents/agents.service.js';
import { LatestMetricsCache } from '../metrics/latest-metrics.cache.js';
import { MetricStore } from '../metrics/metric-store.service.js';
import { MetricsLiveService } from '../metrics/metrics-live.service.js';
import { MetricsQueryService, unitOf } from '../metrics/metrics-query.service.js';

const PAGE = 500;
/** Safety bound for page data: fleets larger than this are summarised from the first ones. */
const MAX_AGENTS = 20_000;
const FLEET_CHARTS = ['cpu_usage', 'memory_usage', 'disk_usage'];

function avg(xs: number[]): number | null {
  return xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100 : null;
}

/** Page data for the dashboard's overview and fleet pages (one request per page). */
@Injectable()
export class DashboardService {
  constructor(
    private readonly agents: AgentsService,
    private readonly latest: LatestMetricsCache,
    private readonly live: MetricsLiveService,
    private readonly store: MetricStore,
    private readonly query: MetricsQueryService,
  ) {}

  /** Every agent (paged through AgentsService) with status counts. */
  private async allAgents(): Promise<{ items: Agent[]; statusCounts: Record<string, number> }> {
    const items: Agent[] = [];
    let statusCounts: Record<string, number> = Object.fromEntries(
      AGENT_STATUSES.map((s) => [s, 0]),
    );
    for (let page = 1; items.length < MAX_AGENTS; page++) {
      const r = await this.agents.list(ListAgentsQuerySchema.parse({ page, limit: PAGE }));
      items.push(...r.items);
      statusCounts = r.statusCounts;
      if (r.items.length < PAGE || items.length >= r.total) break;
    }
    return { items, statusCounts };
  }

  async overview(): Promise<DashboardOverview> {
    const [{ items, statusCounts }, series, ingestRate] = await Promise.all([
      this.allAgents(),
      this.store.seriesCount(),
      this.query.ingestRate(),
    ]);
    const latest = await this.latest.latestWithTime(items.map((a) => a.id));
    const since = Date.now() - 5 * 60_000;
    const values = (name: string, list: Agent[]) =>
      list
        .map((a) => latest.get(a.id)?.values[name])
        .filter((v): v is number => typeof v === 'number');
    const groups = (key: (a: Agent) => string) => {
      const m = new Map<string, Agent[]>();
      for (const a of items) {
        const k = key(a);
        m.set(k, [...(m.get(k) ?? []), a]);
      }
      return [...m]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([k, list]) => ({
          key: k,
          agents: list.length,
          cpuAvg: avg(values('cpu_usage', list)),
        }));
    };
    const rate = this.live.ratePerSec();
    return {
      agents: { total: items.length, byStatus: statusCounts },
      ingest: {
        valuesPerSec: Math.round(rate.values * 10) / 10,
        samplesPerSec: Math.round(rate.samples * 10) / 10,
        series,
        reportingAgents5m: items.filter((a) => (latest.get(a.id)?.atMs ?? 0) >= since).length,
      },
      fleet: {
        cpuAvg: avg(values('cpu_usage', items)),
        memoryAvg: avg(values('memory_usage', items)),
        diskAvg: avg(values('disk_usage', items)),
      },
      byType: groups((a) => a.type),
      byEnvironment: groups((a) => a.environment ?? '(none)'),
      ingestRate,
    };
  }

  async metrics(timerange: Timerange): Promise<DashboardMetrics> {
    const charts = [];
    for (const metric of FLEET_CHARTS) {
      const [byType, byEnvironment] = await Promise.all([
        this.query.aggregate(timerange, { metric, groupBy: 'type', agg: 'avg' }),
        this.query.aggregate(timerange, { metric, groupBy: 'environment', agg: 'avg' }),
      ]);
      charts.push({ metric, unit: unitOf(metric), byType, byEnvironment });
    }
    return { timerange, charts };
  }

  async agentsSummary(): Promise<AgentsSummary> {
    const { items } = await this.allAgents();
    const latest = await this.latest.latestWithTime(items.map((a) => a.id));
    return {
      total: items.length,
      items: items.map((a) => {
        const l = latest.get(a.id);
        return {
          agentId: a.id,
          name: a.name,
          type: a.type,
          environment: a.environment,
          status: a.status,
          latest: l
            ? { at: new Date(l.atMs).toISOString(), values: l.values }
            : { at: null, values: {} },
        };
      }),
    };
  }
}
