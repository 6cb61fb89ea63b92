import { z } from 'zod';

/**
 * Metrics domain contract.
 *
 * A series is (agent, measurement, field, labels). Its *query name* is what clients send and
 * ask for:
 * - measurement `agent_metrics` (the JSON default): just the field, e.g. `cpu_usage`;
 * - any other measurement: `measurement.field`, e.g. `ai_metrics.inference_time`;
 * - labels, when present, follow in braces sorted by key: `ai_metrics.tokens{model=gpt4,region=eu}`.
 *   Inside a label value `\`, `,`, `}` and `=` are escaped with a backslash.
 * The agent tag used to resolve the agent (`agent_id`, `agent` or `host`) is not a label.
 * The syntax is stable: alert rules and the live socket event use the same names.
 */
export const DEFAULT_MEASUREMENT = 'agent_metrics';

/** Units shown by the dashboard for well-known fields (by field name). */
export const METRIC_UNITS: Record<string, string> = {
  cpu_usage: '%',
  memory_usage: '%',
  disk_usage: '%',
  network_in: 'B/s',
  network_out: 'B/s',
  network_io: 'B/s',
  error_rate: '%',
  response_time: 'ms',
  tasks_completed: 'tasks',
  inference_time: 'ms',
  tokens: 'tokens',
  tokens_used: 'tokens',
  cost: 'USD',
  accuracy: '%',
};

export interface ParsedMetricName {
  measurement: string;
  field: string;
  /** Sorted by key. */
  labels: Array<[string, string]>;
}

const NAME_PART = /^[A-Za-z_][\w:-]{0,127}$/;

function escLabel(v: string): string {
  return v.replace(/[\\,}=]/g, (c) => '\\' + c);
}

