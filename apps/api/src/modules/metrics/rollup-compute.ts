import { hkey } from './histogram.js';
import {
  COPY_SIGNATURE,
  CopyRowReader,
  decodeRawChunk,
  disjoint,
  mergeRawChunks,
  PG_EPOCH_US,
  readInt64,
  setInt64,
  type RawChunk,
} from './raw-chunks.js';

/**
 * Rollup arithmetic in the API process: source rows arrive as PostgreSQL binary COPY, sorted
 * series by series (in any time order within a series), and leave as binary COPY rows of
 * the next level. One pass, the cells of one series open at a time, no SQL GROUP BY over every
 * value: about 20× less PostgreSQL CPU than aggregating in SQL (tools/bench/ingest prints it).
 *
 * Raw chunks of a series are held until the series ends: when two of them share a timestamp
 * (a retried batch), each (timestamp, field) keeps the value of the newest transaction, as
 * `metric_raw_values()` does in SQL, so a duplicate is never counted twice.
 */

const INT2_OID = 21;
const INT4_OID = 23;
/** Output buffers are flushed into the list at about this size. */
const OUT_CHUNK = 1 << 20;

/** One rollup row being built. */
interface Cell {
  series: number;
  field: number;
  /** Bucket start, ms since the Unix epoch. */
  bucket: number;
  cnt: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  /** µs since the Unix epoch. */
  lastTs: number;
  /** Histogram keys and counts, unsorted until written. */
  hk: number[];
  hc: number[];
}

function addKey(c: Cell, k: number, n: number): void {
  const hk = c.hk;
  for (let i = 0; i < hk.length; i++) {
    if (hk[i] === k) {
      c.hc[i] += n;
      return;
    }
  }
  hk.push(k);
  c.hc.push(n);
}

/** Bytes of an output row besides its histogram elements (9 scalars, 2 array headers). */
const ROW_FIXED_OUT = 100 + 2 * 24;

/** A one-dimensional array header without NULLs: total length, ndim, flags, oid, dim. */
function arrayHeader(dv: DataView, o: number, oid: number, elemSize: number, n: number): number {
  dv.setInt32(o, 20 + n * (4 + elemSize));
  dv.setInt32(o + 4, 1);
  dv.setInt32(o + 8, 0);
  dv.setInt32(o + 12, oid);
  dv.setInt32(o + 16, n);
  dv.setInt32(o + 20, 1);
  return o + 24;
}

/**
 * Folds sorted source rows into rollup cells of `widthMs` and writes them as binary COPY rows
 * of `metric_rollup_*` (series_id, field, bucket, cnt, sum, min, max, last, last_ts, hk, hc).
 */
export class RollupFolder {
  private readonly rows = new CopyRowReader((dv, p) => {
    if (this.source === 'raw') this.rawRow(dv, p);
    else this.rollupRow(dv, p);
    this.rowsIn++;
  });
  /** Open cells of the current series by (bucket, field), and the last one used per field. */
  private readonly open = new Map<number, Cell>();
  private last: Array<Cell | undefined> = [];
  private series = -1;
  private out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  private dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
  private o = 0;
  private readonly chunks: Buffer[] = [];
  /** Raw chunks of the current series, folded when it ends. */
  private pending: RawChunk[] = [];
  private readonly fromUs: number;
  private readonly toUs: number;
  rowsIn = 0;
  rowsOut = 0;
  /** Raw values dropped as older duplicates of a (series, timestamp, field). */
  duplicates = 0;

  /**
   * `source`: raw chunks (series_id, ts timestamptz[], vals float8[], xid xid8), of which only
   * the timestamps in [fromMs, toMs) count, or rollup rows (the 11 columns).
   */
  constructor(
    private readonly source: 'raw' | 'rollup',
    private readonly widthMs: number,
    range: [number, number] = [-Infinity, Infinity],
  ) {
    this.fromUs = range[0] * 1000;
    this.toUs = range[1] * 1000;
    COPY_SIGNATURE.copy(this.out, 0);
    this.out.writeInt32BE(0, COPY_SIGNATURE.length);
    this.out.writeInt32BE(0, COPY_SIGNATURE.length + 4);
    this.o = COPY_SIGNATURE.length + 8;
  }

  /** Feeds a chunk of the COPY TO stream (rows may straddle chunks). */
  push(chunk: Buffer): void {
    this.rows.push(chunk);
  }

  private startSeries(id: number): void {
    if (id === this.series) return;
    this.closeAll();
    this.series = id;
  }

  /** Folds one raw value of the current series. */
  private add(field: number, tsUs: number, v: number): void {
    const c = this.cellFor(field, Math.floor(tsUs / 1000 / this.widthMs) * this.widthMs);
    c.cnt++;
    c.sum += v;
    if (v < c.min) c.min = v;
    if (v > c.max) c.max = v;
    if (tsUs >= c.lastTs) {
      c.last = v;
      c.lastTs = tsUs;
    }
    addKey(c, hkey(v), 1);
  }

  /**
   * The cell of (field, bucket) in the current series. Rows of a series need not come in time
   * order (only series by series): a cell stays open until the series ends.
   */
  private cellFor(field: number, bucket: number): Cell {
    let c = this.last[field];
    if (c && c.bucket === bucket) return c;
    const key = (bucket / this.widthMs) * 65_536 + field; // field is a smallint
    c = this.open.get(key);
    if (!c) {
      c = {
        series: this.series,
        field,
        bucket,
        cnt: 0,
        sum: 0,
        min: Infinity,
        max: -Infinity,
        last: 0,
        lastTs: -Infinity,
        hk: [],
        hc: [],
      };
      this.open.set(key, c);
    }
    this.last[field] = c;
    return c;
  }

