import { encodeBinaryCopy } from './metric-store.service.js';
import { RollupFolder } from './rollup-compute.js';

const MINUTE = 60_000;

/** Raw rows as binary COPY: series ids, µs timestamps and one value array per row. */
function rawCopy(rows: Array<[number, number, Array<number | null>]>): Buffer {
  const offsets = new Int32Array(rows.length + 1);
  const vals: number[] = [];
  rows.forEach(([, , v], r) => {
    offsets[r] = vals.length;
    for (const x of v) vals.push(x === null ? NaN : x);
  });
  offsets[rows.length] = vals.length;
  return encodeBinaryCopy(
    Int32Array.from(rows, (_, i) => i),
    Int32Array.from(rows, (_, i) => i),
    Int32Array.from(rows, ([s]) => s),
    Float64Array.from(rows, ([, ts]) => ts),
    offsets,
    Float64Array.from(vals),
    vals.filter((x) => x === x).length,
  );
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
