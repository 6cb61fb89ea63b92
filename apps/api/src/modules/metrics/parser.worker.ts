import { parentPort } from 'node:worker_threads';
import secureJsonParse from 'secure-json-parse';
import { MetricsBatchSchema } from '@agent-monitor/contracts';
import { zodIssues } from '../../common/zod-issues.js';
import { readPlainBatch } from './json-batch-fast.js';
import { JsonNames, JsonReader } from './json-reader.js';
import { LINE_KEY_HOOKS, type LineMeta } from './line-keys.js';
import { LineProtocolReader, type LineSeries } from './line-protocol.parser.js';
import type {
  ColumnsMsg,
  JsonSeriesDef,
  ParseReply,
  ParseRequest,
  SeriesDef,
} from './parser-thread.js';
import type { SampleColumns } from './sample-columns.js';

// Entry of the ingest parser thread (see ParserThread). Kept apart from ParserThread so the
// thread loads the parsers only, not Nest.

/** JSON series keys remembered before the map starts over (ids are then told again). */
const MAX_JSON_IDS = 100_000;

function columnsMsg(c: SampleColumns): ColumnsMsg {
  return {
    rows: c.rows,
    used: c.used,
    rowSeries: c.rowSeries,
    rowTs: c.rowTs,
    rowOffset: c.rowOffset,
    vals: c.vals,
  };
}

function columnBuffers(c: ColumnsMsg): ArrayBuffer[] {
  return [c.rowSeries, c.rowTs, c.rowOffset, c.vals].map((a) => a.buffer as ArrayBuffer);
}

/** The worker side: answers parse requests on `port` in order. */
function serveParser(port: {
  on(event: 'message', fn: (m: ParseRequest) => void): void;
  postMessage(m: ParseReply, transfer: ArrayBuffer[]): void;
}): void {
  const reader = new LineProtocolReader<LineMeta>(LINE_KEY_HOOKS);
  const marks = new WeakMap<LineSeries<LineMeta>, { id: number; gen: number; sent: number }>();
  const names = new JsonNames();
  let nextId = 1;
  /** JSON batch series (agent, measurement, labels, fields) → id and the generation told. */
  const jsonIds = new Map<string, { id: number; gen: number }>();

  const lineProtocol = (m: Extract<ParseRequest, { kind: 'lp' }>): void => {
    const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const out = reader.read(body.toString('utf8'), m.o);
    const seriesIds = new Int32Array(out.series.length);
    const defs: SeriesDef[] = [];
    out.series.forEach((s, i) => {
      let mark = marks.get(s);
      if (!mark) marks.set(s, (mark = { id: nextId++, gen: -1, sent: -1 }));
      if (mark.gen !== m.gen || mark.sent !== s.fields.length) {
        defs.push({ id: mark.id, measurement: s.measurement, meta: s.meta, fields: [...s.fields] });
        mark.gen = m.gen;
        mark.sent = s.fields.length;
      }
      seriesIds[i] = mark.id;
    });
    const cols = columnsMsg(out.columns);
    port.postMessage(
      {
        id: m.id,
        kind: 'lp',
        seriesIds,
        defs,
        errors: out.errors,
        badLines: out.badLines,
        badTimestamps: out.badTimestamps,
        lines: out.lines,
        ...cols,
      },
      [seriesIds.buffer, ...columnBuffers(cols)],
    );
  };

  const json = (m: Extract<ParseRequest, { kind: 'json' }>): void => {
    const text = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('utf8');
    let value: unknown;
    try {
      // Fastify's own JSON parser (and its defaults): prototype-poisoning keys are refused.
      // Its two regular expressions over the whole body can only match text holding "proto",
      // "constructor" or a \u escape; without them (and without a BOM, which it strips) its
      // answer is JSON.parse's, at a fraction of the cost.
      value =
        text.charCodeAt(0) !== 0xfeff &&
        !text.includes('proto') &&
        !text.includes('constructor') &&
        !text.includes('\\u')
          ? JSON.parse(text)
          : secureJsonParse(text, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      port.postMessage({ id: m.id, kind: 'invalid-json' }, []);
      return;
    }
    // The plain form is read as it is; anything else is validated with the route's schema
    // first (same answers either way: json-batch-fast.spec.ts).
    let read = readPlainBatch(value, names, m.nowMs, m.retentionMs);
    if (!read) {
      const parsed = MetricsBatchSchema.safeParse(value ?? {});
      if (!parsed.success) {
        port.postMessage({ id: m.id, kind: 'invalid', issues: zodIssues(parsed.error) }, []);
        return;
      }
      const samples = parsed.data.samples;
      read = {
        reader: new JsonReader(names, m.nowMs, samples.length, m.retentionMs),
        perAgent: new Map(),
      };
      for (let i = 0; i < samples.length; i++) {
        const x = samples[i];
        read.perAgent.set(x.agentId, (read.perAgent.get(x.agentId) ?? 0) + 1);
        read.reader.add(x.agentId, x.timestamp, x.metrics, i);
      }
    }
    const { reader: r, perAgent } = read;
    if (jsonIds.size > MAX_JSON_IDS) jsonIds.clear();
    const list = r.seriesList;
    const seriesIds = new Int32Array(list.length);
    const jsonDefs: JsonSeriesDef[] = [];
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      const key = `${x.agentId}\u0000${x.measurement}\u0000${x.labels}\u0000${x.fields.join('\u0000')}`;
      let e = jsonIds.get(key);
      if (!e) jsonIds.set(key, (e = { id: nextId++, gen: -1 }));
      if (e.gen !== m.gen) {
        jsonDefs.push({
          id: e.id,
          agentId: x.agentId,
          measurement: x.measurement,
          labels: x.labels,
          fields: [...x.fields],
        });
        e.gen = m.gen;
      }
      seriesIds[i] = e.id;
    }
    const cols = columnsMsg(r.columns);
    const agentSamples = Int32Array.from(perAgent.values());
    port.postMessage(
      {
        id: m.id,
        kind: 'ok',
        seriesIds,
        jsonDefs,
        errors: r.errors,
        badSamples: r.badSamples,
        badTimestamps: r.badTimestamps,
        total: r.total,
        agents: [...perAgent.keys()],
        agentSamples,
        ...cols,
      },
      [seriesIds.buffer, agentSamples.buffer, ...columnBuffers(cols)],
    );
  };

  port.on('message', (m) => {
    try {
      if (m.kind === 'lp') lineProtocol(m);
      else json(m);
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }, []);
    }
  });
}

if (parentPort) serveParser(parentPort);
