import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { errorCodes } from 'fastify';
import type { Counter } from 'prom-client';
import {
  type IngestResult,
  type LineProtocolQuery,
  type SubmitMetrics,
} from '@agent-monitor/contracts';
import { canActForAgent, type Principal } from '../../common/access.js';
import { badRequest, DomainException, forbidden, notFound } from '../../common/errors.js';
import { InternalEvent, type IngestedBatch } from '../../common/events.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { isUuid } from '../groups/group-membership.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import {
  FUTURE_LIMIT_MS,
  FUTURE_MESSAGE,
  JsonNames,
  JsonReader,
  MAX_ERRORS,
  OLD_MESSAGE,
  type SampleError,
} from './json-reader.js';
import { LatestMetricsCache } from './latest-metrics.cache.js';
import { ParserThread, type ParsedSeries } from './parser-thread.js';
import { MetricStore, type PhaseTimer } from './metric-store.service.js';
import { MetricsLiveService } from './metrics-live.service.js';
import { SampleColumns, type BatchSeries, type SampleBatch } from './sample-columns.js';

/** Why samples were refused (label of `am_ingest_rejected_samples_total`). */
export type RejectReason =
  | 'validation'
  | 'timestamp'
  | 'unknown_agent'
  | 'forbidden'
  /** good samples of a batch refused because of other samples in it */
  | 'batch_rejected';

/** How long an agent id found in the database is trusted without asking again… */
const AGENT_CACHE_MS = 30_000;
/**
 * …and for how long after that it is still used while being asked again in the background
 * (an agent deleted through another instance is refused from the answer on; one deleted through
 * this one at once). A fleet writing steadily never waits for that query.
 */
const AGENT_STALE_MS = 5 * 60_000;

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
 * protocol on a parser thread (ParserThread; series keys and field layouts cached across
 * requests), JSON sample by sample with parsed metric names cached.
 */
@Injectable()
export class MetricsIngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MetricsIngest');
  private readonly parser = new ParserThread();
  private readonly names = new JsonNames();
  /** Agent id → until when it is known to exist. */
  private readonly agentIds = new Map<string, number>();
  private readonly asking = new Map<string, Promise<string[]>>();
  /** Agent ids being asked again in the background (revalidate). */
  private readonly revalidating = new Set<string>();
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

  /** The parser thread is started with the app, not by the first ingest request. */
  onApplicationBootstrap(): void {
    this.parser.warm();
  }

  async onModuleDestroy(): Promise<void> {
    await this.parser.close();
  }

  async ingestOne(agentId: string, body: SubmitMetrics): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const found = await this.knownIds([agentId]);
    if (!found.size) {
      this.reject({ unknown_agent: 1 });
      throw notFound('Agent', agentId);
    }
    const json = new JsonReader(this.names, Date.now(), 1, this.config.RETENTION_RAW);
    json.add(agentId, body.timestamp, body.metrics, 0);
    this.throwIfBadSamples(json);
    timer.lap('parse');
    return this.commit(json.batch(), 1, timer);
  }

  /**
   * A JSON batch body (the request's bytes, handed to the parser thread: not usable after).
   * The thread parses it as Fastify would, validates it with the route's contract schema and
   * reads it into columns; refusals here come in the order the pipeline always had them:
   * not JSON, not a MetricsBatch, agents not allowed, unknown agents, bad samples.
   */
  async ingestBatch(principal: Principal, body: Buffer): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const read = await this.parser.readJson(body, Date.now(), this.config.RETENTION_RAW);
    if (read.kind === 'invalid-json') throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
    if (read.kind === 'invalid') {
      throw new DomainException(
        'VALIDATION',
        read.issues.map((d) => d.message).join('; '),
        read.issues,
      );
    }
    timer.lap('parse');
    const ids = read.agents;
    const samplesOf = (bad: Set<string>) => {
      let n = 0;
      ids.forEach((id, i) => (n += bad.has(id) ? read.agentSamples[i] : 0));
      return n;
    };
    const denied = ids.filter((id) => !canActForAgent(principal, id));
    if (denied.length) {
      const n = samplesOf(new Set(denied));
      this.reject({ forbidden: n, batch_rejected: read.total - n });
      throw forbidden(
        `Not allowed to write metrics for agent(s): ${denied.slice(0, 20).join(', ')}`,
      );
    }
    const known = await this.knownIds(ids);
    const unknown = ids.filter((id) => !known.has(id));
    timer.lap('resolve');
    if (unknown.length) {
      const n = samplesOf(new Set(unknown));
      this.reject({ unknown_agent: n, batch_rejected: read.total - n });
      throw badRequest(`Unknown agent(s): ${unknown.slice(0, 20).join(', ')}`, {
        unknownAgents: unknown,
      });
    }
    this.throwIfBadSamples(read);
    return this.commit(read.columns.batch(read.series), read.total, timer);
  }

  /** Refuses the whole batch when any sample was bad (counted by reason). */
  private throwIfBadSamples(r: {
    badSamples: number;
    badTimestamps: number;
    total: number;
    errors: SampleError[];
  }): void {
    if (!r.badSamples) return;
    this.reject({
      validation: r.badSamples - r.badTimestamps,
      timestamp: r.badTimestamps,
      batch_rejected: r.total - r.badSamples,
    });
    throwErrors(r.errors, r.badSamples);
  }

  /** `body` (the request's bytes) is handed to the parser thread: not usable after. */
  async ingestLineProtocol(
    principal: Principal,
    body: Buffer,
    q: LineProtocolQuery,
  ): Promise<IngestResult> {
    const timer = new Stopwatch(this.phases);
    const nowMs = Date.now();
    const read = await this.parser.read(body, {
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
    const stale: string[] = [];
    for (const id of ids) {
      const until = this.agentIds.get(id);
      if (until !== undefined && until > now) out.add(id);
      else if (until !== undefined && now - until < AGENT_STALE_MS) {
        out.add(id);
        stale.push(id);
      } else ask.push(id);
    }
    if (stale.length) this.revalidate(stale);
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

  /** Asks again, in the background, whether agents used from a stale cache entry exist. */
  private revalidate(ids: string[]): void {
    const todo = ids.filter((id) => !this.revalidating.has(id));
    if (!todo.length) return;
    for (const id of todo) this.revalidating.add(id);
    void this.agents
      .existingIds(todo)
      .then((found) => {
        const exists = new Set(found);
        for (const id of todo) {
          if (exists.has(id)) this.markKnown(id);
          else this.agentIds.delete(id);
        }
      })
      .catch((e: unknown) => this.logger.warn(`agent id check failed: ${String(e)}`))
      .finally(() => {
        for (const id of todo) this.revalidating.delete(id);
      });
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

  /** Counts refused samples by reason. */
  reject(counts: Partial<Record<RejectReason, number>>): void {
    if (!this.rejected) return;
    for (const [reason, n] of Object.entries(counts)) {
      if (n) this.rejected.inc({ reason }, n);
    }
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
