import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  METRIC_UNITS,
  TIMERANGE_MS,
  formatLabels,
  formatMetricName,
  parseMetricName,
  type AgentSeriesList,
  type AggregateGroup,
  type AggregateQuery,
  type AggregateResult,
  type HistoricalQuery,
  type HistoricalSeries,
  type MetricAgg,
  type MetricPoint,
  type ParsedMetricName,
  type Resolution,
  type Timerange,
  type Agent,
} from '@agent-monitor/contracts';
import { badRequest, notFound } from '../../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { groupMemberSql } from '../groups/group-membership.js';
import { Histogram } from './histogram.js';
import { LatestMetricsCache, parseCanonicalLabels } from './latest-metrics.cache.js';
import { MetricStore } from './metric-store.service.js';
import { RAW_CHUNK_MS } from './partitions.js';
import { chooseResolution, parseStep, type Retention } from './resolution.js';

const ROLLUP_TABLE = {
  '1m': 'metric_rollup_1m',
  '1h': 'metric_rollup_1h',
  '1d': 'metric_rollup_1d',
};

const RAW_AGG: Record<Exclude<MetricAgg, 'p95'>, string> = {
  avg: 'avg(v)',
  min: 'min(v)',
  max: 'max(v)',
  sum: 'sum(v)',
  count: 'count(v)',
  last: '(array_agg(v ORDER BY ts DESC))[1]',
};

const ROLLUP_AGG: Record<Exclude<MetricAgg, 'p95'>, string> = {
  avg: 'sum(r.sum) / nullif(sum(r.cnt), 0)',
  min: 'min(r.min)',
  max: 'max(r.max)',
  sum: 'sum(r.sum)',
  count: 'sum(r.cnt)',
  last: '(array_agg(r.last ORDER BY r.last_ts DESC))[1]',
};

/** How long a looked-up agent is trusted to exist (a deleted one 404s within this). */
const AGENT_CACHE_MS = 10_000;

function toMs(v: number | string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  return typeof v === 'number' ? v : Date.parse(v);
}

export function unitOf(field: string): string | null {
  return METRIC_UNITS[field] ?? null;
}

