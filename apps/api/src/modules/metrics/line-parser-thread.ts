import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { LINE_KEY_HOOKS, type LineMeta } from './line-keys.js';
import {
  LineProtocolReader,
  type LineProtocolError,
  type LineSeries,
  type ReadOptions,
} from './line-protocol.parser.js';
import { SampleColumns, type SetMemo } from './sample-columns.js';

/**
 * Line protocol is parsed on a worker thread: parsing is ~40% of the API's CPU per line, and on
 * the main thread it is what caps one instance's ingest (the event loop saturates first).
 * The body goes over as bytes (transferred, not copied, when it owns its memory); the columns
 * come back as transferred typed arrays. Series keys are described in the worker once and sent
 * to this side once per generation (then by id), so a request carries numbers, not objects.
 */

/** A series key as ingest sees it. */
export interface ParsedSeries {
  measurement: string;
  meta: LineMeta;
  fields: readonly string[];
  /** The store's memo for this key (kept while the key's definition is). */
  memo?: SetMemo;
}

export interface ParsedLines {
  /** Keys used by this request, in `columns.rowSeries` index order. */
  series: ParsedSeries[];
  columns: SampleColumns;
  errors: LineProtocolError[];
  badLines: number;
  badTimestamps: number;
  lines: number;
}

interface ParseRequest {
  id: number;
  gen: number;
  body: Uint8Array;
  o: ReadOptions;
}

interface SeriesDef extends ParsedSeries {
  id: number;
}

type ParseReply =
  | { id: number; error: string }
  | {
      id: number;
      error?: undefined;
      seriesIds: Int32Array;
      defs: SeriesDef[];
      rows: number;
      used: number;
      rowSeries: Int32Array;
      rowTs: Float64Array;
      rowOffset: Int32Array;
      vals: Float64Array;
      errors: LineProtocolError[];
      badLines: number;
      badTimestamps: number;
      lines: number;
    };

/** Series definitions kept on this side before they are dropped and sent again. */
const MAX_KNOWN = 100_000;

/** The worker side: answers parse requests on `port` in order. */
export function serveLineParser(port: {
  on(event: 'message', fn: (m: ParseRequest) => void): void;
  postMessage(m: ParseReply, transfer: ArrayBuffer[]): void;
}): void {
  const reader = new LineProtocolReader<LineMeta>(LINE_KEY_HOOKS);
  const marks = new WeakMap<LineSeries<LineMeta>, { id: number; gen: number; sent: number }>();
  let nextId = 1;
  port.on('message', (m) => {
    try {
      const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      const out = reader.read(body.toString('utf8'), m.o);
      const seriesIds = new Int32Array(out.series.length);
      const defs: SeriesDef[] = [];
      out.series.forEach((s, i) => {
        let mark = marks.get(s);
        if (!mark) marks.set(s, (mark = { id: nextId++, gen: -1, sent: -1 }));
        if (mark.gen !== m.gen || mark.sent !== s.fields.length) {
          defs.push({
            id: mark.id,
            measurement: s.measurement,
            meta: s.meta,
            fields: [...s.fields],
          });
          mark.gen = m.gen;
          mark.sent = s.fields.length;
        }
        seriesIds[i] = mark.id;
      });
      const c = out.columns;
      const arrays = [c.rowSeries, c.rowTs, c.rowOffset, c.vals];
      port.postMessage(
        {
          id: m.id,
          seriesIds,
          defs,
          rows: c.rows,
          used: c.used,
          rowSeries: c.rowSeries,
          rowTs: c.rowTs,
          rowOffset: c.rowOffset,
          vals: c.vals,
          errors: out.errors,
          badLines: out.badLines,
          badTimestamps: out.badTimestamps,
          lines: out.lines,
        },
        [seriesIds.buffer, ...arrays.map((a) => a.buffer as ArrayBuffer)],
      );
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }, []);
    }
  });
}

/** Starts the worker: compiled JavaScript in production, TypeScript (via tsx) from source. */
function spawn(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./line-protocol.worker.js', here));
  const entry = new URL('./line-protocol.worker.ts', here).href;
  return new Worker(
    `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
}

/** The main-thread side: one worker, requests answered in order. */
export class LineParserThread {
  private readonly logger = new Logger('LineParserThread');
  private worker: Worker | null = null;
  private readonly pending = new Map<
    number,
    { resolve: (r: ParsedLines) => void; reject: (e: Error) => void }
  >();
  private readonly known = new Map<number, ParsedSeries>();
  private gen = 0;
  private nextId = 1;
  private closed = false;

  /** Parses one body; the bytes are handed over (the caller must not use `body` after). */
  read(body: Buffer, o: ReadOptions): Promise<ParsedLines> {
    if (this.closed) return Promise.reject(new Error('line-protocol parser is closed'));
    const w = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<ParsedLines>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A Buffer from the shared pool must not be transferred (its neighbours live there too).
      const owns = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      const req: ParseRequest = { id, gen: this.gen, body: bytes, o };
      w.postMessage(req, owns ? [body.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private start(): Worker {
    const w = spawn();
    w.unref();
    w.on('message', (m: ParseReply) => this.answer(m));
    // A dead worker fails what it held; the next request starts a new one.
    const fail = (e: Error) => {
      this.logger.warn(`parser thread stopped: ${e.message}`);
      if (this.worker === w) this.worker = null;
      this.known.clear();
      this.gen++;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const p of waiting) p.reject(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!this.closed) fail(new Error(`line-protocol parser thread exited (${code})`));
    });
    this.worker = w;
    return w;
  }

  private answer(m: ParseReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) {
      p.reject(new Error(`line-protocol parser: ${m.error}`));
      return;
    }
    for (const d of m.defs) {
      this.known.set(d.id, {
        measurement: d.measurement,
        meta: d.meta,
        fields: d.fields,
        memo: {},
      });
    }
    const series: ParsedSeries[] = [];
    for (const id of m.seriesIds) {
      const s = this.known.get(id);
      if (!s) {
        p.reject(new Error(`line-protocol parser: series ${id} was never described`));
        return;
      }
      series.push(s);
    }
    // Definitions are sent once per generation: starting a new one (nothing in flight) makes
    // the worker send every key again, so this map cannot grow without bound.
    if (this.known.size > MAX_KNOWN && this.pending.size === 0) {
      this.known.clear();
      this.gen++;
    }
    p.resolve({
      series,
      columns: SampleColumns.wrap(m.rows, m.used, m.rowSeries, m.rowTs, m.rowOffset, m.vals),
      errors: m.errors,
      badLines: m.badLines,
      badTimestamps: m.badTimestamps,
      lines: m.lines,
    });
  }
}
