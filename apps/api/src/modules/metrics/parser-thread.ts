import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import type { FieldIssue } from '../../common/zod-issues.js';
import type { SampleError } from './json-reader.js';
import type { LineMeta } from './line-keys.js';
import type { LineProtocolError, ReadOptions } from './line-protocol.parser.js';
import { SampleColumns, type BatchSeries, type SetMemo } from './sample-columns.js';

/**
 * Ingest bodies are parsed on a worker thread: line protocol (parsing is ~40% of the API's CPU
 * per line) and JSON batches (JSON.parse, the contract schema and the column reader are ~50%).
 * On the main thread that work is what caps one instance's ingest (the event loop saturates
 * first). The body goes over as bytes (transferred, not copied, when it owns its memory); the
 * columns come back as transferred typed arrays. Line-protocol series keys are described in the
 * worker once and sent to this side once per generation (then by id), so a request carries
 * numbers, not objects.
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

export type ParseRequest =
  | { kind: 'lp'; id: number; gen: number; body: Uint8Array; o: ReadOptions }
  | { kind: 'json'; id: number; gen: number; body: Uint8Array; nowMs: number; retentionMs: number };

/** A JSON batch read on the parser thread. */
export type ParsedJson =
  /** not JSON (or JSON with `__proto__`/`constructor` keys): what Fastify's parser refuses */
  | { kind: 'invalid-json' }
  /** not a MetricsBatch: the contract schema's issues */
  | { kind: 'invalid'; issues: FieldIssue[] }
  | ({ kind: 'ok'; columns: SampleColumns; series: BatchSeries[] } & JsonBatch);

/** What the thread made of a valid JSON batch, besides its columns and series. */
interface JsonBatch {
  errors: SampleError[];
  badSamples: number;
  badTimestamps: number;
  total: number;
  /** Distinct agent ids and how many samples each has. */
  agents: string[];
  agentSamples: Int32Array;
}

export interface ColumnsMsg {
  rows: number;
  used: number;
  rowSeries: Int32Array;
  rowTs: Float64Array;
  rowOffset: Int32Array;
  vals: Float64Array;
}

type JsonReply =
  | { id: number; error?: undefined; kind: 'invalid-json' }
  | { id: number; error?: undefined; kind: 'invalid'; issues: FieldIssue[] }
  | ({
      id: number;
      error?: undefined;
      kind: 'ok';
      /** Series of the batch by id; `jsonDefs` describes the ones this side has not seen. */
      seriesIds: Int32Array;
      jsonDefs: JsonSeriesDef[];
    } & JsonBatch &
      ColumnsMsg);

export interface SeriesDef extends ParsedSeries {
  id: number;
}

/** A JSON batch series (agent, measurement, labels, fields in column order) and its id. */
export interface JsonSeriesDef {
  id: number;
  agentId: string;
  measurement: string;
  labels: string;
  fields: string[];
}

type LineReply = {
  id: number;
  error?: undefined;
  kind: 'lp';
  seriesIds: Int32Array;
  defs: SeriesDef[];
  errors: LineProtocolError[];
  badLines: number;
  badTimestamps: number;
  lines: number;
} & ColumnsMsg;

export type ParseReply = { id: number; error: string } | LineReply | JsonReply;

function unwrapColumns(m: ColumnsMsg): SampleColumns {
  return SampleColumns.wrap(m.rows, m.used, m.rowSeries, m.rowTs, m.rowOffset, m.vals);
}

/** Series definitions kept on this side before they are dropped and sent again. */
const MAX_KNOWN = 100_000;

