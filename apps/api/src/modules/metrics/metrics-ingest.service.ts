import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import type { Counter } from 'prom-client';
import {
  formatLabels,
  parseMetricName,
  type IngestResult,
  type LineProtocolQuery,
  type MetricsBatch,
  type SubmitMetrics,
} from '@agent-monitor/contracts';
import { canActForAgent, type Principal } from '../../common/access.js';
import { badRequest, forbidden, notFound } from '../../common/errors.js';
import { InternalEvent, type IngestedBatch } from '../../common/events.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { isUuid } from '../groups/group-membership.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import { LatestMetricsCache } from './latest-metrics.cache.js';
import { LineParserThread, type ParsedSeries } from './line-parser-thread.js';
import { MetricStore, type PhaseTimer } from './metric-store.service.js';
import { MetricsLiveService } from './metrics-live.service.js';
import { SampleColumns, type BatchSeries, type SampleBatch } from './sample-columns.js';

export interface SampleError {
  /** 0-based sample index (JSON) */
  index?: number;
  /** 1-based line number (line protocol) */
  line?: number;
  message: string;
}

/** Why samples were refused (label of `am_ingest_rejected_samples_total`). */
export type RejectReason =
  | 'validation'
  | 'timestamp'
  | 'unknown_agent'
  | 'forbidden'
  /** good samples of a batch refused because of other samples in it */
  | 'batch_rejected';

const FUTURE_LIMIT_MS = 10 * 60_000;
const MAX_ERRORS = 100;
const FUTURE_MESSAGE = 'timestamp is more than 10 minutes in the future';
const OLD_MESSAGE = 'timestamp is older than the raw retention';

/** A JSON metric name, parsed once: its series group and field, or why it is refused. */
interface JsonName {
  measurement: string;
  labels: string;
  /** `measurement\0labels` */
  group: string;
  field: string;
}

interface JsonSeries extends BatchSeries {
  fields: string[];
  idx: number;
  cols: Map<string, number>;
}

const MAX_CACHED_NAMES = 20_000;
/** How long an agent id found in the database is trusted without asking again. */
const AGENT_CACHE_MS = 30_000;

/** Accumulates wall time per phase of one request into a counter (seconds). */
class Stopwatch implements PhaseTimer {
  private t = process.hrtime.bigint();
  constructor(private readonly sink: Counter<'phase'> | null) {}
  lap(phase: string): void {
    const now = process.hrtime.bigint();
    this.sink?.inc({ phase }, Number(now - this.t) / 1e9);
    this.t = now;
  }
}

/**
 * Ingest: validates a whole batch first (a rejected batch writes nothing), stores it, and
 * only then updates the hot cache, live sockets and the internal event bus.
 *
 * Both forms are read into columns (SampleColumns: typed arrays, no object per sample): line
 * protocol on a parser thread (LineParserThread; series keys and field layouts cached across
 * requests), JSON sample by sample with parsed metric names cached.
 */
@Injectable()
export class MetricsIngestService implements OnModuleDestroy {
  private readonly logger = new Logger('MetricsIngest');
  private readonly lp = new LineParserThread();
  private readonly names = new Map<string, JsonName | string>();
  /** Agent id → until when it is known to exist. */
  private readonly agentIds = new Map<string, number>();
  private readonly asking = new Map<string, Promise<string[]>>();
  private readonly rejected: Counter<'reason'> | null;
  private readonly phases: Counter<'phase'> | null;

  constructor(
    private readonly store: MetricStore,
    private readonly agents: AgentsService,
    private readonly latest: LatestMetricsCache,
    private readonly live: MetricsLiveService,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: MetricsRegistry,
  ) {
    this.rejected = metrics?.rejectedSamples ?? null;
    this.phases =
      metrics?.counter({
        name: 'am_ingest_phase_seconds_total',
        help: 'Wall time spent by metric ingest requests per phase (parse, resolve, sets, encode, connect, commit; publish runs after the reply).',
        labelNames: ['phase'] as const,
      }) ?? null;
  }

