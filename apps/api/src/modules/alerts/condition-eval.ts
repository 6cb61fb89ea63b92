import {
  parseMetricName,
  type AgentStatus,
  type AlertCondition,
  type ThresholdCondition,
  type ThresholdOp,
  type WindowAggregate,
} from '@agent-monitor/contracts';

/**
 * Pure evaluation of a condition tree for one agent at one instant. The engine owns the
 * data (sliding windows, last-seen times, liveness); this file only decides.
 */
export interface SeriesWindow {
  ts: number[];
  v: number[];
}

export interface AgentSignals {
  /** metric → samples ordered by time (pruned to the longest window any rule needs). */
  series: Map<string, SeriesWindow>;
  /** Last sample time of any metric, and per metric. */
  lastSeenAny: number | null;
  lastSeen: Map<string, number>;
  status: { status: AgentStatus; since: number } | null;
  /** Since when the engine has been watching (no-data counts from here if nothing arrived). */
  watchingSince: number;
}

export interface EvalResult {
  active: boolean;
  /** The observed value of the first leaf that decided (for summaries). */
  value: number | null;
  threshold: number | null;
  metric: string | null;
}

const INACTIVE: EvalResult = { active: false, value: null, threshold: null, metric: null };

// ---------------------------------------------------------------- label sets

/**
 * A metric selector in a condition: `ai_metrics.inference_time` (every label set of that
 * metric, one alert per set) or `ai_metrics.inference_time{model=gpt4}` (only sets carrying
 * those labels; `*` = any value). Series are keyed by query name `base{k=v,…}`.
 */
export interface MetricSelector {
  base: string;
  filter: Array<[string, string]>;
}

const selectorCache = new Map<string, MetricSelector>();
const labelCache = new Map<string, Map<string, string>>();

export function metricSelector(metric: string): MetricSelector {
  let sel = selectorCache.get(metric);
  if (sel) return sel;
  const brace = metric.indexOf('{');
  const base = brace === -1 ? metric : metric.slice(0, brace);
  const parsed = brace === -1 ? null : parseMetricName(metric);
  sel = { base, filter: parsed && typeof parsed !== 'string' ? parsed.labels : [] };
  if (selectorCache.size > 10_000) selectorCache.clear();
  selectorCache.set(metric, sel);
  return sel;
}

/** `model=gpt4,region=eu` → map (canonical label text, as series query names carry it). */
export function parseLabelKey(labelKey: string): Map<string, string> {
  let m = labelCache.get(labelKey);
  if (m) return m;
  const parsed = labelKey ? parseMetricName(`x{${labelKey}}`) : null;
  m = new Map(parsed && typeof parsed !== 'string' ? parsed.labels : []);
  if (labelCache.size > 50_000) labelCache.clear();
  labelCache.set(labelKey, m);
  return m;
}

export function selectorMatches(sel: MetricSelector, labelKey: string): boolean {
  if (!sel.filter.length) return true;
  const labels = parseLabelKey(labelKey);
  return sel.filter.every(([k, v]) => labels.has(k) && (v === '*' || labels.get(k) === v));
}

/**
 * The series a leaf reads when the alert is about label set `labelKey`: '' reads the metric
 * exactly as written; a label set reads `base{labelKey}` when the leaf's filter admits it, and a
 * leaf without a filter falls back to the unlabelled series (`cpu_usage AND x{model=…}`).
 */
export function resolveSeries(
  metric: string,
  labelKey: string,
  has: (name: string) => boolean,
): string | null {
  if (!labelKey) return metric;
  const sel = metricSelector(metric);
  if (!selectorMatches(sel, labelKey)) return null;
  const name = `${sel.base}{${labelKey}}`;
  if (has(name)) return name;
  return sel.filter.length ? null : sel.base;
}

