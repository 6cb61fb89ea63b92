/**
 * The column-wise shape of one ingest batch between parsing and the store: a few typed arrays
 * that grow by doubling, instead of an object (and an array of field pairs) per sample.
 *
 * Row `r` belongs to `series[rowSeries[r]]`, has timestamp `rowTs[r]` (epoch µs) and its
 * values in `vals[rowOffset[r] … rowOffset[r + 1])`, one cell per column of its series
 * (NaN = no value; metric values are finite, so NaN is free to mean "absent").
 */
import type { SeriesSet } from './metric-store.service.js';

/** One series set as a batch sees it: the columns are in the batch's own field order. */
export interface BatchSeries {
  agentId: string;
  measurement: string;
  /** canonical label text `k=v,k2=v2` ('' when none) */
  labels: string;
  /** Field name of each column (a row may have fewer cells than there are fields). */
  fields: readonly string[];
  /**
   * Kept by the caller across batches of the same series key (line protocol keeps one per
   * key): the store remembers the key's series set and column map in it, so a known key
   * costs no lookup by its text.
   */
  memo?: SetMemo;
}

/** What the store remembered for a series key (see BatchSeries.memo). */
export interface SetMemo {
  set?: SeriesSet;
  map?: Int32Array;
  agentId?: string;
  width?: number;
}

export interface SampleBatch {
  series: BatchSeries[];
  rows: number;
  rowSeries: Int32Array;
  /** epoch µs */
  rowTs: Float64Array;
  /** rows + 1 entries */
  rowOffset: Int32Array;
  vals: Float64Array;
}

export class SampleColumns {
  rows = 0;
  rowSeries: Int32Array;
  rowTs: Float64Array;
  rowOffset: Int32Array;
  vals: Float64Array;
  /** cells used in `vals` */
  used = 0;

  constructor(rowsHint = 256, cellsHint = rowsHint * 8) {
    const r = Math.max(16, rowsHint);
    this.rowSeries = new Int32Array(r);
    this.rowTs = new Float64Array(r);
    this.rowOffset = new Int32Array(r + 1);
    this.vals = new Float64Array(Math.max(64, cellsHint));
  }

  /** Columns built elsewhere (the parser thread), taken over as they are. */
  static wrap(
    rows: number,
    used: number,
    rowSeries: Int32Array,
    rowTs: Float64Array,
    rowOffset: Int32Array,
    vals: Float64Array,
  ): SampleColumns {
    const c = new SampleColumns(0, 0);
    c.rows = rows;
    c.used = used;
    c.rowSeries = rowSeries;
    c.rowTs = rowTs;
    c.rowOffset = rowOffset;
    c.vals = vals;
    return c;
  }

  /** Starts a row of `width` absent cells; returns the offset of its first cell. */
  begin(series: number, width: number): number {
    const r = this.rows;
    if (r === this.rowTs.length) this.growRows();
    this.rowSeries[r] = series;
    const off = this.used;
    this.rowOffset[r] = off;
    this.reserve(width);
    this.vals.fill(NaN, off, off + width);
    this.used = off + width;
    return off;
  }

  /** Adds absent cells to the row being built, up to `width` cells from `off`. */
  widen(off: number, width: number): void {
    const end = off + width;
    if (end <= this.used) return;
    this.reserve(end - this.used);
    this.vals.fill(NaN, this.used, end);
    this.used = end;
  }

  /** Keeps the row being built, with its timestamp. */
  commit(tsUs: number): void {
    this.rowTs[this.rows] = tsUs;
    this.rows++;
    this.rowOffset[this.rows] = this.used;
  }

  /** Forgets the row begun at `off`. */
  discard(off: number): void {
    this.used = off;
  }

  batch(series: BatchSeries[]): SampleBatch {
    this.rowOffset[this.rows] = this.used;
    return {
      series,
      rows: this.rows,
      rowSeries: this.rowSeries,
      rowTs: this.rowTs,
      rowOffset: this.rowOffset,
      vals: this.vals,
    };
  }

  private reserve(n: number): void {
    if (this.used + n <= this.vals.length) return;
    let size = this.vals.length * 2;
    while (size < this.used + n) size *= 2;
    const next = new Float64Array(size);
    next.set(this.vals.subarray(0, this.used));
    this.vals = next;
  }

  private growRows(): void {
    const n = this.rowTs.length * 2;
    const s = new Int32Array(n);
    s.set(this.rowSeries);
    this.rowSeries = s;
    const t = new Float64Array(n);
    t.set(this.rowTs);
    this.rowTs = t;
    const o = new Int32Array(n + 1);
    o.set(this.rowOffset);
    this.rowOffset = o;
  }
}