  async onModuleDestroy(): Promise<void> {
    await this.lp.close();
  }

  async ingestOne(agentId: string, body: SubmitMetrics): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const found = await this.knownIds([agentId]);
    if (!found.size) {
      this.reject({ unknown_agent: 1 });
      throw notFound('Agent', agentId);
    }
    const json = new JsonReader(this, Date.now(), 1);
    json.add(agentId, body.timestamp, body.metrics, 0);
    json.throwIfErrors();
    timer.lap('parse');
    return this.commit(json.batch(), 1, timer);
  }

  async ingestBatch(principal: Principal, body: MetricsBatch): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const samples = body.samples;
    const ids = [...new Set(samples.map((s) => s.agentId))];
    const denied = ids.filter((id) => !canActForAgent(principal, id));
    if (denied.length) {
      this.rejectAgents(samples, new Set(denied), 'forbidden');
      throw forbidden(
        `Not allowed to write metrics for agent(s): ${denied.slice(0, 20).join(', ')}`,
      );
    }
    const known = await this.knownIds(ids);
    const unknown = ids.filter((id) => !known.has(id));
    timer.lap('resolve');
    if (unknown.length) {
      this.rejectAgents(samples, new Set(unknown), 'unknown_agent');
      throw badRequest(`Unknown agent(s): ${unknown.slice(0, 20).join(', ')}`, {
        unknownAgents: unknown,
      });
    }
    const json = new JsonReader(this, Date.now(), samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      json.add(s.agentId, s.timestamp, s.metrics, i);
    }
    json.throwIfErrors();
    timer.lap('parse');
    return this.commit(json.batch(), samples.length, timer);
  }

  /** `body` (the request's bytes) is handed to the parser thread: not usable after. */
  async ingestLineProtocol(
    principal: Principal,
    body: Buffer,
    q: LineProtocolQuery,
  ): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const nowMs = Date.now();
    const read = await this.lp.read(body, {
      precision: q.precision,
      nowUs: nowMs * 1000,
      minUs: (nowMs - this.config.RETENTION_RAW) * 1000,
      maxUs: (nowMs + FUTURE_LIMIT_MS) * 1000,
      futureMessage: FUTURE_MESSAGE,
      oldMessage: OLD_MESSAGE,
      maxErrors: MAX_ERRORS,
    });
    timer.lap('parse');
    if (!read.lines) throw badRequest('The body holds no lines');
    if (read.badLines) {
      this.reject({
        validation: read.badLines - read.badTimestamps,
        timestamp: read.badTimestamps,
        batch_rejected: read.lines - read.badLines,
      });
      throwErrors(read.errors, read.badLines);
    }
    const series = read.series;
    const cols = read.columns;
    const refs = [...new Set(series.map((s) => s.meta.ref!))];
    const resolved = await this.resolveRefs(refs);
    timer.lap('resolve');
    const unknown = refs.filter((r) => !resolved.has(r));
    if (unknown.length) {
      this.rejectLines(series, cols, (s) => !resolved.has(s.meta.ref!), 'unknown_agent');
      throw badRequest(
        `Unknown agent(s): ${unknown.slice(0, 20).join(', ')} (register them first)`,
        { unknownAgents: unknown },
      );
    }
    const agentIds = new Set(resolved.values());
    const denied = [...agentIds].filter((id) => !canActForAgent(principal, id));
    if (denied.length) {
      const no = new Set(denied);
      this.rejectLines(series, cols, (s) => no.has(resolved.get(s.meta.ref!)!), 'forbidden');
      throw forbidden(
        `Not allowed to write metrics for agent(s): ${denied.slice(0, 20).join(', ')}`,
      );
    }
    const batchSeries: BatchSeries[] = series.map((s) => ({
      agentId: resolved.get(s.meta.ref!)!,
      measurement: s.measurement,
      labels: s.meta.labels,
      fields: s.fields,
      memo: s.memo,
    }));
    return this.commit(cols.batch(batchSeries), cols.rows, timer);
  }

  /**
   * Agent references of line protocol → agent ids. Ids are checked by primary key (cached);
   * names and hosts, and ids that are not agents, take AgentsService.resolveRefs.
   */
  private async resolveRefs(refs: string[]): Promise<Map<string, string>> {
    const ids = refs.filter(isUuid);
    const known = ids.length ? await this.knownIds(ids) : new Set<string>();
    const out = new Map<string, string>();
    for (const id of known) out.set(id, id);
    const rest = refs.filter((r) => !known.has(r));
    if (rest.length) for (const [r, id] of await this.agents.resolveRefs(rest)) out.set(r, id);
    return out;
  }

  /** The ids among `ids` that are live agents (positive answers cached for a few seconds). */
  private async knownIds(ids: string[]): Promise<Set<string>> {
    const now = Date.now();
    const out = new Set<string>();
    const ask: string[] = [];
    for (const id of ids) {
      const until = this.agentIds.get(id);
      if (until !== undefined && until > now) out.add(id);
      else ask.push(id);
    }
    if (ask.length) {
      // Concurrent requests asking for the same ids share one query.
      const key = ask.join(',');
      let pending = this.asking.get(key);
      if (!pending) {
        pending = this.agents.existingIds(ask);
        this.asking.set(key, pending);
        void pending.finally(() => this.asking.delete(key)).catch(() => undefined);
      }
      for (const id of await pending) {
        out.add(id);
        this.markKnown(id);
      }
    }
    return out;
  }

  /** A just-registered agent usually sends metrics next: no lookup for its first batch. */
  @OnEvent(InternalEvent.AgentRegistered)
  onAgentRegistered(e: { agentId: string }): void {
    this.markKnown(e.agentId);
  }

  /** Trusts `id` as an existing agent for AGENT_CACHE_MS (the cache is bounded). */
  private markKnown(id: string): void {
    if (this.agentIds.size > 100_000) this.agentIds.clear();
    this.agentIds.set(id, Date.now() + AGENT_CACHE_MS);
  }

  @OnEvent(InternalEvent.AgentDeleted)
  onAgentDeleted(e: { agentId: string }): void {
    this.agentIds.delete(e.agentId);
  }

  /** A parsed JSON metric name (cached: agents send the same names every time). */
  jsonName(name: string): JsonName | string {
    let n = this.names.get(name);
    if (n === undefined) {
      const p = parseMetricName(name);
      if (typeof p === 'string') n = p;
      else {
        const labels = formatLabels(p.labels);
        n = {
          measurement: p.measurement,
          labels,
          group: `${p.measurement}\u0000${labels}`,
          field: p.field,
        };
      }
      if (this.names.size >= MAX_CACHED_NAMES) this.names.clear();
      this.names.set(name, n);
    }
    return n;
  }

  get retentionMs(): number {
    return this.config.RETENTION_RAW;
  }

  /** Counts refused samples by reason. */
  reject(counts: Partial<Record<RejectReason, number>>): void {
    if (!this.rejected) return;
    for (const [reason, n] of Object.entries(counts)) {
      if (n) this.rejected.inc({ reason }, n);
    }
  }

  private rejectAgents(
    samples: Array<{ agentId: string }>,
    bad: Set<string>,
    reason: RejectReason,
  ): void {
    let n = 0;
    for (const s of samples) if (bad.has(s.agentId)) n++;
    this.reject({ [reason]: n, batch_rejected: samples.length - n });
  }

  private rejectLines(
    series: ParsedSeries[],
    cols: SampleColumns,
    isBad: (s: ParsedSeries) => boolean,
    reason: RejectReason,
  ): void {
    const bad = series.map(isBad);
    let n = 0;
    for (let r = 0; r < cols.rows; r++) if (bad[cols.rowSeries[r]]) n++;
    this.reject({ [reason]: n, batch_rejected: cols.rows - n });
  }

  /**
   * Stores, then (committed) feeds the hot cache, live sockets and the event bus. That work
   * runs right after the reply is written (setImmediate: still before this instance reads its
   * next request), so the writer's acknowledgement does not wait for it.
   */
  private async commit(
    batch: SampleBatch,
    accepted: number,
    timer: Stopwatch,
  ): Promise<IngestResult> {
    const stored = await this.store.write(batch, timer);
    this.live.count(accepted, stored.values);
    setImmediate(() => this.afterCommit(stored));
    return { accepted, values: stored.values };
  }

  private afterCommit(stored: IngestedBatch): void {
    const timer = new Stopwatch(this.phases);
    try {
      this.publish(stored);
      this.events.emit(InternalEvent.MetricsIngested, stored);
    } catch (e) {
      this.logger.error(`post-commit publish failed: ${String(e)}`);
    }
    timer.lap('publish');
  }

  /** Newest value of every stored column → latest-values cache and live sockets, per agent. */
  private publish(b: IngestedBatch): void {
    const base = new Int32Array(b.series.length + 1);
    for (let s = 0; s < b.series.length; s++) base[s + 1] = base[s] + b.series[s].names.length;
    const n = base[b.series.length];
    const bestTs = new Float64Array(n).fill(-Infinity);
    const bestVal = new Float64Array(n);
    for (let r = 0; r < b.rows; r++) {
      const s = b.rowSeries[r];
      const ts = b.rowTs[r];
      const off = b.rowOffset[r];
      const w = b.rowOffset[r + 1] - off;
      const c0 = base[s];
      for (let j = 0; j < w; j++) {
        const v = b.vals[off + j];
        if (v === v && ts >= bestTs[c0 + j]) {
          bestTs[c0 + j] = ts;
          bestVal[c0 + j] = v;
        }
      }
    }
    const perAgent = new Map<
      string,
      { at: number; values: Record<string, number>; stamps: Record<string, number> }
    >();
    for (let s = 0; s < b.series.length; s++) {
      const x = b.series[s];
      let a = perAgent.get(x.agentId);
      if (!a) perAgent.set(x.agentId, (a = { at: -Infinity, values: {}, stamps: {} }));
      for (let j = 0; j < x.names.length; j++) {
        const ts = bestTs[base[s] + j];
        if (ts === -Infinity) continue;
        a.values[x.names[j]] = bestVal[base[s] + j];
        a.stamps[x.names[j]] = ts;
        if (ts > a.at) a.at = ts;
      }
    }
    for (const [agentId, a] of perAgent) {
      if (a.at === -Infinity) continue;
      this.latest.update(agentId, a.values, a.stamps);
      this.live.push(agentId, a.at, a.values);
    }
  }
}

