/**
 * `metric_raw` chunks in the API (see the StoreRawMetricsInChunks migration): reading them from
 * a binary `COPY … TO STDOUT`, merging a series' chunks (the newest transaction wins per
 * timestamp and field) and writing merged chunks back as binary `COPY … FROM STDIN`.
 */

/** µs between the Unix epoch and PostgreSQL's (2000-01-01). */
export const PG_EPOCH_US = 946_684_800_000_000;
export const TWO_32 = 4_294_967_296;
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
export const FLOAT8_OID = 701;
export const TIMESTAMPTZ_OID = 1184;

/** Reads an int64 (big-endian) as a double: exact below 2^53. */
export function readInt64(dv: DataView, o: number): number {
  return dv.getInt32(o) * TWO_32 + dv.getUint32(o + 4);
}

export function setInt64(dv: DataView, o: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  dv.setInt32(o, hi);
  dv.setUint32(o + 4, v - hi * TWO_32);
}

/** A one-dimensional array's length word and header (ndim, has-null, oid, size, lower bound). */
export function arrayHeader(
  dv: DataView,
  o: number,
  bytes: number,
  hasNull: boolean,
  oid: number,
  n: number,
): void {
  dv.setInt32(o, bytes);
  dv.setInt32(o + 4, 1);
  dv.setInt32(o + 8, hasNull ? 1 : 0);
  dv.setInt32(o + 12, oid);
  dv.setInt32(o + 16, n);
  dv.setInt32(o + 20, 1);
}

/**
 * Writes `vals[from, from + n)` at `o` as float8 array elements (NaN as NULL); returns the
 * offset after them and how many were not NULL.
 */
export function writeFloat8Elements(
  dv: DataView,
  o: number,
  vals: Float64Array,
  from: number,
  n: number,
): { o: number; present: number } {
  let present = 0;
  for (let j = from; j < from + n; j++) {
    const v = vals[j];
    if (v === v) {
      dv.setInt32(o, 8);
      dv.setFloat64(o + 4, v);
      o += 12;
      present++;
    } else {
      dv.setInt32(o, -1);
      o += 4;
    }
  }
  return { o, present };
}

/** One chunk of one series, decoded. */
export interface RawChunk {
  /** µs since the Unix epoch, ascending. */
  ts: Float64Array;
  /** ts.length × w values, row by row, NaN where absent. */
  vals: Float64Array;
  w: number;
  /** The writing transaction (xid8). */
  xid: number;
}

/**
 * Splits a binary COPY stream into its rows, whatever the chunking: `onRow(dv, p)` gets each
 * complete row with `p` at its first field's length word.
 */
export class CopyRowReader {
  private carry: Buffer | null = null;
  private headerDone = false;
  private done = false;

  constructor(private readonly onRow: (dv: DataView, p: number) => void) {}

