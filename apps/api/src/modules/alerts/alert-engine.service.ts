import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import {
  DEFAULT_MEASUREMENT,
  ListAgentsQuerySchema,
  UNREACHABLE_STATUSES,
  formatLabels,
  type AgentStatus,
  type AlertEvent,
  type AlertNotificationPayload,
  type GroupUnreachableCondition,
} from '@agent-monitor/contracts';
import {
  InternalEvent,
  type IngestedSeries,
  type InternalEventPayloads,
} from '../../common/events.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { MaintenanceService } from '../maintenance/maintenance.service.js';
import { DeliveryService, type OutboxEntry } from '../notifications/delivery.service.js';
import { PriorityDb, type SqlRunner } from '../notifications/priority-db.js';
import { sqlRows } from '../notifications/sql.js';
import { groupMemberSql } from '../groups/group-membership.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import {
  conditionMetrics,
  evaluateCondition,
  isTimeDependent,
  metricSelector,
  parseLabelKey,
  readsLiveness,
  type AgentSignals,
  type EvalResult,
  type MetricSelector,
} from './condition-eval.js';
import { inScope, splitQueryName, subjectLabelKeys } from './alert-subjects.js';
import { EscalationService } from './escalation.service.js';
import { RulesService, type RuleRow } from './rules.service.js';
import { alertTemplateVars, renderTemplate } from './template.js';

/** What the engine knows about one agent: identity for scopes/summaries, and its signals. */
interface AgentState extends AgentSignals {
  id: string;
  name: string | null;
  type: string | null;
  environment: string | null;
  tags: Record<string, string>;
  metaLoaded: boolean;
  /** Topology (refreshed every few seconds): groups it belongs to, metadata region, dependencies. */
  groups: string[];
  region: string | null;
  dependsOn: string[];
  /** metric base name → label sets seen (canonical `k=v,…`), for one alert per label set. */
  labelSets: Map<string, Set<string>>;
}

/** A column of an ingested series that rules read. */
interface RuledColumn {
  col: number;
  base: string;
  labelKey: string;
  rules: string[];
}

/** What one alert instance is about: an agent (or none) and a series label set. */
interface Subject {
  a: AgentState | null;
  labelKey: string;
  /** Series (or group/region) labels, merged over the rule's labels on the instance. */
  labels: Record<string, string>;
}

/** Why a firing alert's notifications are held back. */
interface Hold {
  maintenance: boolean;
  inhibitedBy: InstanceRow | null;
  causedBy: { id: string; name: string | null } | null;
}

interface CompiledRule {
  row: RuleRow;
  /** 'agent': per agent in scope; 'watchdog': one always-firing instance; 'group': per group/region. */
  kind: 'agent' | 'watchdog' | 'group';
  /** metric selector as written → longest window (s) */
  metrics: Map<string, number>;
  selectors: MetricSelector[];
  /** Re-evaluated on the timer even without new samples. */
  timed: boolean;
  /** Reads "any metric" (no_data without a metric). */
  anyData: boolean;
  /** Reads agent status or no-data: a group's "unreachable" incident can inhibit it. */
  inhibitable: boolean;
}

