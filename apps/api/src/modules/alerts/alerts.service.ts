import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type {
  AckAlert,
  AlertDetail,
  AlertInstance,
  AlertTransition,
  ListAlertsQuery,
  Page,
  ResolveAlert,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { conflict, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { sqlRows } from '../notifications/sql.js';
import { AlertEngine, type InstanceRow } from './alert-engine.service.js';

type Row = InstanceRow & {
  rule_name: string;
  group_id: string | null;
  correlated_with: string[] | null;
};

function toInstance(r: Row): AlertInstance {
  return {
    id: r.id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    agentId: r.agent_id,
    agentName: r.agent_name,
    labels: r.labels,
    severity: r.severity,
    state: r.state,
    value: r.value,
    threshold: r.threshold,
    summary: r.summary,
    startedAt: r.started_at.toISOString(),
    firedAt: r.fired_at?.toISOString() ?? null,
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    resolvedBy: r.resolved_by,
    acknowledgedAt: r.acked_at?.toISOString() ?? null,
    acknowledgedBy: r.acked_by,
    ackComment: r.ack_comment,
    ackExpiresAt: r.ack_expires_at?.toISOString() ?? null,
    suppressed: r.suppressed,
    groupKey: r.group_key,
    escalationStep: r.escalation_step,
    labelKey: r.label_key,
    inhibitedBy: r.inhibited_by,
    causedBy: r.caused_by_agent_id
      ? { agentId: r.caused_by_agent_id, agentName: r.caused_by_name }
      : null,
    correlationId: r.group_id,
    correlatedWith: r.correlated_with ?? [],
  };
}

/**
 * With the alert's correlation group and its other members, oldest first. The group is the one
 * its notification went out in; an alert that led no notification (its rule has no channel, as
 * the built-in group rule) still heads the group of the members it inhibits.
 */
const SELECT = `SELECT i.*, r.name AS rule_name, g.id AS group_id,
    CASE WHEN g.id IS NULL THEN NULL ELSE ARRAY(
      SELECT c.id FROM alert_instances c
       WHERE (c.correlation_id = g.id OR c.id = g.id) AND c.id <> i.id
       ORDER BY c.fired_at, c.id LIMIT 100) END AS correlated_with
  FROM alert_instances i JOIN alert_rules r ON r.id = i.rule_id
  CROSS JOIN LATERAL (SELECT COALESCE(i.correlation_id, (
      SELECT i.id FROM alert_instances m WHERE m.correlation_id = i.id AND m.id <> i.id LIMIT 1)) AS id) g`;

@Injectable()
export class AlertsService {
  constructor(
    private readonly db: DataSource,
    private readonly engine: AlertEngine,
    private readonly audit: AuditService,
  ) {}

  async active(): Promise<AlertInstance[]> {
    const rows = await sqlRows<Row>(
      this.db,
      `${SELECT} WHERE i.state <> 'resolved'
        ORDER BY CASE i.severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, i.started_at DESC
        LIMIT 5000`,
    );
    return rows.map(toInstance);
  }

  async list(q: ListAlertsQuery): Promise<Page<AlertInstance>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (q.state?.length) where.push(`i.state = ANY(${p(q.state)})`);
    if (q.severity?.length) where.push(`i.severity = ANY(${p(q.severity)})`);
    if (q.ruleId) where.push(`i.rule_id = ${p(q.ruleId)}`);
    if (q.agentId) where.push(`i.agent_id = ${p(q.agentId)}`);
    if (q.acknowledged)
      where.push(q.acknowledged === 'true' ? 'i.acked_at IS NOT NULL' : 'i.acked_at IS NULL');
    if (q.from) where.push(`i.started_at >= ${p(q.from)}`);
    if (q.to) where.push(`i.started_at < ${p(q.to)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await sqlRows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM alert_instances i ${w}`,
      params,
    );
    const rows = await sqlRows<Row>(
      this.db,
      `${SELECT} ${w} ORDER BY i.started_at DESC, i.id LIMIT ${p(q.limit)} OFFSET ${p((q.page - 1) * q.limit)}`,
      params,
    );
    return { items: rows.map(toInstance), total: n, page: q.page, limit: q.limit };
  }

  private async row(id: string): Promise<Row> {
    const [r] = await sqlRows<Row>(this.db, `${SELECT} WHERE i.id = $1`, [id]);
    if (!r) throw notFound('Alert', id);
    return r;
  }

  async get(id: string): Promise<AlertDetail> {
    const r = await this.row(id);
    const history = await sqlRows<{
      id: string;
      type: AlertTransition['type'];
      at: Date;
      by: string | null;
      comment: string | null;
      value: number | null;
    }>(
      this.db,
      `SELECT id::text, type, at, by, comment, value FROM alert_transitions WHERE alert_id = $1 ORDER BY id`,
      [id],
    );
    return {
      ...toInstance(r),
      history: history.map((h) => ({ ...h, alertId: id, at: h.at.toISOString() })),
    };
  }

  async ack(id: string, body: AckAlert, ctx: RequestContext): Promise<AlertDetail> {
    const by = principalLabel(ctx.principal) ?? 'unknown';
    const row = await this.db.transaction(async (m) => {
      const [cur] = await sqlRows<Row>(m, `${SELECT} WHERE i.id = $1 FOR UPDATE OF i`, [id]);
      if (!cur) throw notFound('Alert', id);
      if (cur.state === 'resolved') throw conflict('The alert is already resolved');
      const [r] = await sqlRows<InstanceRow>(
        m,
        `UPDATE alert_instances SET acked_at = now(), acked_by = $2, ack_comment = $3,
            ack_expires_at = CASE WHEN $4::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $4::float8 * 60) END,
            version = version + 1
          WHERE id = $1 RETURNING *`,
        [id, by, body.comment ?? null, body.expiresInMinutes ?? null],
      );
      await m.query(
        `INSERT INTO alert_transitions (alert_id, type, by, comment) VALUES ($1, 'acknowledged', $2, $3)`,
        [id, by, body.comment ?? null],
      );
      await this.audit.record(m, ctx, {
        action: 'alert.acknowledge',
        resourceType: 'alert',
        resourceId: id,
        changes: { comment: body.comment ?? null, expiresInMinutes: body.expiresInMinutes ?? null },
      });
      return { ...r, rule_name: cur.rule_name };
    });
    this.engine.noteChanged(row);
    this.engine.publish('alert_acknowledged', row, { name: row.rule_name }, by);
    return this.get(id);
  }

  async resolve(id: string, body: ResolveAlert, ctx: RequestContext): Promise<AlertDetail> {
    const by = principalLabel(ctx.principal) ?? 'unknown';
    const cur = await this.row(id);
    if (cur.state === 'resolved') throw conflict('The alert is already resolved');
    const done = await this.engine.resolve(cur, by, null, body.comment ?? null);
    if (!done) throw conflict('The alert is already resolved');
    await this.audit.record(null, ctx, {
      action: 'alert.resolve',
      resourceType: 'alert',
      resourceId: id,
      changes: { comment: body.comment ?? null },
    });
    return this.get(id);
  }
}