/** Canonical label text without braces: `k=v,k2=v2` (keys sorted). */
export function formatLabels(labels: Array<[string, string]>): string {
  return [...labels]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${escLabel(v)}`)
    .join(',');
}

export function formatMetricName(p: ParsedMetricName): string {
  const base = p.measurement === DEFAULT_MEASUREMENT ? p.field : `${p.measurement}.${p.field}`;
  return p.labels.length ? `${base}{${formatLabels(p.labels)}}` : base;
}

/** Parses a query name; returns an error message instead of throwing. */
export function parseMetricName(name: string): ParsedMetricName | string {
  if (name.length > 512) return 'metric name longer than 512 characters';
  const brace = name.indexOf('{');
  const head = brace === -1 ? name : name.slice(0, brace);
  const labels: Array<[string, string]> = [];
  if (brace !== -1) {
    if (!name.endsWith('}')) return `metric name "${name}": labels must end with "}"`;
    const body = name.slice(brace + 1, -1);
    let key = '';
    let val = '';
    let inVal = false;
    for (let i = 0; i <= body.length; i++) {
      const c = body[i];
      if (c === '\\' && i + 1 < body.length) {
        if (inVal) val += body[++i];
        else key += body[++i];
        continue;
      }
      if (c === undefined || c === ',') {
        if (!key && !val && c === undefined && labels.length === 0) break;
        if (!inVal || !key) return `metric name "${name}": labels look like {key=value,…}`;
        labels.push([key, val]);
        key = '';
        val = '';
        inVal = false;
        continue;
      }
      if (c === '=' && !inVal) {
        inVal = true;
        continue;
      }
      if (inVal) val += c;
      else key += c;
    }
  }
  const dot = head.indexOf('.');
  const measurement = dot === -1 ? DEFAULT_MEASUREMENT : head.slice(0, dot);
  const field = dot === -1 ? head : head.slice(dot + 1);
  if (!NAME_PART.test(measurement) || !NAME_PART.test(field)) {
    return `metric name "${name}": use letters, digits, _ : - (e.g. cpu_usage or ai_metrics.tokens{model=gpt4})`;
  }
  for (const [k] of labels) {
    if (!NAME_PART.test(k)) return `metric name "${name}": bad label key "${k}"`;
  }
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { measurement, field, labels };
}

/** Metric values: finite numbers, booleans (stored as 0/1). Strings are refused. */
export const MetricValueSchema = z.union([z.number(), z.boolean()]);

/**
 * `{name: value}` of one sample: 1–1,000 names of 1–512 characters; the values are checked by
 * ingest, which names each refused one. One hand-written pass instead of `z.record`: this
 * runs for every sample of a 10,000-sample batch, and z.record (a key schema run per name, a
 * copied object) cost ~3.4 µs per sample, most of the batch's validation time.
 */
const MetricsMapSchema = z
  .custom<Record<string, unknown>>()
  .check((ctx) => {
    const m = ctx.value;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input: m });
      return;
    }
    let n = 0;
    for (const k in m) {
      n++;
      if (k.length < 1 || k.length > 512) {
        ctx.issues.push({
          code: 'custom',
          message: 'metric names are 1 to 512 characters',
          input: k,
          path: [k],
        });
      }
    }
    if (n === 0) {
      ctx.issues.push({ code: 'custom', message: 'at least one metric is required', input: m });
    } else if (n > 1000) {
      ctx.issues.push({ code: 'custom', message: 'at most 1,000 metrics per sample', input: m });
    }
  })
  .meta({
    type: 'object',
    minProperties: 1,
    maxProperties: 1000,
    propertyNames: { minLength: 1, maxLength: 512 },
    additionalProperties: { anyOf: [{ type: 'number' }, { type: 'boolean' }] },
  });

/** Epoch milliseconds or an ISO-8601 timestamp. */
export const MetricTimestampSchema = z.union([
  z.number().int().min(0),
  z.iso.datetime({ offset: true }),
]);

/** `POST /agents/:id/metrics` */
export const SubmitMetricsSchema = z.strictObject({
  timestamp: MetricTimestampSchema.optional(),
  metrics: MetricsMapSchema,
});
export type SubmitMetrics = z.infer<typeof SubmitMetricsSchema>;

export const MetricsBatchSampleSchema = z.strictObject({
  agentId: z.uuid(),
  timestamp: MetricTimestampSchema.optional(),
  metrics: MetricsMapSchema,
});

export const MAX_BATCH_SAMPLES = 10_000;

/** `POST /metrics/batch` (≤ 10,000 samples, ≤ 10 MiB). */
export const MetricsBatchSchema = z.strictObject({
  samples: z.array(MetricsBatchSampleSchema).min(1).max(MAX_BATCH_SAMPLES),
});
export type MetricsBatch = z.infer<typeof MetricsBatchSchema>;

export interface IngestResult {
  accepted: number;
  /** Field values stored. */
  values: number;
}

/** `POST /write` query (InfluxDB v2 compatible). */
export const LineProtocolQuerySchema = z.object({
  bucket: z.string().max(256).optional(),
  org: z.string().max(256).optional(),
  precision: z.enum(['ns', 'us', 'ms', 's']).default('ns'),
});
export type LineProtocolQuery = z.infer<typeof LineProtocolQuerySchema>;

export const METRIC_AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'p95'] as const;
export type MetricAgg = (typeof METRIC_AGGS)[number];

export const RESOLUTIONS = ['raw', '1m', '1h', '1d'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** Relative ranges used by the dashboard and the aggregate endpoints. */
export const TIMERANGES = ['15m', '1h', '6h', '24h', '7d', '30d'] as const;
export type Timerange = (typeof TIMERANGES)[number];
export const TIMERANGE_MS: Record<Timerange, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

const stepSchema = z
  .string()
  .regex(/^(auto|\d+(s|m|h|d))$/, 'step is "auto" or a duration like 30s, 5m, 1h, 1d')
  .default('auto');

/** `GET /metrics/historical/:agentId` */
export const HistoricalQuerySchema = z
  .object({
    metric: z.string().min(1).max(512).default('cpu_usage'),
    from: MetricTimestampSchema.or(z.string().regex(/^\d+$/).transform(Number)).optional(),
    to: MetricTimestampSchema.or(z.string().regex(/^\d+$/).transform(Number)).optional(),
    step: stepSchema,
    agg: z.enum(METRIC_AGGS).default('avg'),
  })
  .describe('from/to: ISO-8601 or epoch ms; default the last hour');
export type HistoricalQuery = z.infer<typeof HistoricalQuerySchema>;

export interface MetricPoint {
  /** bucket start, epoch ms */
  t: number;
  v: number;
}

export interface HistoricalSeries {
  agentId: string;
  metric: string;
  unit: string | null;
  agg: MetricAgg;
  from: string;
  to: string;
  /** Bucket width in seconds (0 when raw points are returned as stored). */
  stepSec: number;
  resolution: Resolution;
  points: MetricPoint[];
}

export const AGGREGATE_GROUP_BY = /^(none|agent|type|environment|region|group|tag:[\w.:-]{1,64})$/;

/** `GET /metrics/aggregate/:timerange` */
export const AggregateQuerySchema = z.object({
  metric: z.string().min(1).max(512).default('cpu_usage'),
  groupBy: z
    .string()
    .regex(
      AGGREGATE_GROUP_BY,
      'groupBy is none, agent, type, environment, region, group or tag:<key>',
    )
    .default('type'),
  agg: z.enum(METRIC_AGGS).default('avg'),
});
export type AggregateQuery = z.infer<typeof AggregateQuerySchema>;

export interface AggregateGroup {
  key: string;
  agentCount: number;
  /** The aggregate over the whole range. */
  value: number | null;
  min: number | null;
  max: number | null;
  points: MetricPoint[];
}

export interface AggregateResult {
  metric: string;
  timerange: Timerange;
  groupBy: string;
  agg: MetricAgg;
  stepSec: number;
  resolution: Resolution;
  groups: AggregateGroup[];
}

export interface MetricSeriesInfo {
  /** Query name. */
  name: string;
  measurement: string;
  field: string;
  labels: Record<string, string>;
  unit: string | null;
  lastValue: number | null;
  lastAt: string | null;
}

export interface AgentSeriesList {
  agentId: string;
  items: MetricSeriesInfo[];
}

/** Latest values of one agent, kept hot (memory, Redis when configured). */
export interface LatestMetrics {
  at: string | null;
  values: Record<string, number>;
}

export interface DashboardOverview {
  agents: { total: number; byStatus: Record<string, number> };
  ingest: {
    /** values per second over the last minute, this instance */
    valuesPerSec: number;
    samplesPerSec: number;
    series: number;
    reportingAgents5m: number;
  };
  fleet: { cpuAvg: number | null; memoryAvg: number | null; diskAvg: number | null };
  byType: Array<{ key: string; agents: number; cpuAvg: number | null }>;
  byEnvironment: Array<{ key: string; agents: number; cpuAvg: number | null }>;
  /** values/s per minute over the last hour (all instances, from stored rows). */
  ingestRate: MetricPoint[];
}

export interface DashboardMetrics {
  timerange: Timerange;
  charts: Array<{
    metric: string;
    unit: string | null;
    byType: AggregateResult;
    byEnvironment: AggregateResult;
  }>;
}

export interface AgentSummaryRow {
  agentId: string;
  name: string;
  type: string | null;
  environment: string | null;
  status: string | null;
  latest: LatestMetrics;
}

export interface AgentsSummary {
  items: AgentSummaryRow[];
  total: number;
}