/** History and fleet aggregates, answered from raw rows or the rollups (never more than needed). */
@Injectable()
export class MetricsQueryService {
  constructor(
    private readonly db: DataSource,
    private readonly store: MetricStore,
    private readonly agents: AgentsService,
    private readonly latest: LatestMetricsCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get retention(): Retention {
    return {
      raw: this.config.RETENTION_RAW,
      '1m': this.config.RETENTION_1M,
      '1h': this.config.RETENTION_1H,
      '1d': this.config.RETENTION_1D,
    };
  }

  private parseName(metric: string): ParsedMetricName {
    const p = parseMetricName(metric);
    if (typeof p === 'string') throw badRequest(p);
    return p;
  }

  /** Agents seen to exist recently: a chart refresh costs one query, not two. */
  private readonly knownAgents = new Map<string, number>();

  private async requireAgent(agentId: string): Promise<void> {
    const now = Date.now();
    if ((this.knownAgents.get(agentId) ?? 0) > now) return;
    if (!(await this.agents.findByIds([agentId])).length) throw notFound('Agent', agentId);
    if (this.knownAgents.size > 50_000) this.knownAgents.clear();
    this.knownAgents.set(agentId, now + AGENT_CACHE_MS);
  }

  async historical(agentId: string, q: HistoricalQuery): Promise<HistoricalSeries> {
    await this.requireAgent(agentId);
    const name = this.parseName(q.metric);
    const now = Date.now();
    const toMsV = toMs(q.to, now);
    const fromMsV = toMs(q.from, toMsV - 3_600_000);
    if (!Number.isFinite(fromMsV) || !Number.isFinite(toMsV))
      throw badRequest('from/to: not a date');
    if (fromMsV >= toMsV) throw badRequest('from must be before to');
    if (toMsV - fromMsV > 3660 * 86_400_000) throw badRequest('range longer than 10 years');
    const stepIn = parseStep(q.step);
    if (q.step !== 'auto' && !stepIn)
      throw badRequest('step: use auto or a duration like 30s, 5m, 1h');
    const { stepMs, resolution } = chooseResolution(fromMsV, toMsV, stepIn, now, this.retention);
    const metric = formatMetricName(name);
    const base: HistoricalSeries = {
      agentId,
      metric,
      unit: unitOf(name.field),
      agg: q.agg,
      from: new Date(fromMsV).toISOString(),
      to: new Date(toMsV).toISOString(),
      stepSec: stepMs / 1000,
      resolution,
      points: [],
    };
    const set = await this.store.findSet(agentId, name.measurement, formatLabels(name.labels));
    const field = set?.index.get(name.field);
    if (!set || field === undefined) return base;
    const start = Math.floor(fromMsV / stepMs) * stepMs;
    base.points = await this.points([set.id], [field], resolution, stepMs, start, toMsV, q.agg);
    return base;
  }

  /** Points of one or more (set, field) series merged, bucketed by `stepMs` from `start`. */
  private async points(
    ids: number[],
    fields: number[],
    resolution: Resolution,
    stepMs: number,
    start: number,
    end: number,
    agg: MetricAgg,
  ): Promise<MetricPoint[]> {
    const range = [new Date(start), new Date(end)];
    const tExpr = (col: string) =>
      `(floor((extract(epoch FROM ${col}) * 1000 - $3) / $4) * $4 + $3)::float8`;
    if (resolution === 'raw') {
      const a = agg === 'p95' ? 'percentile_cont(0.95) WITHIN GROUP (ORDER BY v)' : RAW_AGG[agg];
      const rows = await this.db.query<Array<{ t: number; v: number | null }>>(
        // One value per (series, field, ts): of duplicates, the newest transaction's.
        `SELECT ${tExpr('ts')} AS t, ${a}::float8 AS v FROM (
           SELECT DISTINCT ON (x.sid, x.f, u.ts) u.ts, c.vals[(u.i - 1) * k.w + x.f + 1] AS v
             FROM unnest($5::int[], $6::int[]) AS x(sid, f)
             JOIN metric_raw c ON c.series_id = x.sid
            CROSS JOIN LATERAL (SELECT cardinality(c.vals) / cardinality(c.ts) AS w) k
            CROSS JOIN LATERAL unnest(c.ts) WITH ORDINALITY AS u(ts, i)
            WHERE c.t0 > $1::timestamptz - make_interval(secs => ${RAW_CHUNK_MS / 1000})
              AND c.t0 < $2 AND u.ts >= $1 AND u.ts < $2
              AND x.f < k.w AND c.vals[(u.i - 1) * k.w + x.f + 1] IS NOT NULL
            ORDER BY x.sid, x.f, u.ts, c.xid DESC) s
          GROUP BY 1 ORDER BY 1`,
        [...range, start, stepMs, ids, fields],
      );
      return rows.filter((r) => r.v !== null).map((r) => ({ t: Number(r.t), v: Number(r.v) }));
    }
    const table = ROLLUP_TABLE[resolution];
    if (agg !== 'p95') {
      const rows = await this.db.query<Array<{ t: number; v: number | null }>>(
        `SELECT ${tExpr('r.bucket')} AS t, (${ROLLUP_AGG[agg]})::float8 AS v
           FROM ${table} r JOIN unnest($5::int[], $6::int[]) AS x(sid, f)
             ON r.series_id = x.sid AND r.field = x.f
          WHERE r.bucket >= $1 AND r.bucket < $2 GROUP BY 1 ORDER BY 1`,
        [...range, start, stepMs, ids, fields],
      );
      return rows.filter((r) => r.v !== null).map((r) => ({ t: Number(r.t), v: Number(r.v) }));
    }
    const rows = await this.db.query<
      Array<{ t: number; hk: number[]; hc: number[]; min: number; max: number }>
    >(
      `SELECT ${tExpr('r.bucket')} AS t, r.hk, r.hc, r.min, r.max
         FROM ${table} r JOIN unnest($5::int[], $6::int[]) AS x(sid, f)
           ON r.series_id = x.sid AND r.field = x.f
        WHERE r.bucket >= $1 AND r.bucket < $2 ORDER BY 1`,
      [...range, start, stepMs, ids, fields],
    );
    const out: MetricPoint[] = [];
    let cur: { t: number; h: Histogram; min: number; max: number } | null = null;
    const flush = () => {
      if (!cur) return;
      const v = cur.h.quantile(0.95, cur.min, cur.max);
      if (v !== null) out.push({ t: cur.t, v });
    };
    for (const r of rows) {
      const t = Number(r.t);
      if (!cur || cur.t !== t) {
        flush();
        cur = { t, h: new Histogram(), min: Infinity, max: -Infinity };
      }
      cur.h.add(r.hk, r.hc);
      cur.min = Math.min(cur.min, Number(r.min));
      cur.max = Math.max(cur.max, Number(r.max));
    }
    flush();
    return out;
  }

  async aggregate(timerange: Timerange, q: AggregateQuery): Promise<AggregateResult> {
    const name = this.parseName(q.metric);
    const now = Date.now();
    const span = TIMERANGE_MS[timerange];
    // Fleet charts: at most ~120 points, from the rollups (1m at the finest).
    let { stepMs, resolution } = chooseResolution(now - span, now, null, now, this.retention, 120);
    if (resolution === 'raw') {
      resolution = '1m';
      stepMs = Math.max(60_000, Math.ceil(stepMs / 60_000) * 60_000);
    }
    const result: AggregateResult = {
      metric: formatMetricName(name),
      timerange,
      groupBy: q.groupBy,
      agg: q.agg,
      stepSec: stepMs / 1000,
      resolution,
      groups: [],
    };
    const sets = (await this.store.setsByName(name.measurement, formatLabels(name.labels))).filter(
      (s) => s.index.has(name.field),
    );
    if (!sets.length) return result;
    const agents = new Map(
      (await this.agents.findByIds(sets.map((s) => s.agentId))).map((a) => [a.id, a]),
    );
    // groupBy=group: an agent counts in every group it belongs to (explicit, by tag selector
    // or through a child group), "(none)" when in none.
    const groupsOf = q.groupBy === 'group' ? await this.groupNames([...agents.keys()]) : null;
    const members = new Map<string, Array<{ id: number; field: number }>>();
    const agentsIn = new Map<string, Set<string>>();
    for (const s of sets) {
      const a = agents.get(s.agentId);
      if (!a) continue;
      const keys = groupsOf ? (groupsOf.get(a.id) ?? ['(none)']) : [groupKey(a, q.groupBy)];
      for (const key of keys) {
        let list = members.get(key);
        if (!list) members.set(key, (list = []));
        list.push({ id: s.id, field: s.index.get(name.field)! });
        let seen = agentsIn.get(key);
        if (!seen) agentsIn.set(key, (seen = new Set()));
        seen.add(a.id);
      }
    }
    const start = Math.floor((now - span) / stepMs) * stepMs;
    for (const [key, list] of [...members].sort((a, b) => a[0].localeCompare(b[0]))) {
      const ids = list.map((m) => m.id);
      const fields = list.map((m) => m.field);
      const points = await this.points(ids, fields, resolution, stepMs, start, now, q.agg);
      const [overall] = await this.points(
        ids,
        fields,
        resolution,
        now - start + stepMs,
        start,
        now,
        q.agg,
      );
      const values = points.map((p) => p.v);
      const group: AggregateGroup = {
        key,
        agentCount: agentsIn.get(key)?.size ?? list.length,
        value: overall ? overall.v : null,
        min: values.length ? Math.min(...values) : null,
        max: values.length ? Math.max(...values) : null,
        points,
      };
      result.groups.push(group);
    }
    return result;
  }

  /** Names of the groups each agent belongs to now (the fleet domain's membership rule). */
  private async groupNames(agentIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!agentIds.length) return out;
    const rows: Array<{ agent_id: string; name: string }> = await this.db.query(
      `SELECT a.id AS agent_id, g.name FROM agent_groups g
         JOIN agents a ON a.id = ANY($1::uuid[]) AND ${groupMemberSql('a', 'g.id')}
        ORDER BY g.name`,
      [agentIds],
    );
    for (const r of rows) out.set(r.agent_id, [...(out.get(r.agent_id) ?? []), r.name]);
    return out;
  }

