/**
 * A hand-written InfluxDB line-protocol parser (the hot path of `POST /write`).
 *
 *   measurement[,tag=value…] field=value[,field=value…] [timestamp]
 *
 * Escapes: `\,` and `\ ` in measurements; `\,` `\=` `\ ` in tag keys, tag values and field keys.
 * Field values: floats (`1`, `-1.5e3`), integers (`12i`), unsigned (`12u`), booleans
 * (`t T true True TRUE f F false False FALSE` → 1/0). Quoted strings are refused: metrics are
 * numbers. A missing timestamp means the server's `now`. Blank lines and `#` comments are
 * skipped. Any bad line rejects the whole body (the caller writes nothing).
 */
import { SampleColumns } from './sample-columns.js';

export type Precision = 'ns' | 'us' | 'ms' | 's';

export interface LineProtocolPoint {
  measurement: string;
  /** In the order written (callers sort). */
  tags: Array<[string, string]>;
  fields: Array<[string, number]>;
  /** Epoch microseconds. */
  tsUs: number;
  /** 1-based line number in the body, for error messages. */
  line: number;
}

export interface LineProtocolError {
  line: number;
  message: string;
}

export interface LineProtocolResult {
  points: LineProtocolPoint[];
  errors: LineProtocolError[];
}

const SPACE = 32;
const COMMA = 44;
const EQ = 61;
const BSL = 92;
const QUOTE = 34;
const CR = 13;
const HASH = 35;
const TAB = 9;

const BOOLS: Record<string, number> = {
  t: 1,
  T: 1,
  true: 1,
  True: 1,
  TRUE: 1,
  f: 0,
  F: 0,
  false: 0,
  False: 0,
  FALSE: 0,
};

/** Converts a timestamp of the given precision to epoch microseconds. */
function toMicros(raw: string, precision: Precision): number | null {
  if (!/^-?\d+$/.test(raw)) return null;
  switch (precision) {
    case 's':
      return Number(raw) * 1_000_000;
    case 'ms':
      return Number(raw) * 1000;
    case 'us':
      return Number(raw);
    case 'ns': {
      // ns timestamps exceed 2^53; cut to µs in decimal before converting.
      const neg = raw.startsWith('-');
      const digits = neg ? raw.slice(1) : raw;
      const us = digits.length > 3 ? Number(digits.slice(0, -3)) : 0;
      return neg ? -us : us;
    }
  }
}

function unescape(s: string, hasEscape: boolean): string {
  return hasEscape ? s.replace(/\\([, =\\])/g, '$1') : s;
}

export function parseLineProtocol(
  body: string,
  precision: Precision = 'ns',
  nowUs: number = Date.now() * 1000,
): LineProtocolResult {
  const points: LineProtocolPoint[] = [];
  const errors: LineProtocolError[] = [];
  const len = body.length;
  let pos = 0;
  let lineNo = 0;
  while (pos < len) {
    lineNo++;
    let end = body.indexOf('\n', pos);
    if (end === -1) end = len;
    let stop = end;
    if (stop > pos && body.charCodeAt(stop - 1) === CR) stop--;
    // skip leading whitespace
    let i = pos;
    while (i < stop && (body.charCodeAt(i) === SPACE || body.charCodeAt(i) === TAB)) i++;
    if (i < stop && body.charCodeAt(i) !== HASH) {
      const r = parseLine(body, i, stop, lineNo, precision, nowUs);
      if (typeof r === 'string') {
        if (errors.length < 100) errors.push({ line: lineNo, message: r });
      } else points.push(r);
    }
    pos = end + 1;
  }
  return { points, errors };
}

interface SeriesKey {
  measurement: string;
  tags: Array<[string, string]>;
  /** index after the key (a space when the line goes on) */
  end: number;
}

