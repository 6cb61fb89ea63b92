import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
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
import { InternalEvent, type IngestedSample } from '../../common/events.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { LatestMetricsCache } from './latest-metrics.cache.js';
import { parseLineProtocol } from './line-protocol.parser.js';
import { MetricStore, type StoreSample } from './metric-store.service.js';
import { MetricsLiveService } from './metrics-live.service.js';

export interface SampleError {
  /** 0-based sample index (JSON) */
  index?: number;
  /** 1-based line number (line protocol) */
  line?: number;
  message: string;
}

const NAME_PART = /^[A-Za-z_][\w:-]{0,127}$/;
const FUTURE_LIMIT_MS = 10 * 60_000;
/** Tags that name the agent in line protocol (in this order); they are not series labels. */
const AGENT_TAGS = ['agent_id', 'agent', 'host'];
const MAX_ERRORS = 100;

/**
 * Ingest: validates a whole batch first (a rejected batch writes nothing), stores it, and
 * only then updates the hot cache, live sockets and the internal event bus.
 */
@Injectable()
export class MetricsIngestService {
  constructor(
    private readonly store: MetricStore,
    private readonly agents: AgentsService,
    private readonly latest: LatestMetricsCache,
    private readonly live: MetricsLiveService,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async ingestOne(agentId: string, body: SubmitMetrics): Promise<IngestResult> {
    const found = await this.agents.findByIds([agentId]);
    if (!found.length) throw notFound('Agent', agentId);
    const errors: SampleError[] = [];
    const samples = this.fromJson(agentId, body.timestamp, body.metrics, 0, Date.now(), errors);
    this.throwIfErrors(errors);
    return this.commit(samples, 1);
  }

  async ingestBatch(principal: Principal, body: MetricsBatch): Promise<IngestResult> {
    const ids = [...new Set(body.samples.map((s) => s.agentId))];
    const denied = ids.filter((id) => !canActForAgent(principal, id));
    if (denied.length)
      throw forbidden(
        `Not allowed to write metrics for agent(s): ${denied.slice(0, 20).join(', ')}`,
      );
    const known = new Set((await this.agents.findByIds(ids)).map((a) => a.id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length) {
      throw badRequest(`Unknown agent(s): ${unknown.slice(0, 20).join(', ')}`, {
        unknownAgents: unknown,
      });
    }
    const errors: SampleError[] = [];
    const now = Date.now();
    const samples: StoreSample[] = [];
    body.samples.forEach((s, i) => {
      for (const x of this.fromJson(s.agentId, s.timestamp, s.metrics, i, now, errors))
        samples.push(x);
    });
    this.throwIfErrors(errors);
    return this.commit(samples, body.samples.length);
  }

  async ingestLineProtocol(
    principal: Principal,
    body: string,
    q: LineProtocolQuery,
  ): Promise<IngestResult> {
    const nowMs = Date.now();
    const parsed = parseLineProtocol(body, q.precision, nowMs * 1000);
    const errors: SampleError[] = parsed.errors.map((e) => ({ line: e.line, message: e.message }));
    if (!parsed.points.length && !errors.length) throw badRequest('The body holds no lines');
    const minUs = (nowMs - this.config.RETENTION_RAW) * 1000;
    const maxUs = (nowMs + FUTURE_LIMIT_MS) * 1000;
    const refs: string[] = [];
    const pointRefs: Array<string | null> = [];
    // Names repeat on every line: each distinct one is checked once.
    const okNames = new Set<string>();
    const okName = (n: string) => {
      if (okNames.has(n)) return true;
      if (!NAME_PART.test(n)) return false;
      okNames.add(n);
      return true;
    };
    for (const p of parsed.points) {
      let ref: string | null = null;
      for (const t of AGENT_TAGS) {
        const hit = p.tags.find(([k]) => k === t);
        if (hit) {
          ref = hit[1];
          break;
        }
      }
      pointRefs.push(ref);
      if (ref === null) {
        this.pushError(errors, {
          line: p.line,
          message: 'no agent_id, agent or host tag names the agent',
        });
      } else refs.push(ref);
      if (p.tsUs > maxUs)
        this.pushError(errors, {
          line: p.line,
          message: 'timestamp is more than 10 minutes in the future',
        });
      else if (p.tsUs < minUs)
        this.pushError(errors, {
          line: p.line,
          message: 'timestamp is older than the raw retention',
        });
      if (!okName(p.measurement)) {
        this.pushError(errors, {
          line: p.line,
          message: `measurement "${p.measurement.slice(0, 60)}": use letters, digits, _ : -`,
        });
      }
      for (const [f] of p.fields) {
        if (!okName(f))
          this.pushError(errors, {
            line: p.line,
            message: `field "${f.slice(0, 60)}": use letters, digits, _ : -`,
          });
      }
      for (const [k] of p.tags) {
        if (!AGENT_TAGS.includes(k) && !okName(k)) {
          this.pushError(errors, {
            line: p.line,
            message: `tag key "${k.slice(0, 60)}": use letters, digits, _ : -`,
          });
        }
      }
    }
    this.throwIfErrors(errors);
    const resolved = await this.agents.resolveRefs([...new Set(refs)]);
    const unknown = [...new Set(refs)].filter((r) => !resolved.has(r));
    if (unknown.length) {
      throw badRequest(
        `Unknown agent(s): ${unknown.slice(0, 20).join(', ')} (register them first)`,
        {
          unknownAgents: unknown,
        },
      );
    }
    const agentIds = new Set(resolved.values());
    const denied = [...agentIds].filter((id) => !canActForAgent(principal, id));
    if (denied.length)
      throw forbidden(
        `Not allowed to write metrics for agent(s): ${denied.slice(0, 20).join(', ')}`,
      );
    const labelCache = new Map<string, string>();
    const samples: StoreSample[] = parsed.points.map((p, i) => {
      let labels = '';
      if (p.tags.length > 1 || (p.tags.length === 1 && !AGENT_TAGS.includes(p.tags[0][0]))) {
        const own = p.tags.filter(([k]) => !AGENT_TAGS.includes(k));
        const raw = own.map(([k, v]) => `${k}\u0000${v}`).join('\u0001');
        labels = labelCache.get(raw) ?? formatLabels(own);
        labelCache.set(raw, labels);
      }
      return {
        agentId: resolved.get(pointRefs[i]!)!,
        tsUs: p.tsUs,
        measurement: p.measurement,
        labels,
        fields: p.fields,
      };
    });
    return this.commit(samples, samples.length);
  }

  private fromJson(
    agentId: string,
    timestamp: number | string | undefined,
    metrics: Record<string, unknown>,
    index: number,
    nowMs: number,
    errors: SampleError[],
  ): StoreSample[] {
    const tsMs =
      timestamp === undefined
        ? nowMs
        : typeof timestamp === 'number'
          ? timestamp
          : Date.parse(timestamp);
    if (tsMs > nowMs + FUTURE_LIMIT_MS) {
      this.pushError(errors, { index, message: 'timestamp is more than 10 minutes in the future' });
    } else if (tsMs < nowMs - this.config.RETENTION_RAW) {
      this.pushError(errors, { index, message: 'timestamp is older than the raw retention' });
    }
    const groups = new Map<string, StoreSample>();
    for (const [name, raw] of Object.entries(metrics)) {
      let v: number;
      if (typeof raw === 'boolean') v = raw ? 1 : 0;
      else if (typeof raw === 'number' && Number.isFinite(raw)) v = raw;
      else {
        const why =
          typeof raw === 'string'
            ? 'is a string; metric values must be numbers or booleans'
            : typeof raw === 'number'
              ? 'is not a finite number'
              : 'must be a number or a boolean';
        this.pushError(errors, { index, message: `metric "${name.slice(0, 100)}" ${why}` });
        continue;
      }
      const p = parseMetricName(name);
      if (typeof p === 'string') {
        this.pushError(errors, { index, message: p });
        continue;
      }
      const labels = formatLabels(p.labels);
      const key = `${p.measurement}\u0000${labels}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          agentId,
          tsUs: Math.round(tsMs * 1000),
          measurement: p.measurement,
          labels,
          fields: [],
        };
        groups.set(key, g);
      }
      g.fields.push([p.field, v]);
    }
    return [...groups.values()];
  }

  private pushError(errors: SampleError[], e: SampleError): void {
    if (errors.length < MAX_ERRORS) errors.push(e);
  }

  private throwIfErrors(errors: SampleError[]): void {
    if (!errors.length) return;
    const first = errors[0];
    const where = first.line !== undefined ? `line ${first.line}` : `sample ${first.index}`;
    throw badRequest(
      `Batch rejected, nothing was written: ${errors.length}${errors.length >= MAX_ERRORS ? '+' : ''} problem(s); ${where}: ${first.message}`,
      errors,
    );
  }

  /** Stores, then (committed) feeds the hot cache, live sockets and the event bus. */
  private async commit(samples: StoreSample[], accepted: number): Promise<IngestResult> {
    const { rows, values } = await this.store.write(samples);
    // One event sample per (agent, timestamp); one cache/live update per agent (its newest values).
    const byAgentTs = new Map<string, IngestedSample>();
    const newest = new Map<string, IngestedSample>();
    const ingested: IngestedSample[] = [];
    for (const r of rows) {
      const agentId = r.set.agentId;
      const ts = Math.floor(r.tsUs / 1000);
      let e: IngestedSample | undefined;
      if (rows.length > 1) {
        const k = `${agentId}:${r.tsUs}`;
        e = byAgentTs.get(k);
        if (!e) byAgentTs.set(k, (e = { agentId, ts, values: {} }));
      }
      if (!e) e = { agentId, ts, values: {} };
      if (!Object.keys(e.values).length) ingested.push(e);
      const names = r.set.names;
      for (let j = 0; j < r.vals.length; j++) {
        const v = r.vals[j];
        if (v !== null) e.values[names[j]] = v;
      }
    }
    for (const e of ingested) {
      const n = newest.get(e.agentId);
      if (!n) newest.set(e.agentId, { agentId: e.agentId, ts: e.ts, values: { ...e.values } });
      else if (e.ts >= n.ts) {
        Object.assign(n.values, e.values);
        n.ts = e.ts;
      } else {
        for (const k in e.values) if (!(k in n.values)) n.values[k] = e.values[k];
      }
    }
    for (const e of newest.values()) {
      this.latest.update(e.agentId, e.ts, e.values);
      this.live.push(e.agentId, e.ts, e.values);
    }
    this.live.count(accepted, values);
    this.events.emit(InternalEvent.MetricsIngested, { samples: ingested });
    return { accepted, values };
  }
}
