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
  ListAgentsQuerySchema,
  type AgentStatus,
  type AlertEvent,
  type AlertNotificationPayload,
  type AlertScope,
} from '@agent-monitor/contracts';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentsService } from '../agents/agents.service.js';
import { MaintenanceService } from '../maintenance/maintenance.service.js';
import { DeliveryService, type OutboxEntry } from '../notifications/delivery.service.js';
import { PriorityDb, type SqlRunner } from '../notifications/priority-db.js';
import { sqlRows } from '../notifications/sql.js';
import {
  conditionMetrics,
  evaluateCondition,
  isTimeDependent,
  type AgentSignals,
  type EvalResult,
} from './condition-eval.js';
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
}

interface CompiledRule {
  row: RuleRow;
  /** metric → longest window (s) */
  metrics: Map<string, number>;
  /** Re-evaluated on the timer even without new samples. */
  timed: boolean;
  /** Reads "any metric" (no_data without a metric). */
  anyData: boolean;
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
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_SAMPLES_PER_SERIES = 20_000;

export function inScope(scope: AlertScope, a: AgentState): boolean {
  if (scope.agentIds?.length && !scope.agentIds.includes(a.id)) return false;
  if (scope.type && a.type !== scope.type) return false;
  if (scope.environment && a.environment !== scope.environment) return false;
  for (const [k, v] of Object.entries(scope.tags ?? {})) if (a.tags[k] !== v) return false;
  // scope.groupIds: group membership comes with the fleet domain; until then it does not narrow.
  return true;
}

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

  constructor(
    private readonly db: DataSource,
    private readonly rulesService: RulesService,
    private readonly delivery: DeliveryService,
    private readonly maintenance: MaintenanceService,
    private readonly fast: PriorityDb,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly realtime?: RealtimePublisher,
    @Optional() private readonly agentsService?: AgentsService,
  ) {
    rulesService.onChange((id) => this.reloadRule(id));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.loadRules();
    await this.syncOpen();
    await this.seedAgents();
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
    return {
      row,
      metrics,
      anyData,
      timed: isTimeDependent(row.condition) || row.for_sec > 0 || row.keep_firing_for_sec > 0,
    };
  }

  private index(): void {
    this.metricRules = new Map();
    this.maxWindowSec = new Map();
    for (const r of this.rules.values()) {
      for (const [m, w] of r.metrics) {
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
    } catch (e) {
      this.logger.warn(`agent lookup failed: ${String(e)}`);
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
    const unknown = [...new Set(p.series.map((s) => s.agentId))].filter(
      (id) => !this.agents.get(id)?.metaLoaded,
    );
    if (unknown.length) await this.loadMeta(unknown);
    const now = Date.now();
    const touched = new Map<string, Set<string>>();
    // The batch is column-wise (IngestedBatch): look rules up once per series column, not per value.
    const ruled = p.series.map((s) => s.names.map((n) => this.metricRules.get(n)));
    const anyData = [...this.rules.values()].filter((r) => r.anyData).map((r) => r.row.id);
    for (let i = 0; i < p.rows; i++) {
      const s = p.series[p.rowSeries[i]];
      const ts = p.rowTs[i];
      const a = this.agent(s.agentId);
      a.lastSeenAny = Math.max(a.lastSeenAny ?? 0, ts);
      let ruleIds = touched.get(a.id);
      const cols = ruled[p.rowSeries[i]];
      for (let j = 0; j < cols.length; j++) {
        const rules = cols[j];
        const value = rules ? p.vals[p.rowOffset[i] + j] : NaN;
        if (!rules || value !== value) continue; // NaN: no value in this column
        const metric = s.names[j];
        a.lastSeen.set(metric, Math.max(a.lastSeen.get(metric) ?? 0, ts));
        this.push(a, metric, ts, value, now);
        if (!ruleIds) touched.set(a.id, (ruleIds = new Set()));
        for (const id of rules) ruleIds.add(id);
      }
      if (anyData.length) {
        if (!ruleIds) touched.set(a.id, (ruleIds = new Set()));
        for (const id of anyData) ruleIds.add(id);
      }
    }
    for (const [agentId, ruleIds] of touched) {
      const a = this.agent(agentId);
      for (const id of ruleIds) {
        const rule = this.rules.get(id);
        if (rule && inScope(rule.row.scope, a)) this.evaluate(rule, a, now);
      }
    }
  }

  private push(a: AgentState, metric: string, ts: number, v: number, now: number): void {
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
    const keepFrom = now - ((this.maxWindowSec.get(metric) ?? 0) * 1000 + 1000);
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
    for (const r of this.rules.values()) if (inScope(r.row.scope, a)) this.evaluate(r, a, now);
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
      }
      const openRules = new Set([...this.open.values()].map((i) => i.rule_id));
      for (const r of this.rules.values()) {
        if (!r.timed && !openRules.has(r.row.id)) continue;
        for (const a of this.agents.values()) if (inScope(r.row.scope, a)) this.evaluate(r, a, now);
      }
      // Open instances of rules that were disabled or deleted resolve.
      for (const inst of this.open.values()) {
        if (!this.rules.has(inst.rule_id))
          this.enqueue(key(inst.rule_id, inst.agent_id), async () => {
            await this.resolve(inst, null);
          });
      }
      this.checkMaintenance(now);
      await this.escalate();
    } catch (e) {
      if (!this.stopping) this.logger.warn(`alert tick failed: ${String(e)}`);
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
      const k = key(r.rule_id, r.agent_id);
      seen.add(k);
      if (this.chains.has(k)) continue;
      const cur = this.open.get(k);
      if (!cur || cur.version < r.version || cur.id !== r.id) this.open.set(k, r);
      if (r.agent_id) this.agent(r.agent_id);
    }
    for (const [k] of this.open) if (!seen.has(k) && !this.chains.has(k)) this.open.delete(k);
  }