/** Reads `measurement[,tag=value…]` from `start`; stops before the first unescaped space. */
function readKey(s: string, start: number, stop: number): SeriesKey | string {
  // measurement: up to an unescaped ',' or ' '
  let i = start;
  let esc = false;
  while (i < stop) {
    const c = s.charCodeAt(i);
    if (c === BSL) {
      esc = true;
      i += 2;
      continue;
    }
    if (c === COMMA || c === SPACE) break;
    i++;
  }
  if (i > stop) i = stop;
  if (i === start) return 'missing measurement';
  const measurement = unescape(s.slice(start, i), esc);
  const tags: Array<[string, string]> = [];
  // tags
  while (i < stop && s.charCodeAt(i) === COMMA) {
    i++;
    const kStart = i;
    esc = false;
    while (i < stop) {
      const c = s.charCodeAt(i);
      if (c === BSL) {
        esc = true;
        i += 2;
        continue;
      }
      if (c === EQ || c === COMMA || c === SPACE) break;
      i++;
    }
    if (i >= stop || s.charCodeAt(i) !== EQ || i === kStart) {
      return `bad tag near column ${kStart - start + 1}: tags look like key=value`;
    }
    const key = unescape(s.slice(kStart, i), esc);
    i++;
    const vStart = i;
    esc = false;
    while (i < stop) {
      const c = s.charCodeAt(i);
      if (c === BSL) {
        esc = true;
        i += 2;
        continue;
      }
      if (c === COMMA || c === SPACE) break;
      if (c === EQ) return `tag "${key}": unescaped "=" in value (write \\=)`;
      i++;
    }
    if (i > stop) i = stop;
    if (i === vStart) return `tag "${key}" has an empty value`;
    tags.push([key, unescape(s.slice(vStart, i), esc)]);
  }
  return { measurement, tags, end: i };
}