  /** series_id int4, ts timestamptz[], vals float8[] (n × w, NULL cells skipped), xid xid8. */
  private rawRow(b: DataView, p: number): void {
    const { series, chunk } = decodeRawChunk(b, p);
    this.startSeries(series);
    if (chunk) this.pending.push(chunk);
  }

  /** Folds the held chunks of the current series (duplicates resolved). */
  private foldPending(): void {
    let chunks = this.pending;
    if (!chunks.length) return;
    this.pending = [];
    // Time-disjoint chunks (the usual case) cannot share a timestamp: fold them as they are.
    if (!disjoint(chunks)) {
      const m = mergeRawChunks(chunks);
      this.duplicates += m.duplicates;
      chunks = [m.chunk];
    }
    const { fromUs, toUs } = this;
    for (const { ts, vals, w } of chunks) {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i];
        if (t < fromUs || t >= toUs) continue;
        for (let f = 0, j = i * w; f < w; f++, j++) {
          const v = vals[j];
          if (v === v) this.add(f, t, v);
        }
      }
    }
  }

  /** The 11 rollup columns of a finer level. */
  private rollupRow(b: DataView, p: number): void {
    this.startSeries(b.getInt32(p + 4));
    p += 8;
    const field = b.getInt16(p + 4);
    p += 6;
    const fineUs = readInt64(b, p + 4) + PG_EPOCH_US;
    p += 12;
    const bucket = Math.floor(fineUs / 1000 / this.widthMs) * this.widthMs;
    const c = this.cellFor(field, bucket);
    c.cnt += readInt64(b, p + 4);
    p += 12;
    c.sum += b.getFloat64(p + 4);
    p += 12;
    const min = b.getFloat64(p + 4);
    p += 12;
    const max = b.getFloat64(p + 4);
    p += 12;
    const last = b.getFloat64(p + 4);
    p += 12;
    const lastTs = readInt64(b, p + 4) + PG_EPOCH_US;
    p += 12;
    if (min < c.min) c.min = min;
    if (max > c.max) c.max = max;
    if (lastTs >= c.lastTs) {
      c.last = last;
      c.lastTs = lastTs;
    }
    // hk int2[] and hc int4[] of equal length
    const hkLen = b.getInt32(p);
    const kn = b.getInt32(p + 4) ? b.getInt32(p + 16) : 0;
    const k0 = p + 4 + 20;
    const c0 = p + 4 + hkLen + 4 + 20;
    for (let i = 0; i < kn; i++) {
      addKey(c, b.getInt16(k0 + i * 6 + 4), b.getInt32(c0 + i * 8 + 4));
    }
  }

  private closeAll(): void {
    this.foldPending();
    for (const c of this.open.values()) this.emit(c);
    this.open.clear();
    this.last = [];
  }

  private room(n: number): void {
    if (this.o + n <= this.out.length) return;
    this.chunks.push(this.out.subarray(0, this.o));
    this.out = Buffer.allocUnsafe(Math.max(OUT_CHUNK, n));
    this.dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    this.o = 0;
  }

  private emit(c: Cell): void {
    const { hk, hc } = c;
    const k = hk.length;
    // keys ascending, as array_agg(k ORDER BY k) stored them (insertion sort: few keys)
    for (let i = 1; i < k; i++) {
      const key = hk[i];
      const cnt = hc[i];
      let j = i - 1;
      for (; j >= 0 && hk[j] > key; j--) {
        hk[j + 1] = hk[j];
        hc[j + 1] = hc[j];
      }
      hk[j + 1] = key;
      hc[j + 1] = cnt;
    }
    this.room(ROW_FIXED_OUT + k * 14);
    const dv = this.dv;
    let o = this.o;
    dv.setInt16(o, 11);
    dv.setInt32(o + 2, 4);
    dv.setInt32(o + 6, c.series);
    dv.setInt32(o + 10, 2);
    dv.setInt16(o + 14, c.field);
    dv.setInt32(o + 16, 8);
    setInt64(dv, o + 20, c.bucket * 1000 - PG_EPOCH_US);
    dv.setInt32(o + 28, 8);
    setInt64(dv, o + 32, c.cnt);
    dv.setInt32(o + 40, 8);
    dv.setFloat64(o + 44, c.sum);
    dv.setInt32(o + 52, 8);
    dv.setFloat64(o + 56, c.min);
    dv.setInt32(o + 64, 8);
    dv.setFloat64(o + 68, c.max);
    dv.setInt32(o + 76, 8);
    dv.setFloat64(o + 80, c.last);
    dv.setInt32(o + 88, 8);
    setInt64(dv, o + 92, c.lastTs - PG_EPOCH_US);
    o += 100;
    o = arrayHeader(dv, o, INT2_OID, 2, k);
    for (let i = 0; i < k; i++, o += 6) {
      dv.setInt32(o, 2);
      dv.setInt16(o + 4, hk[i]);
    }
    o = arrayHeader(dv, o, INT4_OID, 4, k);
    for (let i = 0; i < k; i++, o += 8) {
      dv.setInt32(o, 4);
      dv.setInt32(o + 4, hc[i]);
    }
    this.o = o;
    this.rowsOut++;
  }

  /** Closes the open cells; the COPY FROM payload (null when no row was produced). */
  finish(): Buffer[] | null {
    this.rows.finish();
    this.closeAll();
    if (!this.rowsOut) return null;
    this.room(2);
    this.out.writeInt16BE(-1, this.o);
    this.o += 2;
    this.chunks.push(this.out.subarray(0, this.o));
    this.out = Buffer.alloc(0);
    return this.chunks;
  }
}