function throwErrors(errors: SampleError[], count: number): never {
  const first = errors[0];
  const where = first.line !== undefined ? `line ${first.line}` : `sample ${first.index}`;
  throw badRequest(
    `Batch rejected, nothing was written: ${count} problem(s); ${where}: ${first.message}`,
    errors,
  );
}

/** Reads JSON samples into columns, one row per (sample, measurement+labels). */
class JsonReader {
  private readonly cols: SampleColumns;
  private readonly bySeries = new Map<string, Map<string, JsonSeries>>();
  private readonly series: JsonSeries[] = [];
  private readonly errors: SampleError[] = [];
  private badSamples = 0;
  private badTimestamps = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  // per-sample scratch (reused)
  private readonly scratchName: JsonName[] = [];
  private readonly scratchVal: number[] = [];

  constructor(
    private readonly svc: MetricsIngestService,
    private readonly nowMs: number,
    private readonly total: number,
  ) {
    this.cols = new SampleColumns(total, total * 8);
    this.minMs = nowMs - svc.retentionMs;
    this.maxMs = nowMs + FUTURE_LIMIT_MS;
  }

  add(
    agentId: string,
    timestamp: number | string | undefined,
    metrics: Record<string, unknown>,
    index: number,
  ): void {
    const tsMs =
      timestamp === undefined
        ? this.nowMs
        : typeof timestamp === 'number'
          ? timestamp
          : Date.parse(timestamp);
    let bad = false;
    let badTs = false;
    if (tsMs > this.maxMs) {
      this.error(index, FUTURE_MESSAGE);
      badTs = true;
    } else if (tsMs < this.minMs) {
      this.error(index, OLD_MESSAGE);
      badTs = true;
    }
    const names = this.scratchName;
    const vals = this.scratchVal;
    let n = 0;
    let oneGroup = true;
    for (const name in metrics) {
      const raw = metrics[name];
      let v: number;
      if (typeof raw === 'number' && Number.isFinite(raw)) v = raw;
      else if (typeof raw === 'boolean') v = raw ? 1 : 0;
      else {
        const why =
          typeof raw === 'string'
            ? 'is a string; metric values must be numbers or booleans'
            : typeof raw === 'number'
              ? 'is not a finite number'
              : 'must be a number or a boolean';
        this.error(index, `metric "${name.slice(0, 100)}" ${why}`);
        bad = true;
        continue;
      }
      const p = this.svc.jsonName(name);
      if (typeof p === 'string') {
        this.error(index, p);
        bad = true;
        continue;
      }
      if (n > 0 && p.group !== names[0].group) oneGroup = false;
      names[n] = p;
      vals[n] = v;
      n++;
    }
    if (bad || badTs) {
      this.badSamples++;
      if (!bad) this.badTimestamps++;
      return;
    }
    if (this.errors.length || n === 0) return;
    const tsUs = Math.round(tsMs * 1000);
    if (oneGroup) {
      this.row(agentId, tsUs, 0, n);
      return;
    }
    // Several measurements/label sets in one sample: one row each, in first-seen order.
    const done = new Set<string>();
    for (let i = 0; i < n; i++) {
      const g = names[i].group;
      if (done.has(g)) continue;
      done.add(g);
      this.row(agentId, tsUs, i, n, g);
    }
  }