function parseLine(
  s: string,
  start: number,
  stop: number,
  line: number,
  precision: Precision,
  nowUs: number,
): LineProtocolPoint | string {
  const key = readKey(s, start, stop);
  if (typeof key === 'string') return key;
  const { measurement, tags } = key;
  let i = key.end;
  if (i >= stop || s.charCodeAt(i) !== SPACE)
    return 'missing fields (expected a space after the tags)';
  while (i < stop && s.charCodeAt(i) === SPACE) i++;
  // fields
  const fields: Array<[string, number]> = [];
  for (;;) {
    const kStart = i;
    let esc = false;
    while (i < stop) {
      const c = s.charCodeAt(i);
      if (c === BSL) {
        esc = true;
        i += 2;
        continue;
      }
      if (c === EQ || c === COMMA || c === SPACE) break;
      i++;
    }
    if (i >= stop || s.charCodeAt(i) !== EQ || i === kStart) {
      return fields.length === 0
        ? 'missing fields: expected field=value'
        : 'bad field: expected field=value';
    }
    const key = unescape(s.slice(kStart, i), esc);
    i++;
    if (i < stop && s.charCodeAt(i) === QUOTE) {
      return `field "${key}" is a string; metric values must be numbers or booleans`;
    }
    const vStart = i;
    while (i < stop) {
      const c = s.charCodeAt(i);
      if (c === COMMA || c === SPACE) break;
      i++;
    }
    const raw = s.slice(vStart, i);
    if (raw === '') return `field "${key}" has no value`;
    const v = fieldValue(raw);
    if (typeof v === 'string') return `field "${key}": ${v}`;
    fields.push([key, v]);
    if (i < stop && s.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    break;
  }
  while (i < stop && s.charCodeAt(i) === SPACE) i++;
  let tsUs = nowUs;
  if (i < stop) {
    const raw = s.slice(i, stop).trimEnd();
    const t = toMicros(raw, precision);
    if (t === null)
      return `bad timestamp "${raw.slice(0, 40)}": expected an integer in ${precision}`;
    tsUs = t;
  }
  return { measurement, tags, fields, tsUs, line };
}

function fieldValue(raw: string): number | string {
  const last = raw.charCodeAt(raw.length - 1);
  if (last === 105 /* i */ || last === 117 /* u */) {
    const digits = raw.slice(0, -1);
    if (!/^[+-]?\d+$/.test(digits)) return `bad integer "${raw}"`;
    if (last === 117 && digits.startsWith('-')) return `unsigned integer "${raw}" is negative`;
    return Number(digits);
  }
  const c0 = raw.charCodeAt(0);
  // Digits, sign or dot: a float. Number() is the fast path; it also reads 0x/0b/0o and
  // surrounding whitespace, which line protocol does not allow, so those are refused first.
  if ((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) {
    const c1 = raw.length > 1 ? raw.charCodeAt(1) | 32 : 0;
    if (!(c0 === 48 && (c1 === 120 || c1 === 98 || c1 === 111))) {
      const n = +raw;
      if (Number.isFinite(n)) return n;
      if (n === Infinity || n === -Infinity) return `"${raw.slice(0, 40)}" is not a finite number`;
    }
    return `"${raw.slice(0, 40)}" is not a number`;
  }
  const b = BOOLS[raw];
  if (b !== undefined) return b;
  return `"${raw.slice(0, 40)}" is not a number`;
}

// ------------------------------------------------------------------ column-wise reader

/**
 * One series key (`measurement,tag=v,…` as written) as the reader knows it. Cached across
 * requests: agents send the same keys batch after batch, so a line's key costs one Map lookup
 * on its raw text, and its field keys are matched in place against the order seen last time.
 */
export interface LineSeries<M> {
  measurement: string;
  /** In the order written. */
  tags: Array<[string, string]>;
  /** What the caller made of the key (see LineReaderHooks.describe). */
  meta: M;
  /** Problems of the key itself (bad names, no agent tag), reported on every line using it. */
  errors: string[];
  /** Field name of each column. */
  fields: string[];
  /** Escaped field-key text of each column. */
  rawKeys: string[];
  /** Problem with a column's field name (reported on every line using it), else null. */
  fieldErrors: Array<string | null>;
  rawCols: Map<string, number>;
  nameCols: Map<string, number>;
  /** Column of the n-th field in the last line read: the guess for the next line. */
  order: number[];
  /** The key as written (fast-path keys), and the next key with the same hash. */
  raw: string;
  sameHash: LineSeries<M> | undefined;
  /** Request that last used this key, and its index in that request's series list. */
  batchNo: number;
  batchIdx: number;
}

export interface LineReaderHooks<M> {
  /** Called once per distinct key: what it means (meta) and what is wrong with it. */
  describe(measurement: string, tags: Array<[string, string]>): { meta: M; errors: string[] };
  /** Called once per distinct field name of a key: a message when the name is refused. */
  checkField(name: string): string | null;
}

export interface ReadOptions {
  precision: Precision;
  nowUs: number;
  /** Timestamps outside [minUs, maxUs] are refused per line. */
  minUs: number;
  maxUs: number;
  futureMessage: string;
  oldMessage: string;
  /** Error messages kept (the count goes on). */
  maxErrors: number;
}

export interface LineColumns<M> {
  /** Keys used by this request, in `rowSeries` index order. */
  series: Array<LineSeries<M>>;
  columns: SampleColumns;
  /** First errors (up to maxErrors) with their 1-based line numbers. */
  errors: LineProtocolError[];
  /** Lines with at least one problem. */
  badLines: number;
  /** Of those, lines whose only problem is their timestamp (too new or too old). */
  badTimestamps: number;
  /** Lines read (good and bad). */
  lines: number;
}

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
  1e18, 1e19, 1e20, 1e21, 1e22,
];

/** Value read by `fastNumber`. */
let NUM = 0;

/**
 * The common number forms (`-12`, `3.25`, `1.5e3`, `42i`, `7u`) read straight from the char
 * codes, ending at `,`, ` ` or `stop`; returns the end index and sets NUM, or -1 when anything
 * is unusual and `fieldValue` must decide. Exact: at most 15 significant digits and a power
 * of ten up to 1e22 are both exact doubles, so one multiplication or division rounds
 * correctly, giving the same double as Number().
 */
function fastNumber(s: string, i: number, stop: number): number {
  let j = i;
  let neg = false;
  let c = s.charCodeAt(j);
  if (c === 45) {
    neg = true;
    c = s.charCodeAt(++j);
  }
  let m = 0;
  const d0 = j;
  while (j < stop && c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    c = s.charCodeAt(++j);
  }
  let digits = j - d0;
  let exp = 0;
  let plain = true;
  if (j < stop && c === 46) {
    plain = false;
    c = s.charCodeAt(++j);
    const f0 = j;
    while (j < stop && c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      c = s.charCodeAt(++j);
    }
    exp = f0 - j;
    digits += j - f0;
  }
  if (digits === 0 || digits > 15) return -1;
  if (j < stop && (c === 101 || c === 69)) {
    plain = false;
    c = s.charCodeAt(++j);
    let eneg = false;
    if (c === 45 || c === 43) {
      eneg = c === 45;
      c = s.charCodeAt(++j);
    }
    let e = 0;
    const e0 = j;
    while (j < stop && c >= 48 && c <= 57 && j - e0 < 4) {
      e = e * 10 + (c - 48);
      c = s.charCodeAt(++j);
    }
    if (j === e0) return -1;
    exp += eneg ? -e : e;
  }
  if (j < stop) {
    if (c === 105 || c === 117) {
      // 12i / 12u: integers only; a negative unsigned goes to the slow path for its message
      if (!plain || (c === 117 && neg)) return -1;
      c = s.charCodeAt(++j);
    }
    if (j < stop && c !== COMMA && c !== SPACE) return -1;
  }
  let v: number;
  if (exp === 0) v = m;
  else if (exp < 0 && exp >= -22) v = m / POW10[-exp];
  else if (exp > 0 && exp <= 22) v = m * POW10[exp];
  else return -1;
  NUM = neg ? -v : v;
  return j;
}

const MAX_CACHED_KEYS = 50_000;
const MAX_FIELDS_PER_KEY = 1000;

/** Where a (possibly sliced) read of one body is. */
interface ReadState<M> {
  body: string;
  o: ReadOptions;
  batchNo: number;
  /** Position of the next backslash (-1: none). */
  nextBsl: number;
  pos: number;
  lineNo: number;
  out: LineColumns<M>;
}

/** A copy that does not keep the request body alive (V8 slices point into their parent). */
function own(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * Reads line protocol into columns (SampleColumns) in one pass over the char codes: no object
 * per line or field. Lines the fast path does not fully understand (errors, booleans,
 * unusual numbers) go through the reference parser above, so both agree on every input.
 */
export class LineProtocolReader<M> {
  /** Keys by hash of their raw text (collisions chained through `sameHash`). */
  private readonly keys = new Map<string, LineSeries<M>>();
  /** Position of the next backslash in the body being read (-1: none). */
  private nextBsl = -1;
  private keyCount = 0;
  /** Keys of lines read by the reference parser, by measurement and tags. */
  private readonly slowKeys = new Map<string, LineSeries<M>>();
  private batchNo = 0;

  constructor(private readonly hooks: LineReaderHooks<M>) {}

  /** Reads a whole body at once. */
  read(body: string, o: ReadOptions): LineColumns<M> {
    const st = this.begin(body, o);
    this.advance(st, Infinity);
    return st.out;
  }

  private begin(body: string, o: ReadOptions): ReadState<M> {
    if (this.keyCount + this.slowKeys.size > MAX_CACHED_KEYS) {
      this.keys.clear();
      this.keyCount = 0;
      this.slowKeys.clear();
    }
    // ~200 bytes per typical line; the arrays grow when lines are shorter.
    const cols = new SampleColumns(Math.min(16_384, (body.length >> 7) + 16));
    return {
      body,
      o,
      batchNo: ++this.batchNo,
      nextBsl: body.indexOf('\\'),
      pos: 0,
      lineNo: 0,
      out: { series: [], columns: cols, errors: [], badLines: 0, badTimestamps: 0, lines: 0 },
    };
  }

  /** Reads up to `maxLines` more lines; true when the body is done. */
  private advance(st: ReadState<M>, maxLines: number): boolean {
    const { body, o, out, batchNo } = st;
    const len = body.length;
    let pos = st.pos;
    let lineNo = st.lineNo;
    const until = lineNo + maxLines;
    this.nextBsl = st.nextBsl;
    while (pos < len && lineNo < until) {
      lineNo++;
      let end = body.indexOf('\n', pos);
      if (end === -1) end = len;
      let stop = end;
      if (stop > pos && body.charCodeAt(stop - 1) === CR) stop--;
      let i = pos;
      let c = body.charCodeAt(i);
      while (i < stop && (c === SPACE || c === TAB)) c = body.charCodeAt(++i);
      if (i < stop && c !== HASH) {
        out.lines++;
        if (!this.fast(body, i, stop, lineNo, o, out, batchNo)) {
          this.slow(body, i, stop, lineNo, o, out, batchNo);
        }
      }
      pos = end + 1;
    }
    st.pos = pos;
    st.lineNo = lineNo;
    st.nextBsl = this.nextBsl;
    return pos >= len;
  }

  /** The fast path; false (with nothing added) when the reference parser must read the line. */
  private fast(
    s: string,
    start: number,
    stop: number,
    lineNo: number,
    o: ReadOptions,
    out: LineColumns<M>,
    batchNo: number,
  ): boolean {
    // 1. The key: up to the first unescaped space, looked up by its text (native search,
    //    hashing and comparison; escapes, rare, take the char-by-char scan).
    let k: number;
    if (this.nextBsl !== -1 && this.nextBsl < start) this.nextBsl = s.indexOf('\\', start);
    k = s.indexOf(' ', start);
    if (k === -1 || k > stop) k = stop;
    if (this.nextBsl !== -1 && this.nextBsl < k) {
      k = start;
      while (k < stop) {
        const c = s.charCodeAt(k);
        if (c === BSL) {
          k += 2;
          continue;
        }
        if (c === SPACE) break;
        k++;
      }
    }
    if (k >= stop) return false;
    const rawKey = s.slice(start, k);
    let ser = this.keys.get(rawKey);
    if (ser === undefined) {
      const key = readKey(s, start, k);
      if (typeof key === 'string' || key.end !== k) return false;
      ser = this.newSeries(
        own(key.measurement),
        key.tags.map(([t, v]) => [own(t), own(v)]),
      );
      this.keys.set(own(rawKey), ser);
      this.keyCount++;
    }
    let i = k + 1;
    while (i < stop && s.charCodeAt(i) === SPACE) i++;
    // 2. Fields, matched against the column order of the key's last line.
    const cols = out.columns;
    const idx = ser.batchNo === batchNo ? ser.batchIdx : out.series.length;
    const off = cols.begin(idx, ser.fields.length);
    const order = ser.order;
    let nth = 0;
    let fieldError: string | null = null;
    for (;;) {
      let col = -1;
      if (nth < order.length) {
        const guess = order[nth];
        const rk = ser.rawKeys[guess];
        const n = rk.length;
        if (i + n < stop && s.charCodeAt(i + n) === EQ && s.startsWith(rk, i)) {
          col = guess;
          i += n + 1;
        }
      }
      if (col < 0) {
        const kStart = i;
        let esc = false;
        while (i < stop) {
          const c = s.charCodeAt(i);
          if (c === BSL) {
            esc = true;
            i += 2;
            continue;
          }
          if (c === EQ || c === COMMA || c === SPACE) break;
          i++;
        }
        if (i >= stop || s.charCodeAt(i) !== EQ || i === kStart) {
          cols.discard(off);
          return false;
        }
        const raw = s.slice(kStart, i);
        col = ser.rawCols.get(raw) ?? this.newColumn(ser, raw, esc);
        if (col < 0) {
          cols.discard(off);
          return false;
        }
        i++;
        if (nth < order.length) order[nth] = col;
        else order.push(col);
        cols.widen(off, ser.fields.length);
      }
      const e = fastNumber(s, i, stop);
      if (e < 0) {
        // Booleans and rarer forms: the reference rules, on this value only.
        if (i >= stop || s.charCodeAt(i) === QUOTE) {
          cols.discard(off);
          return false;
        }
        const vStart = i;
        while (i < stop) {
          const c = s.charCodeAt(i);
          if (c === COMMA || c === SPACE) break;
          i++;
        }
        const v = i > vStart ? fieldValue(s.slice(vStart, i)) : '';
        if (typeof v === 'string') {
          cols.discard(off);
          return false;
        }
        cols.vals[off + col] = v;
      } else {
        cols.vals[off + col] = NUM;
        i = e;
      }
      if (fieldError === null) fieldError = ser.fieldErrors[col];
      nth++;
      if (i < stop && s.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // 3. The timestamp.
    while (i < stop && s.charCodeAt(i) === SPACE) i++;
    let tsUs = o.nowUs;
    if (i < stop) {
      const t0 = i;
      let c = s.charCodeAt(i);
      while (i < stop && c >= 48 && c <= 57) c = s.charCodeAt(++i);
      const t1 = i;
      while (i < stop && s.charCodeAt(i) === SPACE) i++;
      const keep = o.precision === 'ns' ? t1 - t0 - 3 : t1 - t0;
      if (i < stop || t1 === t0 || keep > 16) {
        cols.discard(off);
        return false;
      }
      let v = 0;
      for (let j = t0; j < t0 + keep; j++) v = v * 10 + (s.charCodeAt(j) - 48);
      if (v > Number.MAX_SAFE_INTEGER) {
        cols.discard(off);
        return false;
      }
      tsUs = o.precision === 's' ? v * 1_000_000 : o.precision === 'ms' ? v * 1000 : v;
    }
    this.finish(ser, off, tsUs, lineNo, o, out, batchNo, fieldError);
    return true;
  }

  /** A line the fast path left: the reference parser decides, the columns take its result. */
  private slow(
    s: string,
    start: number,
    stop: number,
    lineNo: number,
    o: ReadOptions,
    out: LineColumns<M>,
    batchNo: number,
  ): void {
    const p = parseLine(s, start, stop, lineNo, o.precision, o.nowUs);
    if (typeof p === 'string') {
      out.badLines++;
      if (out.errors.length < o.maxErrors) out.errors.push({ line: lineNo, message: p });
      return;
    }
    const slowKey = `${p.measurement}\u0000${p.tags.map(([k, v]) => `${k}\u0001${v}`).join('\u0002')}`;
    let ser = this.slowKeys.get(slowKey);
    if (ser === undefined) {
      ser = this.newSeries(
        own(p.measurement),
        p.tags.map(([k, v]) => [own(k), own(v)]),
      );
      this.slowKeys.set(own(slowKey), ser);
    }
    const cols = out.columns;
    const idx = ser.batchNo === batchNo ? ser.batchIdx : out.series.length;
    const off = cols.begin(idx, ser.fields.length);
    let fieldError: string | null = null;
    for (const [name, v] of p.fields) {
      let col = ser.nameCols.get(name);
      if (col === undefined) {
        col = this.addColumn(ser, own(name), own(name));
        if (col < 0) {
          cols.discard(off);
          out.badLines++;
          if (out.errors.length < o.maxErrors)
            out.errors.push({ line: lineNo, message: 'too many distinct fields in one series' });
          return;
        }
        cols.widen(off, ser.fields.length);
      }
      cols.vals[off + col] = v;
      if (fieldError === null) fieldError = ser.fieldErrors[col];
    }
    this.finish(ser, off, p.tsUs, lineNo, o, out, batchNo, fieldError);
  }

  /** Checks the row's key, field names and timestamp; keeps it or reports the line. */
  private finish(
    ser: LineSeries<M>,
    off: number,
    tsUs: number,
    lineNo: number,
    o: ReadOptions,
    out: LineColumns<M>,
    batchNo: number,
    fieldError: string | null,
  ): void {
    const cols = out.columns;
    const future = tsUs > o.maxUs;
    const old = tsUs < o.minUs;
    if (ser.errors.length || future || old || fieldError !== null) {
      out.badLines++;
      if (!ser.errors.length && fieldError === null) out.badTimestamps++;
      const add = (message: string) => {
        if (out.errors.length < o.maxErrors) out.errors.push({ line: lineNo, message });
      };
      for (const m of ser.errors) add(m);
      if (future) add(o.futureMessage);
      else if (old) add(o.oldMessage);
      if (fieldError !== null) {
        // every refused field of the line
        const width = cols.used - off;
        for (let j = 0; j < width; j++) {
          const e = ser.fieldErrors[j];
          const v = cols.vals[off + j];
          if (e !== null && v === v) add(e);
        }
      }
      cols.discard(off);
      return;
    }
    if (ser.batchNo !== batchNo) {
      ser.batchNo = batchNo;
      ser.batchIdx = out.series.length;
      out.series.push(ser);
    }
    cols.commit(tsUs);
  }

  private newSeries(measurement: string, tags: Array<[string, string]>): LineSeries<M> {
    const d = this.hooks.describe(measurement, tags);
    return {
      measurement,
      tags,
      meta: d.meta,
      errors: d.errors,
      fields: [],
      rawKeys: [],
      fieldErrors: [],
      rawCols: new Map(),
      nameCols: new Map(),
      order: [],
      raw: '',
      sameHash: undefined,
      batchNo: 0,
      batchIdx: 0,
    };
  }

  private newColumn(ser: LineSeries<M>, raw: string, esc: boolean): number {
    const name = unescape(raw, esc);
    const known = ser.nameCols.get(name);
    if (known !== undefined) {
      ser.rawCols.set(own(raw), known);
      return known;
    }
    return this.addColumn(ser, own(name), own(raw));
  }

  private addColumn(ser: LineSeries<M>, name: string, raw: string): number {
    if (ser.fields.length >= MAX_FIELDS_PER_KEY) return -1;
    const col = ser.fields.length;
    ser.fields.push(name);
    ser.rawKeys.push(raw);
    ser.fieldErrors.push(this.hooks.checkField(name));
    ser.rawCols.set(raw, col);
    ser.nameCols.set(name, col);
    return col;
  }
}
