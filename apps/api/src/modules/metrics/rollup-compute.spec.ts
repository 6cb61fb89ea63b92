import { RollupFolder } from './rollup-compute.js';

const MINUTE = 60_000;
const PG_EPOCH_US = 946_684_800_000_000;

type Chunk = [series: number, tsUs: number[], vals: Array<number | null>, xid: number];

/** `metric_raw` chunks as the rollup source query streams them (series_id, ts[], vals[], xid). */
function chunkCopy(chunks: Chunk[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1')];
  const int64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return b;
  };
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const array = (oid: number, items: Array<Buffer | null>) => {
    const body = Buffer.concat([
      int32(1),
      int32(items.some((x) => x === null) ? 1 : 0),
      int32(oid),
      int32(items.length),
      int32(1),
      ...items.map((x) => (x === null ? int32(-1) : Buffer.concat([int32(x.length), x]))),
    ]);
    return Buffer.concat([int32(body.length), body]);
  };
  for (const [series, ts, vals, xid] of chunks) {
    const f64 = (v: number) => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v);
      return b;
    };
    parts.push(
      Buffer.from([0, 4]),
      int32(4),
      int32(series),
      array(
        1184,
        ts.map((t) => int64(t - PG_EPOCH_US)),
      ),
      array(
        701,
        vals.map((v) => (v === null ? null : f64(v))),
      ),
      int32(8),
      int64(xid),
    );
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

/** One chunk per row (series, µs timestamp, values). */
function rawCopy(rows: Array<[number, number, Array<number | null>]>): Buffer {
  return chunkCopy(rows.map(([s, ts, v]) => [s, [ts], v, 1]));
}

function fold(source: 'raw' | 'rollup', width: number, input: Buffer, chunk: number): Buffer {
  const f = new RollupFolder(source, width);
  for (let i = 0; i < input.length; i += chunk) f.push(input.subarray(i, i + chunk));
  return Buffer.concat(f.finish() ?? []);
}

describe('RollupFolder', () => {
  const t0 = Date.UTC(2026, 10, 1, 12, 0, 0) * 1000;
  const rows: Array<[number, number, Array<number | null>]> = [
    [1, t0, [1, 10]],
    [1, t0 + 20e6, [3, null]],
    [1, t0 + 40e6, [-2, 0]],
    [1, t0 + 70e6, [5, 7]],
    [2, t0 + 5e6, [null, 4]],
    [2, t0 + 65e6, [8, 8]],
  ];

  it('gives the same rows however the stream is cut', () => {
    const input = rawCopy(rows);
    const whole = fold('raw', MINUTE, input, input.length);
    for (const chunk of [1, 7, 64]) expect(fold('raw', MINUTE, input, chunk)).toEqual(whole);
  });

  it('folds raw rows into cells per series, field and minute, and those into hours', () => {
    const f = new RollupFolder('raw', MINUTE);
    f.push(rawCopy(rows));
    const m1 = Buffer.concat(f.finish()!);
    // series 1: field 0 and 1 in minute 0 and 1; series 2: field 1 in minute 0, both in minute 1
    expect(f.rowsIn).toBe(6);
    expect(f.rowsOut).toBe(7);
    const h = new RollupFolder('rollup', 3_600_000);
    h.push(m1);
    h.finish();
    expect(h.rowsIn).toBe(7);
    expect(h.rowsOut).toBe(4);
  });

  it('gives the same cells when a series comes in any time order (one row per cell)', () => {
    const sorted = fold('raw', MINUTE, rawCopy(rows), 1 << 20);
    // minute 0, minute 1, back to minute 0: a cell must not be closed and opened again
    const shuffled = [rows[0], rows[3], rows[2], rows[1], rows[5], rows[4]];
    const f = new RollupFolder('raw', MINUTE);
    f.push(rawCopy(shuffled));
    const out = Buffer.concat(f.finish()!);
    expect(f.rowsOut).toBe(7);
    // Same rows, possibly in another order: compare the row sets.
    const rowsOf = (b: Buffer) => {
      const h = new RollupFolder('rollup', MINUTE);
      h.push(b);
      h.finish();
      return h.rowsOut;
    };
    expect(rowsOf(out)).toBe(rowsOf(sorted));
    expect(out.length).toBe(sorted.length);
  });

  it('folds chunks of several timestamps, keeping only the range asked for', () => {
    // the same rows as one chunk per series (plus a sample outside the range)
    const chunked = chunkCopy([
      [1, [t0, t0 + 20e6, t0 + 40e6, t0 + 70e6], [1, 10, 3, null, -2, 0, 5, 7], 1],
      [2, [t0 + 5e6, t0 + 65e6, t0 + 3_600e6], [null, 4, 8, 8, 9, 9], 1],
    ]);
    const f = new RollupFolder('raw', MINUTE, [t0 / 1000, t0 / 1000 + 2 * MINUTE]);
    f.push(chunked);
    expect(Buffer.concat(f.finish()!)).toEqual(fold('raw', MINUTE, rawCopy(rows), 1 << 20));
  });

  it('counts a duplicate (series, timestamp, field) once: the newest transaction wins', () => {
    // chunk xid 7 rewrites t0 (field 0 only) and t0+20 s; chunk xid 3 holds the first writes
    const dup = chunkCopy([
      [1, [t0, t0 + 20e6, t0 + 40e6, t0 + 70e6], [1, 10, 3, null, -2, 0, 5, 7], 3],
      [1, [t0, t0 + 20e6], [100, null, 30, 31], 7],
      [2, [t0 + 5e6, t0 + 65e6], [null, 4, 8, 8], 2],
    ]);
    const f = new RollupFolder('raw', MINUTE);
    for (let i = 0; i < dup.length; i += 13) f.push(dup.subarray(i, i + 13));
    const got = Buffer.concat(f.finish()!);
    expect(f.duplicates).toBe(2);
    const expected = rawCopy([
      [1, t0, [100, 10]],
      [1, t0 + 20e6, [30, 31]],
      [1, t0 + 40e6, [-2, 0]],
      [1, t0 + 70e6, [5, 7]],
      [2, t0 + 5e6, [null, 4]],
      [2, t0 + 65e6, [8, 8]],
    ]);
    expect(got).toEqual(fold('raw', MINUTE, expected, 1 << 20));
  });

  it('produces nothing from an empty source, and refuses a truncated one', () => {
    const empty = rawCopy([]);
    const f = new RollupFolder('raw', MINUTE);
    f.push(empty);
    expect(f.finish()).toBeNull();
    const input = rawCopy(rows);
    const g = new RollupFolder('raw', MINUTE);
    g.push(input.subarray(0, input.length - 20));
    expect(() => g.finish()).toThrow(/mid-row/);
  });
});