  /** One row of the names [from, to) of the scratch (only those of `group` when given). */
  private row(agentId: string, tsUs: number, from: number, to: number, group?: string): void {
    const first = this.scratchName[from];
    let perAgent = this.bySeries.get(agentId);
    if (!perAgent) this.bySeries.set(agentId, (perAgent = new Map()));
    let s = perAgent.get(first.group);
    if (!s) {
      s = {
        agentId,
        measurement: first.measurement,
        labels: first.labels,
        fields: [],
        idx: this.series.length,
        cols: new Map(),
      };
      perAgent.set(first.group, s);
      this.series.push(s);
    }
    const cols = this.cols;
    const off = cols.begin(s.idx, s.fields.length);
    for (let i = from; i < to; i++) {
      const p = this.scratchName[i];
      if (group !== undefined && p.group !== group) continue;
      let c = s.cols.get(p.field);
      if (c === undefined) {
        c = s.fields.length;
        s.fields.push(p.field);
        s.cols.set(p.field, c);
        cols.widen(off, s.fields.length);
      }
      cols.vals[off + c] = this.scratchVal[i];
    }
    cols.commit(tsUs);
  }

  private error(index: number, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ index, message });
  }

  throwIfErrors(): void {
    if (!this.badSamples) return;
    this.svc.reject({
      validation: this.badSamples - this.badTimestamps,
      timestamp: this.badTimestamps,
      batch_rejected: this.total - this.badSamples,
    });
    throwErrors(this.errors, this.badSamples);
  }

  batch(): SampleBatch {
    return this.cols.batch(this.series);
  }
}
