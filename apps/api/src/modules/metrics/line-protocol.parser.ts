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

function parseLine(
  s: string,
  start: number,
  stop: number,
  line: number,
  precision: Precision,
  nowUs: number,
): LineProtocolPoint | string {
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
  if (i >= stop || s.charCodeAt(i) !== SPACE)
    return 'missing fields (expected a space after the tags)';
  while (i < stop && s.charCodeAt(i) === SPACE) i++;
  // fields
  const fields: Array<[string, number]> = [];
  for (;;) {
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