export function compare(a: number, op: ThresholdOp, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

export function aggregate(values: number[], agg: WindowAggregate): number | null {
  if (!values.length) return null;
  switch (agg) {
    case 'last':
      return values[values.length - 1];
    case 'avg':
      return values.reduce((s, x) => s + x, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'p95': {
      // Nearest-rank percentile, as Prometheus' quantile_over_time does on small windows.
      const sorted = [...values].sort((x, y) => x - y);
      return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
    }
  }
}

/** Samples of the window `(now - windowSec, now]`; windowSec 0 means the latest sample. */
export function windowValues(
  w: SeriesWindow | undefined,
  windowSec: number,
  now: number,
): number[] {
  if (!w || !w.v.length) return [];
  if (windowSec <= 0) return [w.v[w.v.length - 1]];
  const from = now - windowSec * 1000;
  const out: number[] = [];
  for (let i = w.ts.length - 1; i >= 0 && w.ts[i] > from; i--) {
    if (w.ts[i] <= now + 60_000) out.push(w.v[i]);
  }
  return out.reverse();
}

function evalThreshold(
  c: ThresholdCondition,
  s: AgentSignals,
  now: number,
  labelKey: string,
): EvalResult {
  const name = resolveSeries(c.metric, labelKey, (n) => s.series.has(n));
  const values = name === null ? [] : windowValues(s.series.get(name), c.windowSec, now);
  const v = aggregate(values, c.aggregate);
  if (v === null) return { ...INACTIVE, threshold: c.value, metric: c.metric };
  return { active: compare(v, c.op, c.value), value: v, threshold: c.value, metric: c.metric };
}

/**
 * Evaluates for one agent and one series label set (`''` = the metrics as named). Watchdogs are
 * always active; group_unreachable is decided by the engine per group, never per agent.
 */
export function evaluateCondition(
  c: AlertCondition,
  s: AgentSignals,
  now: number,
  labelKey = '',
): EvalResult {
  switch (c.kind) {
    case 'threshold':
      return evalThreshold(c, s, now, labelKey);
    case 'watchdog':
      return { active: true, value: null, threshold: null, metric: null };
    case 'group_unreachable':
      return INACTIVE;
    case 'no_data': {
      const name = c.metric ? resolveSeries(c.metric, labelKey, (n) => s.lastSeen.has(n)) : null;
      const last = c.metric ? (name === null ? undefined : s.lastSeen.get(name)) : s.lastSeenAny;
      const since = last ?? s.watchingSince;
      const silentSec = (now - since) / 1000;
      return {
        active: silentSec >= c.forSec,
        value: last === undefined || last === null ? null : Math.round(silentSec * 10) / 10,
        threshold: c.forSec,
        metric: c.metric ?? null,
      };
    }
    case 'agent_status': {
      const st = s.status;
      const active =
        !!st && (c.statuses as string[]).includes(st.status) && now - st.since >= c.forSec * 1000;
      return { active, value: null, threshold: c.forSec, metric: null };
    }
    case 'and': {
      let first: EvalResult | null = null;
      for (const sub of c.conditions) {
        const r = evaluateCondition(sub, s, now, labelKey);
        if (!r.active) return { ...r, active: false };
        first ??= r;
      }
      return first ?? INACTIVE;
    }
    case 'or': {
      let firstSeen: EvalResult | null = null;
      for (const sub of c.conditions) {
        const r = evaluateCondition(sub, s, now, labelKey);
        if (r.active) return r;
        firstSeen ??= r;
      }
      return { ...(firstSeen ?? INACTIVE), active: false };
    }
  }
}

/** Every metric a condition reads, and the longest window (seconds) it needs per metric. */
export function conditionMetrics(
  c: AlertCondition,
  out = new Map<string, number>(),
): Map<string, number> {
  switch (c.kind) {
    case 'threshold':
      out.set(c.metric, Math.max(out.get(c.metric) ?? 0, c.windowSec));
      break;
    case 'no_data':
      if (c.metric) out.set(c.metric, out.get(c.metric) ?? 0);
      break;
    case 'agent_status':
    case 'watchdog':
    case 'group_unreachable':
      break;
    case 'and':
    case 'or':
      for (const sub of c.conditions) conditionMetrics(sub, out);
  }
  return out;
}

/** Whether the condition can change without a new sample (no-data, status, sliding windows). */
export function isTimeDependent(c: AlertCondition): boolean {
  switch (c.kind) {
    case 'threshold':
      return c.windowSec > 0;
    case 'no_data':
    case 'agent_status':
    case 'watchdog':
    case 'group_unreachable':
      return true;
    case 'and':
    case 'or':
      return c.conditions.some(isTimeDependent);
  }
}

export function usesStatus(c: AlertCondition): boolean {
  if (c.kind === 'agent_status') return true;
  if (c.kind === 'and' || c.kind === 'or') return c.conditions.some(usesStatus);
  return false;
}

/** Whether a condition reads agent status or no-data (what an unreachable group explains). */
export function readsLiveness(c: AlertCondition): boolean {
  if (c.kind === 'no_data' || c.kind === 'agent_status') return true;
  if (c.kind === 'and' || c.kind === 'or') return c.conditions.some(readsLiveness);
  return false;
}