  // ---------------------------------------------------------------- state machine

  private evaluate(rule: CompiledRule, a: AgentState, now: number): void {
    const res = evaluateCondition(rule.row.condition, a, now);
    const k = key(rule.row.id, a.id);
    const inst = this.open.get(k);
    if (res.active) {
      this.lastTrue.set(k, now);
      if (this.latched.has(k)) return;
      if (!inst) this.enqueue(k, () => this.openInstance(rule, a, res, now));
      else if (
        inst.state === 'pending' &&
        now - inst.started_at.getTime() >= rule.row.for_sec * 1000
      ) {
        this.enqueue(k, () => this.fire(rule, a, res, now));
      }
      return;
    }
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
      .catch((e: unknown) => this.logger.error(`alert transition failed: ${String(e)}`))
      .finally(() => this.chains.delete(k));
    this.chains.set(k, p);
  }

  private summary(rule: RuleRow, a: AgentState | null, res: EvalResult | null): string {
    return renderTemplate(
      rule.summary_template,
      alertTemplateVars({
        ruleName: rule.name,
        severity: rule.severity,
        agentId: a?.id ?? null,
        agentName: a?.name ?? null,
        value: res?.value ?? null,
        threshold: res?.threshold ?? null,
        metric: res?.metric ?? null,
        labels: rule.labels,
      }),
    ).slice(0, 4000);
  }

  private nextEscalation(rule: RuleRow, step: number, firedAt: Date): Date | null {
    const s = rule.escalation[step];
    return s ? new Date(firedAt.getTime() + s.afterMinutes * 60_000) : null;
  }

