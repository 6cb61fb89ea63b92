import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  AuditLogEntry,
  AuditOutcome,
  ListAuditLogsQuery,
  Page,
} from '@agent-monitor/contracts';
import { principalId, principalLabel, type RequestContext } from '../../common/access.js';
import { AuditLogEntity } from './audit-log.entity.js';

export interface AuditRecord {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  outcome?: AuditOutcome;
  changes?: Record<string, unknown> | null;
}

const SECRET_FIELD = /pass(word)?|secret|token|api[-_]?key|^key$|hash|authorization|smtp.*pass/i;

/** Replaces secret-looking values so nothing sensitive lands in the audit log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1),
    ]),
  );
}

@Injectable()
export class AuditService {
  constructor(private readonly db: DataSource) {}

  /**
   * Writes one audit row. Pass the transaction's EntityManager so the row commits (or rolls
   * back) with the change it describes; the request is then marked audited and the global
   * interceptor does not add a generic row.
   */
  async record(
    manager: EntityManager | null,
    ctx: RequestContext | null,
    r: AuditRecord,
  ): Promise<void> {
    const m = manager ?? this.db.manager;
    const p = ctx?.principal ?? null;
    const sys = p ? null : (ctx?.systemActor ?? null);
    await m.query(
      `INSERT INTO audit_logs (actor_type, actor_id, actor_label, action, resource_type, resource_id, outcome, ip, request_id, changes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        p ? p.kind : sys || !ctx ? 'system' : 'anonymous',
        principalId(p) ?? sys?.id?.slice(0, 64) ?? null,
        principalLabel(p) ?? sys?.label.slice(0, 254) ?? null,
        r.action.slice(0, 100),
        r.resourceType.slice(0, 64),
        r.resourceId?.slice(0, 100) ?? null,
        r.outcome ?? 'success',
        ctx?.ip?.slice(0, 64) ?? null,
        ctx?.requestId?.slice(0, 64) ?? null,
        r.changes ? JSON.stringify(redact(r.changes)) : null,
      ],
    );
    if (ctx && (r.outcome ?? 'success') === 'success') ctx.audited = true;
    else if (ctx) ctx.auditedFailure = true;
  }

  async list(q: ListAuditLogsQuery): Promise<Page<AuditLogEntry>> {
    const qb = this.db.getRepository(AuditLogEntity).createQueryBuilder('a');
    if (q.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: q.actorId });
    if (q.action) qb.andWhere('a.action ILIKE :action', { action: `%${escapeLike(q.action)}%` });
    if (q.resourceType) qb.andWhere('a.resource_type = :rt', { rt: q.resourceType });
    if (q.resourceId) qb.andWhere('a.resource_id = :rid', { rid: q.resourceId });
    if (q.outcome) qb.andWhere('a.outcome = :outcome', { outcome: q.outcome });
    if (q.from) qb.andWhere('a.at >= :from', { from: q.from });
    if (q.to) qb.andWhere('a.at < :to', { to: q.to });
    const [rows, total] = await qb
      .orderBy('a.at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .skip((q.page - 1) * q.limit)
      .take(q.limit)
      .getManyAndCount();
    return { items: rows.map(toEntry), total, page: q.page, limit: q.limit };
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toEntry(a: AuditLogEntity): AuditLogEntry {
  return {
    id: String(a.id),
    at: a.at.toISOString(),
    actorType: a.actorType,
    actorId: a.actorId,
    actorLabel: a.actorLabel,
    action: a.action,
    resourceType: a.resourceType,
    resourceId: a.resourceId,
    outcome: a.outcome,
    ip: a.ip,
    requestId: a.requestId,
    changes: a.changes,
  };
}