/** Starts the worker: compiled JavaScript in production, TypeScript (via tsx) from source. */
function spawn(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./parser.worker.js', here));
  const entry = new URL('./parser.worker.ts', here).href;
  return new Worker(
    `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
}

/** The main-thread side: one worker, requests answered in order. */
export class ParserThread {
  private readonly logger = new Logger('ParserThread');
  private worker: Worker | null = null;
  private readonly pending = new Map<
    number,
    { resolve: (r: LineReply | JsonReply) => void; reject: (e: Error) => void }
  >();
  private readonly known = new Map<number, ParsedSeries>();
  /** JSON batch series by id: kept across requests, so the store's memo works for them too. */
  private readonly knownJson = new Map<number, BatchSeries>();
  private gen = 0;
  private nextId = 1;
  private closed = false;

  /** Parses one line-protocol body; the bytes are handed over (not usable after). */
  async read(body: Buffer, o: ReadOptions): Promise<ParsedLines> {
    const m = (await this.send(body, (id) => ({
      kind: 'lp',
      id,
      gen: this.gen,
      body: bytesOf(body),
      o,
    }))) as LineReply;
    const series: ParsedSeries[] = [];
    for (const id of m.seriesIds) {
      const s = this.known.get(id);
      if (!s) throw new Error(`line-protocol parser: series ${id} was never described`);
      series.push(s);
    }
    return {
      series,
      columns: unwrapColumns(m),
      errors: m.errors,
      badLines: m.badLines,
      badTimestamps: m.badTimestamps,
      lines: m.lines,
    };
  }

  /**
   * Parses and validates a JSON batch body (MetricsBatchSchema, the route's contract) and reads
   * its samples into columns; the bytes are handed over.
   */
  async readJson(body: Buffer, nowMs: number, retentionMs: number): Promise<ParsedJson> {
    const m = (await this.send(body, (id) => ({
      kind: 'json',
      id,
      gen: this.gen,
      body: bytesOf(body),
      nowMs,
      retentionMs,
    }))) as JsonReply;
    if (m.kind !== 'ok') return m;
    const series: BatchSeries[] = [];
    for (const id of m.seriesIds) {
      const s = this.knownJson.get(id);
      if (!s) throw new Error(`JSON parser: series ${id} was never described`);
      series.push(s);
    }
    return {
      kind: 'ok',
      series,
      columns: unwrapColumns(m),
      errors: m.errors,
      badSamples: m.badSamples,
      badTimestamps: m.badTimestamps,
      total: m.total,
      agents: m.agents,
      agentSamples: m.agentSamples,
    };
  }

  private send(body: Buffer, req: (id: number) => ParseRequest): Promise<LineReply | JsonReply> {
    if (this.closed) return Promise.reject(new Error('parser thread is closed'));
    const w = this.worker ?? this.start();
    // Definitions are sent once per generation: starting a new one (nothing in flight) makes
    // the worker send every key again, so the map of known keys cannot grow without bound.
    if (this.known.size + this.knownJson.size > MAX_KNOWN && this.pending.size === 0) {
      this.known.clear();
      this.knownJson.clear();
      this.gen++;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A Buffer from the shared pool must not be transferred (its neighbours live there too).
      const owns = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      w.postMessage(req(id), owns ? [body.buffer as ArrayBuffer] : []);
    });
  }

  /** Starts the worker now rather than on the first request (it takes a few hundred ms). */
  warm(): void {
    if (!this.closed && !this.worker) this.start();
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
      this.knownJson.clear();
      this.gen++;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const p of waiting) p.reject(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!this.closed) fail(new Error(`parser thread exited (${code})`));
    });
    this.worker = w;
    return w;
  }

  private answer(m: ParseReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) {
      p.reject(new Error(`parser thread: ${m.error}`));
      return;
    }
    if (m.kind === 'ok') {
      for (const d of m.jsonDefs) {
        this.knownJson.set(d.id, {
          agentId: d.agentId,
          measurement: d.measurement,
          labels: d.labels,
          fields: d.fields,
          memo: {},
        });
      }
    }
    if (m.kind === 'lp') {
      // Definitions arrive in reply order: take them in before anything reads the map.
      for (const d of m.defs) {
        this.known.set(d.id, {
          measurement: d.measurement,
          meta: d.meta,
          fields: d.fields,
          memo: {},
        });
      }
    }
    p.resolve(m);
  }
}

function bytesOf(body: Buffer): Uint8Array {
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}
