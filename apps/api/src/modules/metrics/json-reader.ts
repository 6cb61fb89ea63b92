import { formatLabels, parseMetricName } from '@agent-monitor/contracts';
import { SampleColumns, type BatchSeries, type SampleBatch } from './sample-columns.js';

/**
 * JSON samples → columns (pure: it runs on the parser thread for batches, and on the main
 * thread for the one-sample route).
 */

export interface SampleError {
  /** 0-based sample index (JSON) */
  index?: number;
  /** 1-based line number (line protocol) */
  line?: number;
  message: string;
}

export const FUTURE_LIMIT_MS = 10 * 60_000;
export const MAX_ERRORS = 100;
export const FUTURE_MESSAGE = 'timestamp is more than 10 minutes in the future';
export const OLD_MESSAGE = 'timestamp is older than the raw retention';

/** A JSON metric name, parsed once: its series group and field, or why it is refused. */
interface JsonName {
  measurement: string;
  labels: string;
  /** `measurement\0labels` */
  group: string;
  field: string;
}

interface JsonSeries extends BatchSeries {
  fields: string[];
  idx: number;
  cols: Map<string, number>;
}

const MAX_CACHED_NAMES = 20_000;

/** Parsed JSON metric names (cached: agents send the same names every time). */
export class JsonNames {
  private readonly names = new Map<string, JsonName | string>();

  get(name: string): JsonName | string {
    let n = this.names.get(name);
    if (n === undefined) {
      const p = parseMetricName(name);
      if (typeof p === 'string') n = p;
      else {
        const labels = formatLabels(p.labels);
        n = {
          measurement: p.measurement,
          labels,
          group: `${p.measurement}\u0000${labels}`,
          field: p.field,
        };
      }
      if (this.names.size >= MAX_CACHED_NAMES) this.names.clear();
      this.names.set(name, n);
    }
    return n;
  }
}

/** Reads JSON samples into columns, one row per (sample, measurement+labels). */
export class JsonReader {
  private readonly cols: SampleColumns;
  private readonly bySeries = new Map<string, Map<string, JsonSeries>>();
  private readonly series: JsonSeries[] = [];
  readonly errors: SampleError[] = [];
  badSamples = 0;
  badTimestamps = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  // per-sample scratch (reused)
  private readonly scratchName: JsonName[] = [];
  private readonly scratchVal: number[] = [];

  constructor(
    private readonly names: JsonNames,
    private readonly nowMs: number,
    readonly total: number,
    retentionMs: number,
  ) {
    this.cols = new SampleColumns(total, total * 8);
    this.minMs = nowMs - retentionMs;
    this.maxMs = nowMs + FUTURE_LIMIT_MS;
  }

  add(
    agentId: string,
    timestamp: number | string | undefined,
    metrics: Record<string, unknown>,
    index: number,
  ): void {
    const tsMs =
      timestamp === undefined
        ? this.nowMs
        : typeof timestamp === 'number'
          ? timestamp
          : Date.parse(timestamp);
    let bad = false;
    let badTs = false;
    if (tsMs > this.maxMs) {
      this.error(index, FUTURE_MESSAGE);
      badTs = true;
    } else if (tsMs < this.minMs) {
      this.error(index, OLD_MESSAGE);
      badTs = true;
    }
    const names = this.scratchName;
    const vals = this.scratchVal;
    let n = 0;
    let oneGroup = true;
    for (const name in metrics) {
      const raw = metrics[name];
      let v: number;
      if (typeof raw === 'number' && Number.isFinite(raw)) v = raw;
      else if (typeof raw === 'boolean') v = raw ? 1 : 0;
      else {
        const why =
          typeof raw === 'string'
            ? 'is a string; metric values must be numbers or booleans'
            : typeof raw === 'number'
              ? 'is not a finite number'
              : 'must be a number or a boolean';
        this.error(index, `metric "${name.slice(0, 100)}" ${why}`);
        bad = true;
        continue;
      }
      const p = this.names.get(name);
      if (typeof p === 'string') {
        this.error(index, p);
        bad = true;
        continue;
      }
      if (n > 0 && p.group !== names[0].group) oneGroup = false;
      names[n] = p;
      vals[n] = v;
      n++;
    }
    if (bad || badTs) {
      this.badSamples++;
      if (!bad) this.badTimestamps++;
      return;
    }
    if (this.errors.length || n === 0) return;
    const tsUs = Math.round(tsMs * 1000);
    if (oneGroup) {
      this.row(agentId, tsUs, 0, n);
      return;
    }
    // Several measurements/label sets in one sample: one row each, in first-seen order.
    const done = new Set<string>();
    for (let i = 0; i < n; i++) {
      const g = names[i].group;
      if (done.has(g)) continue;
      done.add(g);
      this.row(agentId, tsUs, i, n, g);
    }
  }

  /** One row of the names [from, to) of the scratch (only those of `group` when given). */
  private row(agentId: string, tsUs: number, from: number, to: number, group?: string): void {
    const first = this.scratchName[from];
    let perAgent = this.bySeries.get(agentId);
    if (!perAgent) this.bySeries.set(agentId, (perAgent = new Map()));
    let s = perAgent.get(first.group);
    if (!s) {
      s = {
        agentId,
        measurement: first.measurement,
        labels: first.labels,
        fields: [],
        idx: this.series.length,
        cols: new Map(),
      };
      perAgent.set(first.group, s);
      this.series.push(s);
    }
    const cols = this.cols;
    const off = cols.begin(s.idx, s.fields.length);
    for (let i = from; i < to; i++) {
      const p = this.scratchName[i];
      if (group !== undefined && p.group !== group) continue;
      let c = s.cols.get(p.field);
      if (c === undefined) {
        c = s.fields.length;
        s.fields.push(p.field);
        s.cols.set(p.field, c);
        cols.widen(off, s.fields.length);
      }
      cols.vals[off + c] = this.scratchVal[i];
    }
    cols.commit(tsUs);
  }

  private error(index: number, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ index, message });
  }

  batch(): SampleBatch {
    return this.cols.batch(this.series);
  }

  get columns(): SampleColumns {
    return this.cols;
  }

  /** The batch's series (agent, measurement, labels, fields), in column index order. */
  get seriesList(): readonly BatchSeries[] {
    return this.series;
  }
}
