import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  AlertCondition,
  AlertRule,
  AlertScope,
  AlertSeverity,
  CreateAlertRule,
  EscalationStep,
  ListAlertRulesQuery,
  Page,
  UpdateAlertRule,
} from '@agent-monitor/contracts';
import type { RequestContext } from '../../common/access.js';
import { principalLabel } from '../../common/access.js';
import { badRequest, notFound } from '../../common/errors.js';
import { EscalationPoliciesService } from '../escalation-policies/escalation-policies.service.js';
import { ChannelsService } from '../notifications/channels.service.js';
import { sqlCount, sqlRows } from '../notifications/sql.js';
import { AuditService } from '../audit/audit.service.js';

export interface RuleRow {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  severity: AlertSeverity;
  scope: AlertScope;
  condition: AlertCondition;
  for_sec: number;
  keep_firing_for_sec: number;
  labels: Record<string, string>;
  summary_template: string;
  channel_ids: string[];
  escalation_policy_id: string | null;
  group_window_sec: number;
  created_at: Date;
  updated_at: Date;
}

export function toRule(r: RuleRow, steps: EscalationStep[] = []): AlertRule {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    enabled: r.enabled,
    severity: r.severity,
    scope: r.scope,
    condition: r.condition,
    forSec: r.for_sec,
    keepFiringForSec: r.keep_firing_for_sec,
    labels: r.labels,
    summaryTemplate: r.summary_template,
    channelIds: r.channel_ids,
    escalationPolicyId: r.escalation_policy_id,
    escalation: r.escalation_policy_id ? steps : [],
    groupWindowSec: r.group_window_sec,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

type Listener = (ruleId: string) => Promise<void>;

@Injectable()
export class RulesService {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly channels: ChannelsService,
    private readonly policies: EscalationPoliciesService,
  ) {}

  /** Rules as the API shows them, with their policy's steps mirrored as `escalation`. */
  private async toRules(rows: RuleRow[]): Promise<AlertRule[]> {
    const ids = [...new Set(rows.map((r) => r.escalation_policy_id).filter((x) => x !== null))];
    const steps = ids.length
      ? await sqlRows<{ id: string; steps: EscalationStep[] }>(
          this.db,
          `SELECT id, steps FROM escalation_policies WHERE id = ANY($1::uuid[])`,
          [ids],
        )
      : [];
    const byId = new Map(steps.map((p) => [p.id, p.steps]));
    return rows.map((r) => toRule(r, byId.get(r.escalation_policy_id ?? '') ?? []));
  }

  /**
   * The engine reloads a rule on this instance before the request answers, so a sample sent
   * right after creating a rule is evaluated by it (other instances poll for changes).
   */
  onChange(l: Listener): void {
    this.listeners.push(l);
  }

  private async changed(id: string): Promise<void> {
    for (const l of this.listeners) await l(id);
  }

  private async checkChannels(r: Partial<CreateAlertRule>): Promise<void> {
    if (r.channelIds) await this.channels.assertExist(r.channelIds, 'channelIds');
    if (r.escalation?.length && r.escalationPolicyId)
      throw badRequest(
        'escalation: give either escalationPolicyId or (deprecated) inline escalation steps, not both',
        [{ field: 'escalation', message: 'not together with escalationPolicyId' }],
      );
    for (const [i, step] of (r.escalation ?? []).entries()) {
      await this.channels.assertExist(step.channelIds, `escalation.${i}.channelIds`);
    }
    if (r.escalationPolicyId)
      await this.policies.assertExists(r.escalationPolicyId, 'escalationPolicyId');
  }

  /** The policy id a write links: the given one, a new one for inline steps, or none. */
  private async policyFor(
    m: EntityManager,
    r: Partial<CreateAlertRule>,
    ruleName: string,
    ctx: RequestContext,
  ): Promise<string | null | undefined> {
    if (r.escalation?.length) return this.policies.createInline(m, ruleName, r.escalation, ctx);
    if (r.escalationPolicyId !== undefined) return r.escalationPolicyId;
    return r.escalation ? null : undefined;
  }

  async create(r: CreateAlertRule, ctx: RequestContext): Promise<AlertRule> {
    await this.checkChannels(r);
    const row = await this.db.transaction(async (m) => {
      const policyId = (await this.policyFor(m, r, r.name, ctx)) ?? null;
      const [x] = await sqlRows<RuleRow>(
        m,
        `INSERT INTO alert_rules (name, description, enabled, severity, scope, condition, for_sec,
            keep_firing_for_sec, labels, summary_template, channel_ids, escalation_policy_id, group_window_sec, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING *`,
        [
          r.name,
          r.description ?? null,
          r.enabled,
          r.severity,
          JSON.stringify(r.scope),
          JSON.stringify(r.condition),
          r.forSec,
          r.keepFiringForSec,
          JSON.stringify(r.labels),
          r.summaryTemplate,
          r.channelIds,
          policyId,
          r.groupWindowSec,
          principalLabel(ctx.principal),
        ],
      );
      await this.audit.record(m, ctx, {
        action: 'alert_rule.create',
        resourceType: 'alert_rule',
        resourceId: x.id,
        changes: { ...r },
      });
      return x;
    });
    await this.changed(row.id);
    return (await this.toRules([row]))[0];
  }

  async list(q: ListAlertRulesQuery): Promise<Page<AlertRule>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.q)
      where.push(`name ILIKE $${params.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
    if (q.enabled) where.push(`enabled = $${params.push(q.enabled === 'true')}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await sqlRows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM alert_rules ${w}`,
      params,
    );
    const rows = await sqlRows<RuleRow>(
      this.db,
      `SELECT * FROM alert_rules ${w} ORDER BY name, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    return { items: await this.toRules(rows), total: n, page: q.page, limit: q.limit };
  }

  async get(id: string): Promise<AlertRule> {
    const [r] = await sqlRows<RuleRow>(this.db, `SELECT * FROM alert_rules WHERE id = $1`, [id]);
    if (!r) throw notFound('Alert rule', id);
    return (await this.toRules([r]))[0];
  }

  async update(id: string, patch: UpdateAlertRule, ctx: RequestContext): Promise<AlertRule> {
    await this.checkChannels(patch);
    const cols: Record<keyof UpdateAlertRule, [string, (v: never) => unknown]> = {
      name: ['name', (v) => v],
      description: ['description', (v) => v],
      enabled: ['enabled', (v) => v],
      severity: ['severity', (v) => v],
      scope: ['scope', (v) => JSON.stringify(v)],
      condition: ['condition', (v) => JSON.stringify(v)],
      forSec: ['for_sec', (v) => v],
      keepFiringForSec: ['keep_firing_for_sec', (v) => v],
      labels: ['labels', (v) => JSON.stringify(v)],
      summaryTemplate: ['summary_template', (v) => v],
      channelIds: ['channel_ids', (v) => v],
      escalationPolicyId: ['escalation_policy_id', (v) => v],
      escalation: ['escalation_policy_id', (v) => v],
      groupWindowSec: ['group_window_sec', (v) => v],
    };
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [k, v] of Object.entries(patch) as Array<[keyof UpdateAlertRule, never]>) {
      if (v === undefined || k === 'escalation' || k === 'escalationPolicyId') continue;
      const [col, conv] = cols[k];
      sets.push(`${col} = $${params.push(conv(v))}`);
    }
    const row = await this.db.transaction(async (m) => {
      const [cur] = await sqlRows<{ name: string }>(
        m,
        `SELECT name FROM alert_rules WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!cur) throw notFound('Alert rule', id);
      const policyId = await this.policyFor(m, patch, patch.name ?? cur.name, ctx);
      if (policyId !== undefined) sets.push(`escalation_policy_id = $${params.push(policyId)}`);
      const [x] = await sqlRows<RuleRow>(
        m,
        `UPDATE alert_rules SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
        params,
      );
      if (!x) throw notFound('Alert rule', id);
      await this.audit.record(m, ctx, {
        action: 'alert_rule.update',
        resourceType: 'alert_rule',
        resourceId: id,
        changes: { ...patch },
      });
      return x;
    });
    await this.changed(id);
    return (await this.toRules([row]))[0];
  }

  async remove(id: string, ctx: RequestContext): Promise<void> {
    await this.db.transaction(async (m) => {
      const n = await sqlCount(m, `DELETE FROM alert_rules WHERE id = $1`, [id]);
      if (!n) throw notFound('Alert rule', id);
      await this.audit.record(m, ctx, {
        action: 'alert_rule.delete',
        resourceType: 'alert_rule',
        resourceId: id,
      });
    });
    await this.changed(id);
  }

  async allEnabled(): Promise<RuleRow[]> {
    return sqlRows<RuleRow>(this.db, `SELECT * FROM alert_rules WHERE enabled`);
  }

  /** Cheap fingerprint so other instances notice rule changes. */
  async fingerprint(): Promise<string> {
    const [r] = await sqlRows<{ n: number; at: Date | null }>(
      this.db,
      `SELECT count(*)::int AS n, max(updated_at) AS at FROM alert_rules`,
    );
    return `${r.n}:${r.at?.getTime() ?? 0}`;
  }
}