  private async openInstance(
    rule: CompiledRule,
    a: AgentState,
    res: EvalResult,
    now: number,
  ): Promise<void> {
    const r = rule.row;
    const k = key(r.id, a.id);
    if (this.open.get(k)) return;
    const firing = r.for_sec <= 0;
    const at = new Date(now);
    const summary = this.summary(r, a, res);
    const suppressed = firing && this.isSuppressed(r.id, a.id, now);
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `INSERT INTO alert_instances (rule_id, agent_id, agent_name, label_key, labels, severity, state, value, threshold,
            summary, group_key, started_at, fired_at, next_escalation_at, suppressed)
         VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (rule_id, COALESCE(agent_id, '${NIL_UUID}'::uuid), label_key) WHERE state <> 'resolved' DO NOTHING
         RETURNING *`,
        [
          r.id,
          a.id,
          a.name,
          JSON.stringify(r.labels),
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
        ],
      );
      if (!row) return null;
      await this.history(m, row.id, 'pending', null, null, res.value, at);
      if (!firing) return { row, outbox: [] as string[] };
      await this.history(m, row.id, 'firing', null, null, res.value, at);
      if (suppressed)
        await this.history(m, row.id, 'suppressed', null, 'maintenance window', null, at);
      return { row, outbox: await this.notify(m, r, row, 'firing', suppressed) };
    });
    if (!result) {
      await this.reloadKey(r.id, a.id);
      return;
    }
    this.open.set(k, result.row);
    this.afterCommit(result.row, firing ? 'alert_triggered' : null, result.outbox, r);
  }

  private async fire(
    rule: CompiledRule,
    a: AgentState,
    res: EvalResult,
    now: number,
  ): Promise<void> {
    const r = rule.row;
    const k = key(r.id, a.id);
    const inst = this.open.get(k);
    if (!inst || inst.state !== 'pending') return;
    const at = new Date(now);
    const summary = this.summary(r, a, res);
    const suppressed = this.isSuppressed(r.id, a.id, now);
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET state = 'firing', fired_at = $3, value = $4, summary = $5,
            next_escalation_at = $6, suppressed = $7, version = version + 1
          WHERE id = $1 AND state = 'pending' AND version = $2 RETURNING *`,
        [inst.id, inst.version, at, res.value, summary, this.nextEscalation(r, 0, at), suppressed],
      );
      if (!row) return null;
      await this.history(m, row.id, 'firing', null, null, res.value, at);
      if (suppressed)
        await this.history(m, row.id, 'suppressed', null, 'maintenance window', null, at);
      return { row, outbox: await this.notify(m, r, row, 'firing', suppressed) };
    });
    if (!result) {
      await this.reloadKey(r.id, a.id);
      return;
    }
    this.open.set(k, result.row);
    this.afterCommit(result.row, 'alert_triggered', result.outbox, r);
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
    const k = key(inst.rule_id, inst.agent_id);
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
            ? await this.notify(
                m,
                rule,
                row,
                'resolved',
                row.suppressed || this.isSuppressed(row.rule_id, row.agent_id, Date.now()),
              )
            : [],
      };
    });
    if (!result) {
      if (inst.agent_id !== undefined) await this.reloadKey(inst.rule_id, inst.agent_id);
      return null;
    }
    if (this.open.get(k)?.id === inst.id) this.open.delete(k);
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
    const k = key(row.rule_id, row.agent_id);
    if (row.state === 'resolved') {
      if (this.open.get(k)?.id === row.id) this.open.delete(k);
    } else this.open.set(k, row);
  }

  private async reloadKey(ruleId: string, agentId: string | null): Promise<void> {
    const [row] = await sqlRows<InstanceRow>(
      this.db,
      `SELECT * FROM alert_instances WHERE rule_id = $1 AND COALESCE(agent_id, '${NIL_UUID}'::uuid) = COALESCE($2::uuid, '${NIL_UUID}'::uuid) AND state <> 'resolved'`,
      [ruleId, agentId],
    );
    const k = key(ruleId, agentId);
    if (row) this.open.set(k, row);
    else this.open.delete(k);
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

  /** Outbox rows for a transition, inside its transaction. */
  private async notify(
    m: SqlRunner,
    rule: RuleRow,
    row: InstanceRow,
    event: 'firing' | 'resolved',
    suppressed = false,
  ): Promise<string[]> {
    const entries: OutboxEntry[] = rule.channel_ids.map((channelId) => ({
      channelId,
      alertId: row.id,
      event,
      suppressed,
      group: { key: row.group_key, windowSec: rule.group_window_sec },
      payload: this.payload(rule, [row], event, `${row.id}:${event}:${channelId}`),
    }));
    return this.delivery.enqueue(m, entries);
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
    const tags = (agentId && this.agents.get(agentId)?.tags) || {};
    return this.maintenance.isSuppressed({ ruleId, agentId, tags }, now);
  }

  /** Firing alerts entering a window pause; leaving it, their held-back notification goes out. */
  private checkMaintenance(now: number): void {
    for (const inst of this.open.values()) {
      if (inst.state !== 'firing') continue;
      const want = this.isSuppressed(inst.rule_id, inst.agent_id, now);
      if (want === inst.suppressed) continue;
      this.enqueue(key(inst.rule_id, inst.agent_id), () => this.setSuppressed(inst, want));
    }
  }

  private async setSuppressed(inst: InstanceRow, suppressed: boolean): Promise<void> {
    const result = await this.fast.transaction(async (m) => {
      const [row] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET suppressed = $3, version = version + 1
          WHERE id = $1 AND version = $2 AND state = 'firing' RETURNING *`,
        [inst.id, inst.version, suppressed],
      );
      if (!row) return null;
      await this.history(
        m,
        row.id,
        suppressed ? 'suppressed' : 'unsuppressed',
        null,
        'maintenance window',
        null,
        new Date(),
      );
      const released = suppressed
        ? []
        : await sqlRows<{ id: string }>(
            m,
            `UPDATE notification_outbox SET status = 'pending', next_attempt_at = now()
              WHERE alert_id = $1 AND event = 'firing' AND status = 'suppressed' RETURNING id`,
            [row.id],
          );
      return { row, released: released.map((r) => r.id) };
    });
    if (!result) {
      await this.reloadKey(inst.rule_id, inst.agent_id);
      return;
    }
    this.open.set(key(inst.rule_id, inst.agent_id), result.row);
    if (result.released.length) this.delivery.kick(result.released);
  }

  // ---------------------------------------------------------------- escalation

  /** Unacknowledged firing alerts (or whose ack expired) move to their next escalation step. */
  private async escalate(): Promise<void> {
    const done = await this.db.transaction(async (m) => {
      const due = await sqlRows<InstanceRow>(
        m,
        `SELECT * FROM alert_instances
          WHERE state = 'firing' AND next_escalation_at <= now() AND NOT suppressed
            AND (acked_at IS NULL OR (ack_expires_at IS NOT NULL AND ack_expires_at <= now()))
          ORDER BY next_escalation_at LIMIT 50 FOR UPDATE SKIP LOCKED`,
      );
      const out: string[] = [];
      for (const inst of due) {
        const rule = this.rules.get(inst.rule_id)?.row;
        const step = rule?.escalation[inst.escalation_step];
        if (!rule || !step || !inst.fired_at) {
          await m.query(`UPDATE alert_instances SET next_escalation_at = NULL WHERE id = $1`, [
            inst.id,
          ]);
          continue;
        }
        const entries: OutboxEntry[] = step.channelIds.map((channelId) => ({
          channelId,
          alertId: inst.id,
          event: 'escalated',
          payload: this.payload(
            rule,
            [inst],
            'escalated',
            `${inst.id}:escalate:${inst.escalation_step}:${channelId}`,
          ),
        }));
        out.push(...(await this.delivery.enqueue(m, entries)));
        await m.query(
          `UPDATE alert_instances SET escalation_step = escalation_step + 1, next_escalation_at = $2, version = version + 1 WHERE id = $1`,
          [inst.id, this.nextEscalation(rule, inst.escalation_step + 1, inst.fired_at)],
        );
        await this.history(
          m,
          inst.id,
          'escalated',
          null,
          `step ${inst.escalation_step + 1}`,
          null,
          new Date(),
        );
      }
      return out;
    });
    if (done.length) this.delivery.kick(done);
  }
}

function key(ruleId: string, agentId: string | null): string {
  return `${ruleId}|${agentId ?? ''}|`;
}

function hasAnyNoData(c: RuleRow['condition']): boolean {
  if (c.kind === 'no_data') return !c.metric;
  if (c.kind === 'and' || c.kind === 'or') return c.conditions.some(hasAnyNoData);
  return false;
}
