import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { CronExpressionParser } from 'cron-parser';
import { DataSource } from 'typeorm';
import type {
  AgentMaintenance,
  CreateMaintenanceWindow,
  MaintenanceMatch,
  MaintenanceWindow,
  Page,
  PageQuery,
  UpdateMaintenanceWindow,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { badRequest, notFound } from '../../common/errors.js';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import { AgentsService } from '../agents/agents.service.js';
import { AuditService } from '../audit/audit.service.js';
import { sqlCount, sqlRows } from '../notifications/sql.js';

interface WindowRow {
  id: string;
  name: string;
  reason: string | null;
  match: MaintenanceMatch;
  starts_at: Date | null;
  ends_at: Date | null;
  cron: string | null;
  duration_minutes: number | null;
  time_zone: string;
  enabled: boolean;
  source: 'user' | 'agent';
  agent_id: string | null;
  done_requested: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Whether a window holds notifications back at `now`. */
export function windowActive(
  w: Pick<
    WindowRow,
    'enabled' | 'starts_at' | 'ends_at' | 'cron' | 'duration_minutes' | 'time_zone'
  >,
  now: number,
): boolean {
  if (!w.enabled) return false;
  if (w.starts_at && now < w.starts_at.getTime()) return false;
  if (w.ends_at && now >= w.ends_at.getTime()) return false;
  if (!w.cron) return !!w.starts_at && !!w.ends_at;
  try {
    // The latest occurrence at or before now (+1 ms so an occurrence exactly now counts).
    const it = CronExpressionParser.parse(w.cron, {
      currentDate: new Date(now + 1),
      tz: w.time_zone,
    });
    const start = it.prev().toDate().getTime();
    return now < start + (w.duration_minutes ?? 0) * 60_000;
  } catch {
    return false;
  }
}

export interface MaintenanceSubject {
  ruleId: string;
  agentId: string | null;
  tags: Record<string, string>;
  /** Agent groups the agent belongs to (explicitly or by tag selector). */
  groupIds?: string[];
}

export function matches(m: MaintenanceMatch, s: MaintenanceSubject): boolean {
  // Every given criterion must hold (agent AND tags AND rule AND one of the groups).
  if (m.agentIds?.length && (!s.agentId || !m.agentIds.includes(s.agentId))) return false;
  if (m.ruleIds?.length && !m.ruleIds.includes(s.ruleId)) return false;
  for (const [k, v] of Object.entries(m.tags ?? {})) if (s.tags[k] !== v) return false;
  if (m.groupIds?.length && !(s.groupIds ?? []).some((g) => m.groupIds!.includes(g))) return false;
  return true;
}

/**
 * Maintenance windows (silences). The alert engine asks `isSuppressed` at every transition;
 * windows are cached here and re-read on change and every few seconds (other instances).
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceService.name);
  private windows: WindowRow[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly agents: AgentsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.timer = setInterval(
      () => void this.reload().catch((e: unknown) => this.logger.warn(String(e))),
      2000,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    this.windows = await sqlRows<WindowRow>(
      this.db,
      `SELECT * FROM maintenance_windows WHERE enabled AND (ends_at IS NULL OR ends_at > now() - interval '1 minute')`,
    );
  }

  isSuppressed(s: MaintenanceSubject, now = Date.now()): boolean {
    return this.windows.some((w) => windowActive(w, now) && matches(w.match, s));
  }

  private toDto(r: WindowRow): MaintenanceWindow {
    return {
      id: r.id,
      name: r.name,
      reason: r.reason,
      match: r.match,
      startsAt: r.starts_at?.toISOString() ?? null,
      endsAt: r.ends_at?.toISOString() ?? null,
      cron: r.cron,
      durationMinutes: r.duration_minutes,
      timeZone: r.time_zone,
      enabled: r.enabled,
      source: r.source,
      active: windowActive(r, Date.now()),
      createdBy: r.created_by,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  private checkCron(cron: string | null | undefined, tz: string): void {
    if (!cron) return;
    try {
      CronExpressionParser.parse(cron, { tz });
    } catch (e) {
      throw badRequest(`cron: ${(e as Error).message}`, [
        { field: 'cron', message: (e as Error).message },
      ]);
    }
  }

  async create(w: CreateMaintenanceWindow, ctx: RequestContext): Promise<MaintenanceWindow> {
    this.checkCron(w.cron, w.timeZone);
    const row = await this.db.transaction(async (m) => {
      const [r] = await sqlRows<WindowRow>(
        m,
        `INSERT INTO maintenance_windows (name, reason, match, starts_at, ends_at, cron, duration_minutes, time_zone, enabled, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING *`,
        [
          w.name,
          w.reason ?? null,
          JSON.stringify(w.match),
          w.startsAt ?? null,
          w.endsAt ?? null,
          w.cron ?? null,
          w.durationMinutes ?? null,
          w.timeZone,
          w.enabled,
          principalLabel(ctx.principal),
        ],
      );
      await this.audit.record(m, ctx, {
        action: 'maintenance_window.create',
        resourceType: 'maintenance_window',
        resourceId: r.id,
        changes: { ...w },
      });
      return r;
    });
    await this.reload();
    return this.toDto(row);
  }

  async list(q: PageQuery): Promise<Page<MaintenanceWindow>> {
    const [{ n }] = await sqlRows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM maintenance_windows`,
    );
    const rows = await sqlRows<WindowRow>(
      this.db,
      `SELECT * FROM maintenance_windows ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
      [q.limit, (q.page - 1) * q.limit],
    );
    return { items: rows.map((r) => this.toDto(r)), total: n, page: q.page, limit: q.limit };
  }

  async get(id: string): Promise<MaintenanceWindow> {
    const [r] = await sqlRows<WindowRow>(
      this.db,
      `SELECT * FROM maintenance_windows WHERE id = $1`,
      [id],
    );
    if (!r) throw notFound('Maintenance window', id);
    return this.toDto(r);
  }

  async update(
    id: string,
    p: UpdateMaintenanceWindow,
    ctx: RequestContext,
  ): Promise<MaintenanceWindow> {
    const cur = await this.get(id);
    const merged = {
      startsAt: p.startsAt === undefined ? cur.startsAt : p.startsAt,
      endsAt: p.endsAt === undefined ? cur.endsAt : p.endsAt,
      cron: p.cron === undefined ? cur.cron : p.cron,
      durationMinutes: p.durationMinutes === undefined ? cur.durationMinutes : p.durationMinutes,
      timeZone: p.timeZone ?? cur.timeZone,
    };
    if (merged.cron ? !merged.durationMinutes : !merged.startsAt || !merged.endsAt) {
      throw badRequest(
        merged.cron
          ? 'durationMinutes: required with cron'
          : 'startsAt/endsAt: required without cron',
      );
    }
    if (
      merged.startsAt &&
      merged.endsAt &&
      Date.parse(merged.endsAt) <= Date.parse(merged.startsAt)
    ) {
      throw badRequest('endsAt: must be after startsAt');
    }
    this.checkCron(merged.cron, merged.timeZone);
    const row = await this.db.transaction(async (m) => {
      const [r] = await sqlRows<WindowRow>(
        m,
        `UPDATE maintenance_windows SET name = $2, reason = $3, match = $4, starts_at = $5, ends_at = $6, cron = $7,
            duration_minutes = $8, time_zone = $9, enabled = $10, updated_at = now() WHERE id = $1 RETURNING *`,
        [
          id,
          p.name ?? cur.name,
          p.reason === undefined ? cur.reason : p.reason,
          JSON.stringify(p.match ?? cur.match),
          merged.startsAt,
          merged.endsAt,
          merged.cron,
          merged.durationMinutes,
          merged.timeZone,
          p.enabled ?? cur.enabled,
        ],
      );
      if (!r) throw notFound('Maintenance window', id);
      await this.audit.record(m, ctx, {
        action: 'maintenance_window.update',
        resourceType: 'maintenance_window',
        resourceId: id,
        changes: { ...p },
      });
      return r;
    });
    await this.reload();
    return this.toDto(row);
  }

  async remove(id: string, ctx: RequestContext): Promise<void> {
    await this.db.transaction(async (m) => {
      const n = await sqlCount(m, `DELETE FROM maintenance_windows WHERE id = $1`, [id]);
      if (!n) throw notFound('Maintenance window', id);
      await this.audit.record(m, ctx, {
        action: 'maintenance_window.delete',
        resourceType: 'maintenance_window',
        resourceId: id,
      });
    });
    await this.reload();
  }

  /** An agent declares maintenance for itself, or says it is done. */
  async agentMaintenance(
    agentId: string,
    body: AgentMaintenance,
    ctx: RequestContext,
  ): Promise<MaintenanceWindow | null> {
    await this.agents.getById(agentId);
    if ('done' in body) {
      const rows = await this.db.transaction(async (m) => {
        const r = await sqlRows<WindowRow>(
          m,
          `UPDATE maintenance_windows SET done_requested = true, updated_at = now()
            WHERE agent_id = $1 AND source = 'agent' AND ends_at > now() RETURNING *`,
          [agentId],
        );
        await this.audit.record(m, ctx, {
          action: 'maintenance_window.agent_done',
          resourceType: 'agent',
          resourceId: agentId,
        });
        return r;
      });
      await this.reload();
      return rows[0] ? this.toDto(rows[0]) : null;
    }
    const row = await this.db.transaction(async (m) => {
      const [r] = await sqlRows<WindowRow>(
        m,
        `INSERT INTO maintenance_windows (name, reason, match, starts_at, ends_at, time_zone, source, agent_id, created_by)
         VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4::float8 * 60), 'UTC', 'agent', $5, $6) RETURNING *`,
        [
          `agent self-maintenance`,
          body.reason ?? null,
          JSON.stringify({ agentIds: [agentId] }),
          body.minutes,
          agentId,
          principalLabel(ctx.principal),
        ],
      );
      await this.audit.record(m, ctx, {
        action: 'maintenance_window.agent_start',
        resourceType: 'maintenance_window',
        resourceId: r.id,
        changes: { ...body },
      });
      return r;
    });
    await this.reload();
    return this.toDto(row);
  }

  /** The first heartbeat after the agent said it is done ends its self-declared window. */
  @OnEvent(InternalEvent.AgentHeartbeat)
  async onHeartbeat(p: InternalEventPayloads[typeof InternalEvent.AgentHeartbeat]): Promise<void> {
    if (!this.windows.some((w) => w.agent_id === p.agentId && w.done_requested)) return;
    const n = await sqlCount(
      this.db,
      `UPDATE maintenance_windows SET ends_at = now(), updated_at = now()
        WHERE agent_id = $1 AND source = 'agent' AND done_requested AND ends_at > now()`,
      [p.agentId],
    );
    if (n) await this.reload();
  }
}