  async seriesOf(agentId: string): Promise<AgentSeriesList> {
    await this.requireAgent(agentId);
    const [sets, latest] = await Promise.all([
      this.store.setsOfAgent(agentId),
      this.latest.latestWithTime([agentId]),
    ]);
    const l = latest.get(agentId);
    const items = sets.flatMap((s) => {
      const labels = s.labels ? parseCanonicalLabels(s.labels) : [];
      return s.fields.map((f) => {
        const name = formatMetricName({ measurement: s.measurement, field: f, labels });
        const v = l?.values[name];
        return {
          name,
          measurement: s.measurement,
          field: f,
          labels: Object.fromEntries(labels),
          unit: unitOf(f),
          lastValue: v ?? null,
          lastAt: v !== undefined && l ? new Date(l.stamps[name] ?? l.atMs).toISOString() : null,
        };
      });
    });
    items.sort((a, b) => a.name.localeCompare(b.name));
    return { agentId, items };
  }

  /** Values stored per minute over the last hour (all instances), for the ingest-rate chart. */
  async ingestRate(): Promise<MetricPoint[]> {
    const rows = await this.db.query<Array<{ t: number; n: string }>>(
      `SELECT (extract(epoch FROM bucket) * 1000)::float8 AS t, sum(cnt) AS n
         FROM metric_rollup_1m WHERE bucket >= now() - interval '1 hour'
        GROUP BY 1 ORDER BY 1`,
    );
    return rows.map((r) => ({ t: Number(r.t), v: Number(r.n) / 60 }));
  }
}

export function groupKey(a: Agent, groupBy: string): string {
  if (groupBy === 'none') return 'all';
  if (groupBy === 'agent') return a.name;
  if (groupBy === 'type') return a.type;
  if (groupBy === 'environment') return a.environment ?? '(none)';
  if (groupBy === 'region') return a.region ?? '(none)';
  if (groupBy.startsWith('tag:')) return a.tags[groupBy.slice(4)] ?? '(none)';
  return 'all';
}