export interface InstanceRow {
  id: string;
  rule_id: string;
  agent_id: string | null;
  agent_name: string | null;
  label_key: string;
  labels: Record<string, string>;
  severity: RuleRow['severity'];
  state: 'pending' | 'firing' | 'resolved';
  value: number | null;
  threshold: number | null;
  summary: string;
  group_key: string;
  started_at: Date;
  fired_at: Date | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  acked_at: Date | null;
  acked_by: string | null;
  ack_comment: string | null;
  ack_expires_at: Date | null;
  suppressed: boolean;
  escalation_step: number;
  next_escalation_at: Date | null;
  version: number;
  inhibited_by: string | null;
  caused_by_agent_id: string | null;
  caused_by_name: string | null;
  correlation_id: string | null;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_SAMPLES_PER_SERIES = 20_000;

const UNREACHABLE = new Set<string>(UNREACHABLE_STATUSES);
const TOPOLOGY_REFRESH_MS = 2000;
/** Below this many agents topology is re-read on every 2 s sync. */
const SMALL_FLEET = 2000;
/** Longest a member alert waits for its group's "unreachable" alert to be written. */
const DEFER_MAX_MS = 5000;
/** Stored values read to seed sliding windows at start (the newest ones). */
const MAX_SEED_VALUES = 1_000_000;

/**
 * Evaluates alert rules as samples arrive (streaming) and on a short timer (no-data, agent
 * status, `for`, keepFiringFor and sliding windows). Windows live in memory; alert state lives
 * in PostgreSQL and every transition is a conditional write (insert guarded by the partial
 * unique index of open instances, updates guarded by the row version), so with several API
 * instances exactly one wins and only the winner writes history and outbox rows, in the same
 * transaction.
 */
@Injectable()
export class AlertEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertEngine.name);
  private rules = new Map<string, CompiledRule>();
  private metricRules = new Map<string, Set<string>>();
  /** Rules reading "any metric" (no_data without a metric): touched by every sample. */
  private anyDataRules: string[] = [];
  /** Bumped by index(): invalidates columnCache. */
  private indexVersion = 0;
  private readonly columnCache = new WeakMap<
    IngestedSeries,
    { version: number; cols: RuledColumn[] | null }
  >();
  private maxWindowSec = new Map<string, number>();
  private readonly agents = new Map<string, AgentState>();
  private readonly open = new Map<string, InstanceRow>();
  private readonly lastTrue = new Map<string, number>();
  /** Manually resolved while the condition still held: no new alert until it clears once. */
  private readonly latched = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private lastSync = 0;
  private fingerprint = '';
  private stopping = false;
  /** `${ruleId}|${agentId}` → label keys of its open instances. */
  private readonly openLabels = new Map<string, Set<string>>();
  private groupNames = new Map<string, string>();
  private lastTopology = 0;
  private topologyRun: Promise<void> | null = null;
  /** `${groupRuleId}|${labelKey}` of groups/regions unreachable right now (alert open or not). */
  private readonly groupsDown = new Set<string>();
  /**
   * Groups and regions a "group unreachable" rule watches (enough members to fire), by rule:
   * label key (`group=<id>`, `region=<name>`) → topology hold (ms) of its members' notifications.
   */
  private readonly watched = new Map<string, Map<string, number>>();
  /** Member alerts waiting for their group's alert to be written (key → since). */
  private readonly deferred = new Map<string, number>();
  /** Evaluations since the last flush into the Prometheus counters. */
  private evalCounts = { ok: 0, firing: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly rulesService: RulesService,
    private readonly delivery: DeliveryService,
    private readonly maintenance: MaintenanceService,
    private readonly fast: PriorityDb,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly realtime?: RealtimePublisher,
    @Optional() private readonly agentsService?: AgentsService,
    @Optional() private readonly promMetrics?: MetricsRegistry,
    @Optional() private readonly escalations?: EscalationService,
  ) {
    rulesService.onChange((id) => this.reloadRule(id));
    escalations?.usePayload((rule, rows, event, dedupKey) =>
      this.payload(rule, rows, event, dedupKey),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.loadRules();
    await this.syncOpen();
    await this.seedAgents();
    await this.refreshTopology(true);
    await this.seedWindows();
    this.timer = setInterval(() => void this.tick(), this.config.ALERT_EVAL_INTERVAL);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.chains.values()]);
  }

  // ---------------------------------------------------------------- rules

  private compile(row: RuleRow): CompiledRule {
    const metrics = conditionMetrics(row.condition);
    const anyData = hasAnyNoData(row.condition);
    const kind =
      row.condition.kind === 'watchdog'
        ? 'watchdog'
        : row.condition.kind === 'group_unreachable'
          ? 'group'
          : 'agent';
    return {
      row,
      kind,
      metrics,
      selectors: [...metrics.keys()].map(metricSelector),
      anyData,
      inhibitable: kind === 'agent' && readsLiveness(row.condition),
      timed: isTimeDependent(row.condition) || row.for_sec > 0 || row.keep_firing_for_sec > 0,
    };
  }

  private index(): void {
    this.indexVersion++;
    this.anyDataRules = [...this.rules.values()].filter((r) => r.anyData).map((r) => r.row.id);
    this.metricRules = new Map();
    this.maxWindowSec = new Map();
    for (const r of this.rules.values()) {
      for (const [sel, w] of r.metrics) {
        const m = metricSelector(sel).base;
        let set = this.metricRules.get(m);
        if (!set) this.metricRules.set(m, (set = new Set()));
        set.add(r.row.id);
        this.maxWindowSec.set(m, Math.max(this.maxWindowSec.get(m) ?? 0, w));
      }
    }
  }

  private async loadRules(): Promise<void> {
    this.fingerprint = await this.rulesService.fingerprint();
    const rows = await this.rulesService.allEnabled();
    this.rules = new Map(rows.map((r) => [r.id, this.compile(r)]));
    this.index();
  }

  private async reloadRule(id: string): Promise<void> {
    const [row] = await sqlRows<RuleRow>(this.db, `SELECT * FROM alert_rules WHERE id = $1`, [id]);
    if (row?.enabled) this.rules.set(id, this.compile(row));
    else this.rules.delete(id);
    this.index();
    await this.ensureScopeAgents();
    if (row?.scope.groupIds?.length) await this.refreshTopology(true);
  }

  // ---------------------------------------------------------------- agents

  private agent(id: string): AgentState {
    let a = this.agents.get(id);
    if (!a) {
      a = {
        id,
        name: null,
        type: null,
        environment: null,
        tags: {},
        metaLoaded: false,
        groups: [],
        region: null,
        dependsOn: [],
        labelSets: new Map(),
        series: new Map(),
        lastSeen: new Map(),
        lastSeenAny: null,
        status: null,
        watchingSince: Date.now(),
      };
      this.agents.set(id, a);
    }
    return a;
  }

  private async loadMeta(ids: string[]): Promise<void> {
    if (!this.agentsService || !ids.length) return;
    try {
      const found = await this.agentsService.findByIds(ids);
      for (const ag of found) {
        const a = this.agent(ag.id);
        a.name = ag.name;
        a.type = ag.type;
        a.environment = ag.environment;
        a.tags = ag.tags ?? {};
        a.status ??= { status: ag.status, since: Date.parse(ag.statusChangedAt) };
      }
      for (const id of ids) this.agent(id).metaLoaded = true;
      if (found.length) await this.refreshTopology(true);
    } catch (e) {
      this.logger.warn(`agent lookup failed: ${String(e)}`);
    }
  }

  /**
   * Group membership (explicit and by tag selector), metadata region and dependencies of every
   * agent, read in one query; refreshed every few seconds and when a scope needs it.
   */
  private async refreshTopology(force = false): Promise<void> {
    // Large fleets re-read less often (1 ms per agent, at most 15 s): the query is per agent.
    const every = Math.min(15_000, Math.max(TOPOLOGY_REFRESH_MS, this.agents.size));
    if (!force && Date.now() - this.lastTopology < every) return;
    if (this.topologyRun) return this.topologyRun;
    this.topologyRun = (async () => {
      try {
        this.lastTopology = Date.now();
        const groups = await sqlRows<{ id: string; name: string }>(
          this.db,
          `SELECT id, name FROM agent_groups`,
        );
        const rows = await sqlRows<{
          id: string;
          region: string | null;
          groups: string[];
          deps: string[];
        }>(
          this.db,
          `SELECT a.id, NULLIF(a.metadata->>'region', '') AS region,
                  ${groups.length ? `COALESCE((SELECT array_agg(g.id) FROM agent_groups g WHERE ${groupMemberSql('a', 'g.id')}), '{}')` : `'{}'::uuid[]`} AS groups,
                  COALESCE((SELECT array_agg(d.depends_on) FROM agent_dependencies d WHERE d.agent_id = a.id), '{}') AS deps
             FROM agents a WHERE a.deleted_at IS NULL`,
        );
        this.groupNames = new Map(groups.map((g) => [g.id, g.name]));
        const seen = new Set<string>();
        for (const r of rows) {
          seen.add(r.id);
          const a = this.agents.get(r.id);
          if (!a && !r.groups.length && !r.region && !r.deps.length) continue;
          const st = a ?? this.agent(r.id);
          st.groups = r.groups;
          st.region = r.region;
          st.dependsOn = r.deps;
        }
        for (const a of this.agents.values()) {
          if (seen.has(a.id)) continue;
          a.groups = [];
          a.region = null;
          a.dependsOn = [];
        }
      } catch (e) {
        if (!this.stopping) this.logger.warn(`topology refresh failed: ${String(e)}`);
      } finally {
        this.topologyRun = null;
      }
    })();
    return this.topologyRun;
  }

  /**
   * After a restart, sliding windows start from stored raw samples (not empty): every metric a
   * windowed rule reads is loaded for its longest window.
   */
  private async seedWindows(): Promise<void> {
    const byMeasurement = new Map<string, Set<string>>();
    let longest = 0;
    for (const [base, w] of this.maxWindowSec) {
      if (w <= 0) continue;
      longest = Math.max(longest, w);
      const dot = base.indexOf('.');
      const measurement = dot === -1 ? DEFAULT_MEASUREMENT : base.slice(0, dot);
      const field = dot === -1 ? base : base.slice(dot + 1);
      let f = byMeasurement.get(measurement);
      if (!f) byMeasurement.set(measurement, (f = new Set()));
      f.add(field);
    }
    if (!byMeasurement.size) return;
    try {
      const rows = await sqlRows<{
        agent_id: string;
        measurement: string;
        labels: string;
        fields: string[];
        ts: Date;
        f: number;
        v: number;
      }>(
        this.db,
        `SELECT s.agent_id, s.measurement, s.labels, s.fields, v.ts, v.f, v.v
           FROM metric_raw_values(
                  ARRAY(SELECT id FROM metric_series WHERE measurement = ANY($1::text[])),
                  now() - make_interval(secs => $2), now() + interval '1 minute') v
           JOIN metric_series s ON s.id = v.series_id
          ORDER BY v.ts DESC LIMIT ${MAX_SEED_VALUES}`,
        [[...byMeasurement.keys()], longest],
      );
      const now = Date.now();
      let n = 0;
      // Newest values were read (the cap keeps the most recent); pushed oldest first.
      for (let i = rows.length - 1; i >= 0; i--) {
        const r = rows[i];
        const field = r.fields[r.f - 1];
        if (field === undefined || !byMeasurement.get(r.measurement)?.has(field)) continue;
        const base = r.measurement === DEFAULT_MEASUREMENT ? field : `${r.measurement}.${field}`;
        this.record(this.agent(r.agent_id), base, r.labels, r.ts.getTime(), Number(r.v), now);
        n++;
      }
      if (n) this.logger.log(`seeded alert windows with ${n} stored values`);
    } catch (e) {
      this.logger.warn(`could not seed alert windows: ${String(e)}`);
    }
  }

  private async seedAgents(): Promise<void> {
    if (!this.agentsService) return;
    try {
      for (let page = 1; page <= 20; page++) {
        const res = await this.agentsService.list(
          ListAgentsQuerySchema.parse({ page, limit: 500 }),
        );
        for (const ag of res.items) {
          const a = this.agent(ag.id);
          a.name = ag.name;
          a.type = ag.type;
          a.environment = ag.environment;
          a.tags = ag.tags ?? {};
          a.metaLoaded = true;
          a.status = { status: ag.status, since: Date.parse(ag.statusChangedAt) };
        }
        if (page * 500 >= res.total) break;
      }
    } catch (e) {
      this.logger.warn(`could not seed agents: ${String(e)}`);
    }
    await this.ensureScopeAgents();
  }

  /** Agents named in scopes are watched from the start (no-data counts even if they never sent). */
  private async ensureScopeAgents(): Promise<void> {
    const ids = new Set<string>();
    for (const r of this.rules.values()) for (const id of r.row.scope.agentIds ?? []) ids.add(id);
    const missing = [...ids].filter((id) => !this.agents.get(id)?.metaLoaded);
    for (const id of ids) this.agent(id);
    await this.loadMeta(missing);
  }

  // ---------------------------------------------------------------- inputs

  @OnEvent(InternalEvent.MetricsIngested)
  async onMetrics(p: InternalEventPayloads[typeof InternalEvent.MetricsIngested]): Promise<void> {
    if (this.stopping) return;
    const started = performance.now();
    const unknown = [...new Set(p.series.map((s) => s.agentId))].filter(
      (id) => !this.agents.get(id)?.metaLoaded,
    );
    if (unknown.length) await this.loadMeta(unknown);
    const now = Date.now();
    // The batch is column-wise (IngestedBatch). Per series (not per value): its columns' base
    // metric, label key and rules (cached per series object until the rules change), and the
    // newest timestamp. Values are only read for columns some rule reads, so a batch nobody
    // has a rule for costs one pass over the row timestamps.
    const nSeries = p.series.length;
    const newest = new Float64Array(nSeries).fill(-Infinity);
    const ruled = p.series.map((x) => this.ruledColumns(x));
    // agent → rule → label keys the batch touched ('' = an unlabelled series: every key)
    const touched = new Map<string, Map<string, Set<string>>>();
    const mark = (agentId: string, ruleId: string, labelKey: string) => {
      let byRule = touched.get(agentId);
      if (!byRule) touched.set(agentId, (byRule = new Map()));
      let keys = byRule.get(ruleId);
      if (!keys) byRule.set(ruleId, (keys = new Set()));
      keys.add(labelKey);
    };
    const { rowSeries, rowTs, rowOffset, vals } = p;
    for (let i = 0; i < p.rows; i++) {
      const s = rowSeries[i];
      const ts = rowTs[i];
      if (ts > newest[s]) newest[s] = ts;
      const cols = ruled[s];
      if (!cols) continue;
      const a = this.agent(p.series[s].agentId);
      for (const c of cols) {
        const value = vals[rowOffset[i] + c.col];
        if (value !== value) continue; // NaN: no value in this column
        this.record(a, c.base, c.labelKey, ts, value, now);
        for (const id of c.rules) mark(a.id, id, c.labelKey);
      }
    }
    const anyData = this.anyDataRules;
    for (let s = 0; s < nSeries; s++) {
      if (newest[s] === -Infinity) continue;
      const a = this.agent(p.series[s].agentId);
      a.lastSeenAny = Math.max(a.lastSeenAny ?? 0, newest[s]);
      for (const id of anyData) mark(a.id, id, '');
    }
    for (const [agentId, ruleIds] of touched) {
      const a = this.agent(agentId);
      for (const [id, keys] of ruleIds) {
        const rule = this.rules.get(id);
        if (rule && inScope(rule.row.scope, a)) this.evaluate(rule, a, now, keys);
      }
    }
    this.observe(started);
  }

  /**
   * The columns of an ingested series that some rule reads (null: none), cached per series
   * object (the metric store hands out one object per series set and a new one when its
   * fields change) until the rules are re-indexed.
   */
  private ruledColumns(series: IngestedSeries): RuledColumn[] | null {
    const hit = this.columnCache.get(series);
    if (hit && hit.version === this.indexVersion) return hit.cols;
    const cols: RuledColumn[] = [];
    series.names.forEach((name, col) => {
      const { base, labelKey } = splitQueryName(name);
      const rules = this.metricRules.get(base);
      if (rules) cols.push({ col, base, labelKey, rules: [...rules] });
    });
    const out = cols.length ? cols : null;
    this.columnCache.set(series, { version: this.indexVersion, cols: out });
    return out;
  }

  /** One sample of series `base{labelKey}` into the agent's window and last-seen maps. */
  private record(
    a: AgentState,
    base: string,
    labelKey: string,
    ts: number,
    value: number,
    now: number,
  ): void {
    const name = labelKey ? `${base}{${labelKey}}` : base;
    if (labelKey) {
      let sets = a.labelSets.get(base);
      if (!sets) a.labelSets.set(base, (sets = new Set()));
      sets.add(labelKey);
    }
    a.lastSeen.set(name, Math.max(a.lastSeen.get(name) ?? 0, ts));
    this.push(a, name, base, ts, value, now);
  }

  /** Flushes evaluation counts and one latency observation into the Prometheus registry. */
  private observe(started: number): void {
    const m = this.promMetrics;
    if (!m) return;
    m.alertEvaluationSeconds.observe((performance.now() - started) / 1000);
    if (this.evalCounts.ok) m.alertEvaluations.inc({ outcome: 'ok' }, this.evalCounts.ok);
    if (this.evalCounts.firing)
      m.alertEvaluations.inc({ outcome: 'firing' }, this.evalCounts.firing);
    this.evalCounts = { ok: 0, firing: 0 };
  }

  private push(
    a: AgentState,
    metric: string,
    base: string,
    ts: number,
    v: number,
    now: number,
  ): void {
    let w = a.series.get(metric);
    if (!w) a.series.set(metric, (w = { ts: [], v: [] }));
    if (w.ts.length && ts < w.ts[w.ts.length - 1]) {
      // Out of order: insert in place so windows stay sorted.
      let i = w.ts.length - 1;
      while (i >= 0 && w.ts[i] > ts) i--;
      w.ts.splice(i + 1, 0, ts);
      w.v.splice(i + 1, 0, v);
    } else {
      w.ts.push(ts);
      w.v.push(v);
    }
    const keepFrom = now - ((this.maxWindowSec.get(base) ?? 0) * 1000 + 1000);
    let drop = 0;
    while (drop < w.ts.length - 1 && w.ts[drop] < keepFrom) drop++;
    if (w.ts.length - drop > MAX_SAMPLES_PER_SERIES) drop = w.ts.length - MAX_SAMPLES_PER_SERIES;
    if (drop) {
      w.ts.splice(0, drop);
      w.v.splice(0, drop);
    }
  }

  @OnEvent(InternalEvent.AgentStatusChanged)
  onStatus(p: InternalEventPayloads[typeof InternalEvent.AgentStatusChanged]): void {
    const a = this.agent(p.agentId);
    a.name = p.name;
    a.status = { status: p.status as AgentStatus, since: new Date(p.at).getTime() };
    if (!a.metaLoaded) void this.loadMeta([a.id]);
    const now = Date.now();
    // Groups first: a member alert firing in this same event sees its group is unreachable.
    for (const r of this.rules.values()) if (r.kind === 'group') this.evaluateGroups(r, now);
    for (const r of this.rules.values())
      if (r.kind === 'agent' && inScope(r.row.scope, a)) this.evaluate(r, a, now);
  }

  @OnEvent(InternalEvent.AgentDeleted)
  onDeleted(p: InternalEventPayloads[typeof InternalEvent.AgentDeleted]): void {
    this.agents.delete(p.agentId);
  }

  // ---------------------------------------------------------------- timer

  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      const now = Date.now();
      if (now - this.lastSync > 2000) {
        this.lastSync = now;
        const fp = await this.rulesService.fingerprint();
        if (fp !== this.fingerprint) {
          await this.loadRules();
          await this.ensureScopeAgents();
        }
        await this.syncOpen();
        await this.refreshTopology(this.agents.size < SMALL_FLEET);
      }
      const started = performance.now();
      const openRules = new Set([...this.open.values()].map((i) => i.rule_id));
      // Member alerts waiting for their group's alert are re-decided on the next tick.
      for (const k of this.deferred.keys()) openRules.add(k.slice(0, k.indexOf('|')));
      for (const r of this.rules.values()) {
        if (r.kind === 'watchdog') this.evaluateWatchdog(r, now);
        else if (r.kind === 'group') this.evaluateGroups(r, now);
        else if (r.timed || openRules.has(r.row.id))
          for (const a of this.agents.values())
            if (inScope(r.row.scope, a)) this.evaluate(r, a, now);
      }
      this.observe(started);
      // Open instances of rules that were disabled or deleted resolve.
      for (const inst of this.open.values()) {
        if (!this.rules.has(inst.rule_id))
          this.enqueue(instKey(inst), async () => {
            await this.resolve(inst, null);
          });
      }
      this.checkHolds(now);
      await this.escalate();
    } catch (e) {
      if (!this.stopping) this.logger.warn(`alert tick failed: ${String(e)}`);
      this.promMetrics?.alertEvaluations.inc({ outcome: 'error' });
    } finally {
      this.ticking = false;
    }
  }

  /** Picks up instances opened/closed by other API instances (and after restarts). */
  private async syncOpen(): Promise<void> {
    const rows = await sqlRows<InstanceRow>(
      this.db,
      `SELECT * FROM alert_instances WHERE state <> 'resolved'`,
    );
    const seen = new Set<string>();
    for (const r of rows) {
      const k = instKey(r);
      seen.add(k);
      if (this.chains.has(k)) continue;
      const cur = this.open.get(k);
      if (!cur || cur.version < r.version || cur.id !== r.id) this.setOpen(r);
      if (r.agent_id) this.agent(r.agent_id);
    }
    for (const [k, r] of this.open) if (!seen.has(k) && !this.chains.has(k)) this.dropOpen(r);
  }

  private setOpen(row: InstanceRow): void {
    this.open.set(instKey(row), row);
    const rk = `${row.rule_id}|${row.agent_id ?? ''}`;
    let set = this.openLabels.get(rk);
    if (!set) this.openLabels.set(rk, (set = new Set()));
    set.add(row.label_key);
  }

  private dropOpen(row: InstanceRow): void {
    const k = instKey(row);
    if (this.open.get(k)?.id !== row.id) return;
    this.open.delete(k);
    const rk = `${row.rule_id}|${row.agent_id ?? ''}`;
    const set = this.openLabels.get(rk);
    set?.delete(row.label_key);
    if (set && !set.size) this.openLabels.delete(rk);
  }

  // ---------------------------------------------------------------- state machine

  /** Label sets a rule has for an agent: those its selectors admit, plus open instances'. */
  private labelKeys(rule: CompiledRule, a: AgentState): string[] {
    const out = subjectLabelKeys(
      rule.selectors,
      (base) => a.labelSets.get(base),
      (base) => a.lastSeen.has(base),
    );
    const open = this.openLabels.get(`${rule.row.id}|${a.id}`);
    if (open) for (const lk of open) out.add(lk);
    return [...out];
  }

  /** Evaluates a per-agent rule for each of the agent's label sets (or only `touched` ones). */
  private evaluate(rule: CompiledRule, a: AgentState, now: number, touched?: Set<string>): void {
    const all = !touched || touched.has('');
    for (const labelKey of this.labelKeys(rule, a)) {
      if (!all && !touched.has(labelKey)) continue;
      const labels = labelKey ? Object.fromEntries(parseLabelKey(labelKey)) : {};
      const res = evaluateCondition(rule.row.condition, a, now, labelKey);
      this.decide(rule, { a, labelKey, labels }, res, now);
    }
  }

  /** A watchdog: one instance (no agent), firing from the start, never resolving while enabled. */
  private evaluateWatchdog(rule: CompiledRule, now: number): void {
    this.decide(
      rule,
      { a: null, labelKey: '', labels: {} },
      { active: true, value: null, threshold: null, metric: null },
      now,
    );
  }

  /**
   * Topology: one subject per agent group (and region) with enough members; active when more
   * than `fraction` of them are unreachable. Open instances of vanished groups resolve.
   */
  private evaluateGroups(rule: CompiledRule, now: number): void {
    const c = rule.row.condition as GroupUnreachableCondition;
    const statuses = new Set<string>(c.statuses);
    const onlyGroups = rule.row.scope.groupIds?.length ? new Set(rule.row.scope.groupIds) : null;
    const members = new Map<string, { labels: Record<string, string>; ids: string[] }>();
    for (const a of this.agents.values()) {
      for (const g of a.groups) {
        if (onlyGroups && !onlyGroups.has(g)) continue;
        const k = formatLabels([['group', g]]);
        let m = members.get(k);
        if (!m)
          members.set(
            k,
            (m = {
              labels: {
                group: this.groupNames.get(g) ?? g,
                group_id: g,
                scope: `group ${this.groupNames.get(g) ?? g}`,
              },
              ids: [],
            }),
          );
        m.ids.push(a.id);
      }
      if (a.region && c.includeRegions && !onlyGroups) {
        const k = formatLabels([['region', a.region]]);
        let m = members.get(k);
        if (!m)
          members.set(
            k,
            (m = { labels: { region: a.region, scope: `region ${a.region}` }, ids: [] }),
          );
        m.ids.push(a.id);
      }
    }
    const open = this.openLabels.get(`${rule.row.id}|`);
    const watched = new Map<string, number>();
    for (const [lk, m] of members)
      if (m.ids.length >= c.minMembers && c.memberHoldSec > 0)
        watched.set(lk, c.memberHoldSec * 1000);
    this.watched.set(rule.row.id, watched);
    for (const lk of open ?? []) if (!members.has(lk)) members.set(lk, { labels: {}, ids: [] });
    for (const [labelKey, m] of members) {
      let down = 0;
      for (const id of m.ids) {
        const st = this.agents.get(id)?.status?.status;
        if (st && statuses.has(st)) down++;
      }
      const active = m.ids.length >= c.minMembers && down / m.ids.length > c.fraction;
      if (active) this.groupsDown.add(`${rule.row.id}|${labelKey}`);
      else this.groupsDown.delete(`${rule.row.id}|${labelKey}`);
      if (!active && !open?.has(labelKey)) continue;
      this.decide(
        rule,
        { a: null, labelKey, labels: m.labels },
        { active, value: down, threshold: m.ids.length, metric: null },
        now,
      );
    }
  }

  /** In a transition's transaction: history of an alert that now fires, and its notifications. */
  private async fired(
    m: SqlRunner,
    r: RuleRow,
    row: InstanceRow,
    value: number | null,
    at: Date,
    hold: Hold,
    holdUntil: Date | null,
  ): Promise<string[]> {
    await this.history(m, row.id, 'firing', null, null, value, at);
    await this.holdHistory(m, row.id, hold, at);
    return this.notify(m, r, row, 'firing', {
      suppressed: isHeld(hold),
      holdUntil,
      correlateWith: incidentGroup(hold),
    });
  }

  private decide(rule: CompiledRule, subj: Subject, res: EvalResult, now: number): void {
    if (res.active) this.evalCounts.firing++;
    else this.evalCounts.ok++;
    const k = key(rule.row.id, subj.a?.id ?? null, subj.labelKey);
    const inst = this.open.get(k);
    if (res.active) {
      this.lastTrue.set(k, now);
      if (this.latched.has(k) && rule.kind !== 'watchdog') return;
      if (!inst) {
        if (rule.row.for_sec <= 0 && this.awaitingIncident(rule, subj, k, now)) return;
        this.enqueue(k, () => this.openInstance(rule, subj, res, now));
      } else if (
        inst.state === 'pending' &&
        now - inst.started_at.getTime() >= rule.row.for_sec * 1000
      ) {
        if (this.awaitingIncident(rule, subj, k, now)) return;
        this.enqueue(k, () => this.fire(rule, subj, res, now));
      }
      return;
    }
    this.deferred.delete(k);
    this.latched.delete(k);
    if (!inst) return;
    if (inst.state === 'firing') {
      const lt = this.lastTrue.get(k) ?? now;
      if (rule.row.keep_firing_for_sec > 0 && now - lt < rule.row.keep_firing_for_sec * 1000)
        return;
    }
    this.enqueue(k, async () => {
      await this.resolve(this.open.get(k) ?? inst, null, res);
    });
  }

  /** One transition at a time per (rule, agent); later evaluations re-check the fresh state. */
  private enqueue(k: string, fn: () => Promise<void>): void {
    if (this.chains.has(k)) return; // a transition for this key is in flight; the next evaluation re-decides
    const p = fn()
      .catch((e: unknown) => {
        this.logger.error(`alert transition failed: ${String(e)}`);
        this.promMetrics?.alertEvaluations.inc({ outcome: 'error' });
      })
      .finally(() => this.chains.delete(k));
    this.chains.set(k, p);
  }

  private summary(rule: RuleRow, subj: Subject, res: EvalResult | null): string {
    return renderTemplate(
      rule.summary_template,
      alertTemplateVars({
        ruleName: rule.name,
        severity: rule.severity,
        agentId: subj.a?.id ?? null,
        agentName: subj.a?.name ?? null,
        value: res?.value ?? null,
        threshold: res?.threshold ?? null,
        metric: res?.metric ?? null,
        labels: { ...rule.labels, ...subj.labels },
      }),
    ).slice(0, 4000);
  }

  /** Escalation steps are timed by the EscalationService; a policy makes the alert due at once. */
  private nextEscalation(rule: RuleRow, _step: number, firedAt: Date): Date | null {
    return this.escalations?.firstCheck(rule, firedAt) ?? null;
  }

  private async openInstance(
    rule: CompiledRule,
    subj: Subject,
    res: EvalResult,
    now: number,
  ): Promise<void> {
    const r = rule.row;
    const agentId = subj.a?.id ?? null;
    const k = key(r.id, agentId, subj.labelKey);
    if (this.open.get(k)) return;
    const firing = r.for_sec <= 0;
    const at = new Date(now);
    const summary = this.summary(r, subj, res);
    const hold = firing ? this.holdFor(rule, agentId, now) : NO_HOLD;
    const suppressed = isHeld(hold);
    const holdUntil = firing && !suppressed ? this.topologyHold(rule, subj.a, now) : null;
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `INSERT INTO alert_instances (rule_id, agent_id, agent_name, label_key, labels, severity, state, value, threshold,
            summary, group_key, started_at, fired_at, next_escalation_at, suppressed,
            inhibited_by, caused_by_agent_id, caused_by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (rule_id, COALESCE(agent_id, '${NIL_UUID}'::uuid), label_key) WHERE state <> 'resolved' DO NOTHING
         RETURNING *`,
        [
          r.id,
          agentId,
          subj.a?.name ?? null,
          subj.labelKey,
          JSON.stringify({ ...r.labels, ...subj.labels }),
          r.severity,
          firing ? 'firing' : 'pending',
          res.value,
          res.threshold,
          summary,
          `rule:${r.id}`,
          at,
          firing ? at : null,
          firing ? this.nextEscalation(r, 0, at) : null,
          suppressed,
          hold.inhibitedBy?.id ?? null,
          hold.causedBy?.id ?? null,
          hold.causedBy?.name ?? null,
        ],
      );
      if (!row) return null;
      await this.history(m, row.id, 'pending', null, null, res.value, at);
      if (!firing) return { row, outbox: [] as string[] };
      return { row, outbox: await this.fired(m, r, row, res.value, at, hold, holdUntil) };
    });
    if (!result) {
      await this.reloadKey(r.id, agentId, subj.labelKey);
      return;
    }
    this.setOpen(result.row);
    this.afterCommit(result.row, firing ? 'alert_triggered' : null, result.outbox, r);
  }

  private async fire(
    rule: CompiledRule,
    subj: Subject,
    res: EvalResult,
    now: number,
  ): Promise<void> {
    const r = rule.row;
    const agentId = subj.a?.id ?? null;
    const k = key(r.id, agentId, subj.labelKey);
    const inst = this.open.get(k);
    if (!inst || inst.state !== 'pending') return;
    const at = new Date(now);
    const summary = this.summary(r, subj, res);
    const hold = this.holdFor(rule, agentId, now);
    const suppressed = isHeld(hold);
    const holdUntil = suppressed ? null : this.topologyHold(rule, subj.a, now);
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET state = 'firing', fired_at = $3, value = $4, summary = $5,
            next_escalation_at = $6, suppressed = $7, inhibited_by = $8, caused_by_agent_id = $9,
            caused_by_name = $10, version = version + 1
          WHERE id = $1 AND state = 'pending' AND version = $2 RETURNING *`,
        [
          inst.id,
          inst.version,
          at,
          res.value,
          summary,
          this.nextEscalation(r, 0, at),
          suppressed,
          hold.inhibitedBy?.id ?? null,
          hold.causedBy?.id ?? null,
          hold.causedBy?.name ?? null,
        ],
      );
      if (!row) return null;
      return { row, outbox: await this.fired(m, r, row, res.value, at, hold, holdUntil) };
    });
    if (!result) {
      await this.reloadKey(r.id, agentId, subj.labelKey);
      return;
    }
    this.setOpen(result.row);
    this.afterCommit(result.row, 'alert_triggered', result.outbox, r);
  }

  private async holdHistory(m: SqlRunner, alertId: string, hold: Hold, at: Date): Promise<void> {
    if (hold.maintenance)
      await this.history(m, alertId, 'suppressed', null, 'maintenance window', null, at);
    const why = holdReason(hold);
    if (why) await this.history(m, alertId, 'inhibited', null, why, null, at);
  }

  /** Resolves (firing → resolved, notifies) or clears (pending → resolved, silent). */
  async resolve(
    inst: InstanceRow,
    by: string | null,
    res: EvalResult | null = null,
    comment: string | null = null,
  ): Promise<InstanceRow | null> {
    const rule =
      this.rules.get(inst.rule_id)?.row ??
      (
        await sqlRows<RuleRow>(this.db, `SELECT * FROM alert_rules WHERE id = $1`, [inst.rule_id])
      )[0];
    const k = instKey(inst);
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET state = 'resolved', resolved_at = now(), resolved_by = $3,
            next_escalation_at = NULL, version = version + 1
          WHERE id = $1 AND state <> 'resolved' AND ($2::int IS NULL OR version = $2) RETURNING *`,
        [inst.id, by ? null : inst.version, by],
      );
      if (!row) return null;
      const wasFiring = row.fired_at !== null;
      // Still in its topology hold: the firing notification is never sent, nor its resolution.
      const unsent =
        wasFiring && rule && readsLiveness(rule.condition)
          ? await this.delivery.withdraw(m, row.id, 'resolved within the topology hold')
          : [];
      await this.history(
        m,
        row.id,
        wasFiring ? 'resolved' : 'cleared',
        by,
        comment,
        res?.value ?? null,
        new Date(),
      );
      return {
        row,
        wasFiring,
        outbox:
          wasFiring && rule
            ? await this.notify(m, rule, row, 'resolved', {
                suppressed:
                  row.suppressed || this.isSuppressed(row.rule_id, row.agent_id, Date.now()),
                skipChannels: unsent,
              })
            : [],
      };
    });
    if (!result) {
      if (inst.agent_id !== undefined)
        await this.reloadKey(inst.rule_id, inst.agent_id, inst.label_key);
      return null;
    }
    this.dropOpen(inst);
    if (by) this.latched.add(k);
    this.lastTrue.delete(k);
    if (rule)
      this.afterCommit(
        result.row,
        result.wasFiring ? 'alert_resolved' : null,
        result.outbox,
        rule,
        by ?? undefined,
      );
    return result.row;
  }

  /** Forget a cached instance changed elsewhere (ack, manual resolve on this instance). */
  noteChanged(row: InstanceRow): void {
    if (row.state === 'resolved') this.dropOpen(row);
    else this.setOpen(row);
  }

  private async reloadKey(ruleId: string, agentId: string | null, labelKey: string): Promise<void> {
    const [row] = await sqlRows<InstanceRow>(
      this.db,
      `SELECT * FROM alert_instances WHERE rule_id = $1 AND COALESCE(agent_id, '${NIL_UUID}'::uuid) = COALESCE($2::uuid, '${NIL_UUID}'::uuid) AND label_key = $3 AND state <> 'resolved'`,
      [ruleId, agentId, labelKey],
    );
    const cur = this.open.get(key(ruleId, agentId, labelKey));
    if (row) this.setOpen(row);
    else if (cur) this.dropOpen(cur);
  }

  private async history(
    m: SqlRunner,
    alertId: string,
    type: string,
    by: string | null,
    comment: string | null,
    value: number | null,
    at: Date,
  ): Promise<void> {
    await m.query(
      `INSERT INTO alert_transitions (alert_id, type, at, by, comment, value) VALUES ($1, $2, $3, $4, $5, $6)`,
      [alertId, type, at, by, comment, value],
    );
  }

  payload(
    rule: RuleRow,
    rows: InstanceRow[],
    event: AlertNotificationPayload['event'],
    dedupKey: string,
  ): AlertNotificationPayload {
    return {
      dedupKey,
      event,
      alerts: rows.map((row) => ({
        id: row.id,
        ruleId: rule.id,
        ruleName: rule.name,
        agentId: row.agent_id,
        agentName: row.agent_name,
        severity: row.severity,
        state: row.state,
        summary: row.summary,
        value: row.value,
        threshold: row.threshold,
        labels: row.labels,
        startedAt: row.started_at.toISOString(),
        firedAt: row.fired_at?.toISOString() ?? null,
        resolvedAt: row.resolved_at?.toISOString() ?? null,
      })),
      sentAt: new Date().toISOString(),
    };
  }

  /**
   * Outbox rows for a transition, inside its transaction. A firing alert records the
   * notification group the outbox put it in (`correlation_id`, also set on `row`).
   */
  private async notify(
    m: SqlRunner,
    rule: RuleRow,
    row: InstanceRow,
    event: 'firing' | 'resolved',
    opts: {
      suppressed?: boolean;
      holdUntil?: Date | null;
      skipChannels?: string[];
      /** The group it belongs to regardless of the outbox (an inhibiting incident's). */
      correlateWith?: string | null;
    } = {},
  ): Promise<string[]> {
    const entries: OutboxEntry[] = rule.channel_ids
      .filter((channelId) => !opts.skipChannels?.includes(channelId))
      .map((channelId) => ({
        channelId,
        alertId: row.id,
        event,
        suppressed: opts.suppressed ?? false,
        ...(opts.holdUntil ? { holdUntil: opts.holdUntil } : {}),
        group: { key: row.group_key, windowSec: rule.group_window_sec },
        payload: this.payload(rule, [row], event, `${row.id}:${event}:${channelId}`),
      }));
    const correlation = new Map<string, string>();
    const ids = await this.delivery.enqueue(m, entries, correlation);
    const leader = opts.correlateWith ?? correlation.get(row.id);
    if (leader) {
      await m.query(`UPDATE alert_instances SET correlation_id = $2 WHERE id = $1`, [
        row.id,
        leader,
      ]);
      row.correlation_id = leader;
    }
    return ids;
  }

  private afterCommit(
    row: InstanceRow,
    socketEvent: 'alert_triggered' | 'alert_resolved' | 'alert_acknowledged' | null,
    outbox: string[],
    rule: RuleRow,
    by?: string,
  ): void {
    if (outbox.length) this.delivery.kick(outbox);
    if (socketEvent) this.publish(socketEvent, row, rule, by);
  }

  publish(
    event: 'alert_triggered' | 'alert_resolved' | 'alert_acknowledged',
    row: InstanceRow,
    rule: Pick<RuleRow, 'name'>,
    by?: string,
  ): void {
    if (!this.realtime) return;
    const payload: Omit<AlertEvent, 'seq'> = {
      alertId: row.id,
      ruleId: row.rule_id,
      ruleName: rule.name,
      agentId: row.agent_id,
      agentName: row.agent_name,
      severity: row.severity,
      status: event === 'alert_acknowledged' ? 'acknowledged' : row.state,
      summary: row.summary,
      value: row.value,
      at: new Date().toISOString(),
      groupKey: row.group_key,
      ...(by ? { by } : {}),
    };
    try {
      this.realtime.publish(event, payload);
    } catch (e) {
      this.logger.warn(`could not publish ${event}: ${String(e)}`);
    }
  }

  // ---------------------------------------------------------------- maintenance

  private isSuppressed(ruleId: string, agentId: string | null, now: number): boolean {
    const a = agentId ? this.agents.get(agentId) : undefined;
    return this.maintenance.isSuppressed(
      { ruleId, agentId, tags: a?.tags ?? {}, groupIds: a?.groups ?? [] },
      now,
    );
  }

  /**
   * What holds a firing alert's notifications back: a maintenance window; a dependency of its
   * agent that is unreachable ("caused by B"); or a firing "group unreachable" alert of one of
   * its agent's groups or its region (inhibited, linked to it). Agentless alerts (watchdog,
   * group alerts themselves) are never inhibited.
   */
  private holdFor(
    rule: CompiledRule,
    agentId: string | null,
    now: number,
    incidents?: Map<string, InstanceRow>,
  ): Hold {
    const maintenance = this.isSuppressed(rule.row.id, agentId, now);
    const a = agentId ? this.agents.get(agentId) : undefined;
    if (!a || rule.kind !== 'agent') return { maintenance, inhibitedBy: null, causedBy: null };
    for (const dep of a.dependsOn) {
      const b = this.agents.get(dep);
      if (b?.status && UNREACHABLE.has(b.status.status))
        return { maintenance, inhibitedBy: null, causedBy: { id: dep, name: b.name } };
    }
    if (a.groups.length || a.region) {
      const firing = incidents ?? this.groupIncidents();
      if (firing.size) {
        for (const g of a.groups) {
          const inst = firing.get(formatLabels([['group', g]]));
          if (inst) return { maintenance, inhibitedBy: inst, causedBy: null };
        }
        const inst = a.region ? firing.get(formatLabels([['region', a.region]])) : undefined;
        if (inst) return { maintenance, inhibitedBy: inst, causedBy: null };
      }
    }
    return { maintenance, inhibitedBy: null, causedBy: null };
  }

  /**
   * Topology hold: when a status / no-data alert fires for an agent of a group (or region) that a
   * "group unreachable" rule watches, its notifications wait the rule's `memberHoldSec` first.
   * Its group may cross the threshold a moment later (members rarely fail at the same instant);
   * the incident then inhibits it before anything was sent (`checkHolds` → `withdraw`). Alerts
   * that cannot be inhibited (thresholds, …) are never delayed.
   */
  private topologyHold(rule: CompiledRule, a: AgentState | null, now: number): Date | null {
    if (!rule.inhibitable || !a || (!a.groups.length && !a.region)) return null;
    let ms = 0;
    for (const [ruleId, groups] of this.watched) {
      if (!this.rules.has(ruleId)) continue;
      for (const g of a.groups) ms = Math.max(ms, groups.get(formatLabels([['group', g]])) ?? 0);
      if (a.region) ms = Math.max(ms, groups.get(formatLabels([['region', a.region]])) ?? 0);
    }
    return ms > 0 ? new Date(now + ms) : null;
  }

  /**
   * A member alert about to fire while its group (or region) is unreachable but the group's
   * alert is not written yet waits for it (a few ticks at most), so it is held back and linked
   * instead of notifying first. Gives up after DEFER_MAX_MS (e.g. a group rule with `forSec`).
   */
  private awaitingIncident(rule: CompiledRule, subj: Subject, k: string, now: number): boolean {
    const a = subj.a;
    if (rule.kind !== 'agent' || !a || !this.groupsDown.size || (!a.groups.length && !a.region))
      return false;
    const keys = a.groups.map((g) => formatLabels([['group', g]]));
    if (a.region) keys.push(formatLabels([['region', a.region]]));
    const incidents = this.groupIncidents();
    let waiting = false;
    for (const r of this.rules.values()) {
      if (r.kind !== 'group') continue;
      for (const lk of keys) {
        if (!this.groupsDown.has(`${r.row.id}|${lk}`)) continue;
        if (incidents.has(lk)) {
          this.deferred.delete(k);
          return false;
        }
        waiting = true;
      }
    }
    if (!waiting) {
      this.deferred.delete(k);
      return false;
    }
    const since = this.deferred.get(k) ?? now;
    this.deferred.set(k, since);
    if (now - since < DEFER_MAX_MS) return true;
    this.deferred.delete(k);
    return false;
  }

  /** Firing "group unreachable" alerts by their label key (`group=<id>`, `region=<name>`). */
  private groupIncidents(): Map<string, InstanceRow> {
    const out = new Map<string, InstanceRow>();
    for (const r of this.rules.values()) {
      if (r.kind !== 'group') continue;
      for (const lk of this.openLabels.get(`${r.row.id}|`) ?? []) {
        const inst = this.open.get(key(r.row.id, null, lk));
        if (inst?.state === 'firing' && !out.has(lk)) out.set(lk, inst);
      }
    }
    return out;
  }

  /**
   * Firing alerts entering a window or an inhibition pause; leaving it, their held-back
   * notification goes out.
   */
  private checkHolds(now: number): void {
    const incidents = this.groupIncidents();
    for (const inst of this.open.values()) {
      if (inst.state !== 'firing') continue;
      const rule = this.rules.get(inst.rule_id);
      if (!rule) continue;
      const hold = this.holdFor(rule, inst.agent_id, now, incidents);
      const want = isHeld(hold);
      const inhibit = !!(hold.inhibitedBy || hold.causedBy);
      if (
        want === inst.suppressed &&
        (!inhibit ||
          ((hold.inhibitedBy?.id ?? null) === inst.inhibited_by &&
            (hold.causedBy?.id ?? null) === inst.caused_by_agent_id))
      )
        continue;
      this.enqueue(instKey(inst), () => this.setSuppressed(inst, hold));
    }
  }

  private async setSuppressed(inst: InstanceRow, hold: Hold): Promise<void> {
    const suppressed = isHeld(hold);
    const result = await this.fast.transaction(async (m) => {
      const wasInhibited = !!(inst.inhibited_by || inst.caused_by_agent_id) && inst.suppressed;
      const inhibit = !!(hold.inhibitedBy || hold.causedBy);
      const [row] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET suppressed = $3,
            inhibited_by = CASE WHEN $7 THEN $4::uuid ELSE inhibited_by END,
            caused_by_agent_id = CASE WHEN $7 THEN $5::uuid ELSE caused_by_agent_id END,
            caused_by_name = CASE WHEN $7 THEN $6 ELSE caused_by_name END,
            correlation_id = COALESCE($8::uuid, correlation_id),
            version = version + 1
          WHERE id = $1 AND version = $2 AND state = 'firing' RETURNING *`,
        [
          inst.id,
          inst.version,
          suppressed,
          hold.inhibitedBy?.id ?? null,
          hold.causedBy?.id ?? null,
          hold.causedBy?.name ?? null,
          inhibit,
          incidentGroup(hold),
        ],
      );
      if (!row) return null;
      const at = new Date();
      if (inhibit) {
        await this.history(m, row.id, 'inhibited', null, holdReason(hold), null, at);
        // Notifications still in their topology hold are never sent.
        await this.delivery.withdraw(m, row.id, holdReason(hold) ?? 'inhibited');
      } else if (wasInhibited)
        await this.history(m, row.id, 'uninhibited', null, 'cause recovered', null, at);
      if (!inhibit && !wasInhibited)
        await this.history(
          m,
          row.id,
          hold.maintenance ? 'suppressed' : 'unsuppressed',
          null,
          'maintenance window',
          null,
          at,
        );
      const released = suppressed
        ? []
        : await sqlRows<{ id: string }>(
            m,
            `UPDATE notification_outbox SET status = 'pending', next_attempt_at = now()
              WHERE alert_id = $1 AND event IN ('firing', 'firing_group') AND status = 'suppressed' RETURNING id`,
            [row.id],
          );
      return { row, released: released.map((r) => r.id) };
    });
    if (!result) {
      await this.reloadKey(inst.rule_id, inst.agent_id, inst.label_key);
      return;
    }
    this.setOpen(result.row);
    if (result.released.length) this.delivery.kick(result.released);
  }

  // ---------------------------------------------------------------- escalation

  /** Unacknowledged firing alerts (or whose ack expired) move along their escalation policy. */
  private async escalate(): Promise<void> {
    await this.escalations?.run();
  }
}

function key(ruleId: string, agentId: string | null, labelKey: string): string {
  return `${ruleId}|${agentId ?? ''}|${labelKey}`;
}

function instKey(i: Pick<InstanceRow, 'rule_id' | 'agent_id' | 'label_key'>): string {
  return key(i.rule_id, i.agent_id, i.label_key);
}

const NO_HOLD: Hold = { maintenance: false, inhibitedBy: null, causedBy: null };

function isHeld(h: Hold): boolean {
  return h.maintenance || !!h.inhibitedBy || !!h.causedBy;
}

/**
 * An alert inhibited by a group's incident belongs to the incident's correlation group: the
 * incident's notification is the one that stands for it.
 */
function incidentGroup(h: Hold): string | null {
  return h.inhibitedBy ? (h.inhibitedBy.correlation_id ?? h.inhibitedBy.id) : null;
}

function holdReason(h: Hold): string | null {
  if (h.causedBy) return `caused by ${h.causedBy.name ?? h.causedBy.id} (dependency unreachable)`;
  if (h.inhibitedBy) {
    const l = h.inhibitedBy.labels;
    return `group unreachable: ${l.group ?? l.region ?? h.inhibitedBy.label_key} (alert ${h.inhibitedBy.id})`;
  }
  return null;
}

function hasAnyNoData(c: RuleRow['condition']): boolean {
  if (c.kind === 'no_data') return !c.metric;
  if (c.kind === 'and' || c.kind === 'or') return c.conditions.some(hasAnyNoData);
  return false;
}