  push(chunk: Buffer): void {
    let b = chunk;
    if (this.carry) {
      b = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const len = b.length;
    let p = 0;
    if (!this.headerDone) {
      if (len < 19) {
        this.carry = b;
        return;
      }
      if (!b.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('not a binary COPY stream');
      p = 19 + dv.getInt32(15);
      this.headerDone = true;
    }
    while (p + 2 <= len && !this.done) {
      const n = dv.getInt16(p);
      if (n === -1) {
        this.done = true;
        p += 2;
        break;
      }
      // the tuple's end, or -1 when it is not all here yet
      let end = p + 2;
      for (let f = 0; f < n && end >= 0; f++) {
        if (end + 4 > len) end = -1;
        else {
          const fl = dv.getInt32(end);
          end += 4 + (fl > 0 ? fl : 0);
          if (end > len) end = -1;
        }
      }
      if (end < 0) break;
      this.onRow(dv, p + 2);
      p = end;
    }
    if (p < len && !this.done) this.carry = b.subarray(p);
  }

  /** Throws when the stream stopped in the middle of a row. */
  finish(): void {
    if (this.carry && this.carry.length) throw new Error('binary COPY stream ended mid-row');
  }
}

/**
 * A row `series_id int4, ts timestamptz[], vals float8[], xid xid8` at `p`; null for a chunk
 * without timestamps.
 */
export function decodeRawChunk(b: DataView, p: number): { series: number; chunk: RawChunk | null } {
  const series = b.getInt32(p + 4);
  p += 8;
  // arrays: length, ndim, has-null, oid, [dim size, lower bound], elements
  const tsDims = b.getInt32(p + 4);
  const n = tsDims ? b.getInt32(p + 16) : 0;
  const ts = new Float64Array(n);
  let q = p + 4 + 12 + tsDims * 8;
  for (let i = 0; i < n; i++, q += 12) ts[i] = readInt64(b, q + 4) + PG_EPOCH_US;
  p += 4 + b.getInt32(p);
  const valDims = b.getInt32(p + 4);
  const cells = valDims ? b.getInt32(p + 16) : 0;
  const vals = new Float64Array(cells);
  q = p + 4 + 12 + valDims * 8;
  for (let j = 0; j < cells; j++) {
    const len = b.getInt32(q);
    q += 4;
    if (len < 0) vals[j] = NaN;
    else {
      vals[j] = b.getFloat64(q);
      q += 8;
    }
  }
  p += 4 + b.getInt32(p);
  if (!n) return { series, chunk: null };
  return { series, chunk: { ts, vals, w: cells / n, xid: readInt64(b, p + 4) } };
}

/** Whether no two of the chunks can share a timestamp (sorts them by first timestamp). */
export function disjoint(chunks: RawChunk[]): boolean {
  chunks.sort((a, b) => a.ts[0] - b.ts[0]);
  for (let i = 1; i < chunks.length; i++) {
    const prev = chunks[i - 1].ts;
    if (chunks[i].ts[0] <= prev[prev.length - 1]) return false;
  }
  return true;
}

/**
 * One chunk holding every timestamp of `chunks` (ascending), each (timestamp, field) with the
 * value of the newest transaction that wrote one, labelled with the newest xid among them.
 * `duplicates` counts the older values dropped.
 */
export function mergeRawChunks(chunks: RawChunk[]): { chunk: RawChunk; duplicates: number } {
  const byXid = [...chunks].sort((a, b) => a.xid - b.xid);
  let w = 0;
  for (const c of byXid) w = Math.max(w, c.w);
  const rows = new Map<number, Float64Array>();
  let duplicates = 0;
  for (const { ts, vals, w: cw } of byXid) {
    for (let i = 0; i < ts.length; i++) {
      let row = rows.get(ts[i]);
      if (!row) rows.set(ts[i], (row = new Float64Array(w).fill(NaN)));
      for (let f = 0, j = i * cw; f < cw; f++, j++) {
        const v = vals[j];
        if (v !== v) continue;
        if (row[f] === row[f]) duplicates++;
        row[f] = v;
      }
    }
  }
  const ts = Float64Array.from(rows.keys()).sort();
  const vals = new Float64Array(ts.length * w);
  for (let i = 0; i < ts.length; i++) vals.set(rows.get(ts[i])!, i * w);
  return {
    chunk: { ts, vals, w, xid: byXid[byXid.length - 1].xid },
    duplicates,
  };
}

/**
 * Chunks as binary COPY rows of `metric_raw (series_id, t0, ts, vals, xid)`: the xid is given
 * (a merged chunk keeps its sources' newest), not the writing transaction's.
 */
export function encodeRawChunks(rows: Array<{ series: number; chunk: RawChunk }>): Buffer {
  let size = COPY_SIGNATURE.length + 8 + 2;
  for (const { chunk } of rows) {
    let present = 0;
    for (const v of chunk.vals) if (v === v) present++;
    size += 2 + 8 + 12 + (4 + 20 + chunk.ts.length * 12) + (4 + 20 + chunk.vals.length * 4);
    size += present * 8 + 12;
  }
  const buf = Buffer.allocUnsafe(size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = COPY_SIGNATURE.copy(buf, 0);
  dv.setInt32(o, 0);
  dv.setInt32(o + 4, 0);
  o += 8;
  for (const { series, chunk } of rows) {
    const { ts, vals } = chunk;
    dv.setInt16(o, 5);
    dv.setInt32(o + 2, 4);
    dv.setInt32(o + 6, series);
    dv.setInt32(o + 10, 8);
    setInt64(dv, o + 14, ts[0] - PG_EPOCH_US);
    o += 22;
    arrayHeader(dv, o, 20 + ts.length * 12, false, TIMESTAMPTZ_OID, ts.length);
    o += 24;
    for (const t of ts) {
      dv.setInt32(o, 8);
      setInt64(dv, o + 4, t - PG_EPOCH_US);
      o += 12;
    }
    const head = o;
    const el = writeFloat8Elements(dv, o + 24, vals, 0, vals.length);
    o = el.o;
    arrayHeader(dv, head, o - head - 4, el.present < vals.length, FLOAT8_OID, vals.length);
    dv.setInt32(o, 8);
    setInt64(dv, o + 4, chunk.xid);
    o += 12;
  }
  dv.setInt16(o, -1);
  return buf;
}
