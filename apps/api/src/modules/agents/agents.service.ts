import { Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AGENT_STATUSES,
  DEFAULT_HEARTBEAT_INTERVAL_SEC,
  type Agent,
  type AgentActivityState,
  type AgentConfig,
  type AgentConfigResponse,
  type AgentDetail,
  type AgentList,
  type AgentStatus,
  type AgentStatusHistoryEntry,
  type AgentStatusHistoryQuery,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ListAgentsQuery,
  type Page,
  type PutAgentConfigRequest,
  type RegisterAgentInput,
  type RegisterAgentResponse,
  type UpdateAgentInput,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { DomainException, notFound } from '../../common/errors.js';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import { AuditService } from '../audit/audit.service.js';
import { groupMemberSql, isUuid } from '../groups/group-membership.js';
import { AgentStatusEvents, type StatusChange } from './agent-status-events.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { LatestMetricsProvider } from './latest-metrics.provider.js';
import { offlineAtSql, staleAtSql } from './liveness-sql.js';

/** Columns every agent read selects (alias `a`). */
const AGENT_COLUMNS = `a.id, a.name, a.type, a.host, a.port, a.environment,
  a.metadata->>'region' AS region, a.version, a.status,
  a.reported_state, a.heartbeat_interval_sec, a.heartbeat_jitter_ms, a.last_heartbeat,
  a.status_changed_at, a.registered_at, a.updated_at, a.current_task, a.branch,
  a.uncommitted_changes, a.uptime_sec, a.container_id, a.config_version, a.applied_config_version,
  COALESCE((SELECT jsonb_object_agg(t.key, t.value) FROM agent_tags t WHERE t.agent_id = a.id), '{}'::jsonb) AS tags`;

interface AgentRow {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number | null;
  environment: string | null;
  region: string | null;
  version: string | null;
  status: AgentStatus;
  reported_state: AgentActivityState | null;
  heartbeat_interval_sec: number;
  heartbeat_jitter_ms: number;
  last_heartbeat: Date | null;
  status_changed_at: Date;
  registered_at: Date;
  updated_at: Date;
  current_task: string | null;
  branch: string | null;
  uncommitted_changes: number | null;
  uptime_sec: number | null;
  container_id: string | null;
  config_version: number;
  applied_config_version: number | null;
  tags: Record<string, string>;
  metadata?: Record<string, unknown>;
}

const SORT_COLUMNS: Record<string, string> = {
  name: 'a.name',
  type: 'a.type',
  status: 'a.status',
  host: 'a.host',
  environment: 'a.environment',
  lastHeartbeat: 'a.last_heartbeat',
  registeredAt: 'a.registered_at',
};

/** How long a resolved `agent_id`/`agent`/`host` reference is trusted without a lookup. */
const REF_CACHE_MS = 10_000;

@Injectable()
export class AgentsService {
  private readonly refCache = new Map<string, { id: string | null; until: number }>();

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly apiKeys: ApiKeysService,
    private readonly statusEvents: AgentStatusEvents,
    private readonly events: EventEmitter2,
    private readonly realtime: RealtimePublisher,
    private readonly heartbeats: HeartbeatWriter,
    @Optional() private readonly latestMetrics?: LatestMetricsProvider,
  ) {}

  // ---------------------------------------------------------------- registration

  /**
   * Creates the agent, or (same name + host) refreshes the existing one and keeps its id.
   * Either way the agent gets a fresh key and every older key of that agent is revoked.
   */
  async register(ctx: RequestContext, input: RegisterAgentInput): Promise<RegisterAgentResponse> {
    const interval = input.heartbeatIntervalSec ?? DEFAULT_HEARTBEAT_INTERVAL_SEC;
    const result = await this.db.transaction(async (m) => {
      let created = false;
      let existing = await this.lockByNameHost(m, input.name, input.host);
      if (!existing) {
        const inserted = await m.query<Array<{ id: string }>>(
          `INSERT INTO agents (name, type, host, port, environment, version, metadata,
              heartbeat_interval_sec, container_id, status, last_heartbeat, stale_at, offline_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'online', now(),
              ${staleAtSql('$8', '0')}, ${offlineAtSql('$8', '0')})
           ON CONFLICT (name, host) WHERE deleted_at IS NULL DO NOTHING
           RETURNING id`,
          [
            input.name,
            input.type,
            input.host,
            input.port ?? null,
            input.environment ?? null,
            input.version ?? null,
            JSON.stringify(input.metadata ?? {}),
            interval,
            input.containerId ?? null,
          ],
        );
        if (inserted[0]) {
          created = true;
          existing = { id: inserted[0].id, status: null };
        } else {
          // Registered concurrently by another request: treat as a re-registration.
          existing = await this.lockByNameHost(m, input.name, input.host);
          if (!existing) throw new DomainException('CONFLICT', 'Agent registration raced; retry');
        }
      }
      const id = existing.id;
      if (!created) {
        await m.query(
          `UPDATE agents SET type = $2, port = $3, environment = $4, version = $5,
              metadata = COALESCE($6::jsonb, metadata), heartbeat_interval_sec = $7,
              container_id = COALESCE($8, container_id), status = 'online',
              status_changed_at = CASE WHEN status = 'online' THEN status_changed_at ELSE now() END,
              last_heartbeat = now(), updated_at = now(),
              stale_at = ${staleAtSql('$7', 'heartbeat_jitter_ms')},
              offline_at = ${offlineAtSql('$7', 'heartbeat_jitter_ms')}
            WHERE id = $1`,
          [
            id,
            input.type,
            input.port ?? null,
            input.environment ?? null,
            input.version ?? null,
            input.metadata ? JSON.stringify(input.metadata) : null,
            interval,
            input.containerId ?? null,
          ],
        );
      }
      if (input.tags) await this.replaceTags(m, id, input.tags);
      let change: StatusChange | null = null;
      if (existing.status !== 'online') {
        const at = await this.insertHistory(m, id, existing.status, 'online', 'registered');
        change = {
          agentId: id,
          name: input.name,
          previousStatus: existing.status,
          status: 'online',
          at,
          reason: 'registered',
        };
      }
      await this.apiKeys.revokeAgentKeys(m, id);
      const { key } = await this.apiKeys.issueAgentKey(m, id, input.name);
      const { version, config } = await this.readConfig(m, id);
      await this.audit.record(m, ctx, {
        action: created ? 'agent.register' : 'agent.reregister',
        resourceType: 'agent',
        resourceId: id,
        changes: {
          name: input.name,
          type: input.type,
          host: input.host,
          port: input.port ?? null,
          environment: input.environment ?? null,
        },
      });
      return { id, created, key, version, config, change };
    });
    this.forgetRefs();
    this.events.emit(InternalEvent.AgentRegistered, {
      agentId: result.id,
      name: input.name,
      created: result.created,
    } satisfies InternalEventPayloads[typeof InternalEvent.AgentRegistered]);
    if (result.change) this.statusEvents.announce([result.change]);
    return {
      id: result.id,
      status: 'online',
      agentKey: result.key,
      heartbeatIntervalSec: interval,
      configVersion: result.version,
      config: result.config,
      created: result.created,
    };
  }

  private async lockByNameHost(
    m: EntityManager,
    name: string,
    host: string,
  ): Promise<{ id: string; status: AgentStatus | null } | null> {
    const rows = await m.query<Array<{ id: string; status: AgentStatus }>>(
      `SELECT id, status FROM agents WHERE name = $1 AND host = $2 AND deleted_at IS NULL FOR UPDATE`,
      [name, host],
    );
    return rows[0] ?? null;
  }

  // ---------------------------------------------------------------- heartbeat

  /**
   * Renews the lease and stores the reported state (group-committed with concurrent
   * heartbeats by HeartbeatWriter); a 2xx means it is stored. Status changes are announced
   * once, after commit.
   */
  async heartbeat(id: string, hb: HeartbeatRequest): Promise<HeartbeatResponse> {
    if (!isUuid(id)) throw notFound('Agent', id);
    const reported = hb.status ?? null;
    const next: AgentStatus = reported === 'error' || reported === 'down' ? reported : 'online';
    const r = await this.heartbeats.write({
      id,
      next,
      reported,
      currentTask: hb.currentTask,
      branch: hb.branch,
      uncommittedChanges: hb.uncommittedChanges,
      uptimeSec: hb.uptimeSec,
      appliedConfigVersion: hb.appliedConfigVersion,
      version: hb.version,
    });
    if (!r) throw notFound('Agent', id);
    this.events.emit(InternalEvent.AgentHeartbeat, {
      agentId: r.id,
      name: r.name,
      at: r.at,
      appliedConfigVersion: r.applied_config_version,
    } satisfies InternalEventPayloads[typeof InternalEvent.AgentHeartbeat]);
    if (r.prev !== r.status) {
      this.statusEvents.announce([
        {
          agentId: r.id,
          name: r.name,
          previousStatus: r.prev,
          status: r.status,
          at: r.at,
          reason: r.status === 'online' ? 'heartbeat' : 'reported',
        },
      ]);
    }
    const res: HeartbeatResponse = {
      status: r.status,
      configVersion: r.config_version,
      heartbeatIntervalSec: r.heartbeat_interval_sec,
    };
    if (r.config_version !== (r.applied_config_version ?? 0)) {
      res.config = (await this.readConfig(this.db.manager, id)).config;
    }
    return res;
  }

  // ---------------------------------------------------------------- reads

  async list(q: ListAgentsQuery): Promise<AgentList> {
    const { where, params } = this.filters(q, true);
    const { where: whereNoStatus, params: paramsNoStatus } = this.filters(q, false);
    const desc = q.sort.startsWith('-');
    const col = SORT_COLUMNS[q.sort.replace(/^-/, '')] ?? 'a.name';
    const order = `${col} ${desc ? 'DESC' : 'ASC'} NULLS LAST, a.id`;
    const [rows, totals, counts] = await Promise.all([
      this.db.query<AgentRow[]>(
        `SELECT ${AGENT_COLUMNS} FROM agents a WHERE ${where}
          ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, q.limit, (q.page - 1) * q.limit],
      ),
      this.db.query<Array<{ total: string }>>(
        `SELECT count(*) AS total FROM agents a WHERE ${where}`,
        params,
      ),
      this.db.query<Array<{ status: AgentStatus; n: string }>>(
        `SELECT a.status, count(*) AS n FROM agents a WHERE ${whereNoStatus} GROUP BY a.status`,
        paramsNoStatus,
      ),
    ]);
    const statusCounts = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<
      AgentStatus,
      number
    >;
    for (const c of counts) statusCounts[c.status] = Number(c.n);
    const metrics = await this.latestFor(rows.map((r) => r.id));
    return {
      items: rows.map((r) => toAgent(r, metrics.get(r.id) ?? null)),
      total: Number(totals[0].total),
      page: q.page,
      limit: q.limit,
      statusCounts,
    };
  }

  private filters(q: ListAgentsQuery, withStatus: boolean): { where: string; params: unknown[] } {
    const where = ['a.deleted_at IS NULL'];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (withStatus && q.status?.length) where.push(`a.status = ANY(${p(q.status)})`);
    if (q.type) where.push(`a.type = ${p(q.type)}`);
    if (q.environment) where.push(`a.environment = ${p(q.environment)}`);
    // Region lives in metadata (agents already send it there); no column to keep in sync.
    if (q.region?.length) where.push(`a.metadata->>'region' = ANY(${p(q.region)}::text[])`);
    if (q.q) {
      const like = p(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(a.name ILIKE ${like} OR a.host ILIKE ${like})`);
    }
    for (const tag of q.tag ?? []) {
      const i = tag.indexOf(':');
      if (i < 0) {
        where.push(
          `EXISTS (SELECT 1 FROM agent_tags t WHERE t.agent_id = a.id AND t.key = ${p(tag)})`,
        );
      } else {
        where.push(
          `EXISTS (SELECT 1 FROM agent_tags t WHERE t.agent_id = a.id AND t.key = ${p(tag.slice(0, i))} AND t.value = ${p(tag.slice(i + 1))})`,
        );
      }
    }
    // Members of a group, explicit or by tag selector (the fleet domain's SQL condition).
    if (q.group) {
      where.push(isUuid(q.group) ? groupMemberSql('a', `${p(q.group)}::uuid`) : 'FALSE');
    }
    return { where: where.join(' AND '), params };
  }

  /** The agent with metadata, tags and config; 404 when unknown or deleted. */
  async getById(id: string): Promise<AgentDetail> {
    if (!isUuid(id)) throw notFound('Agent', id);
    const rows = await this.db.query<AgentRow[]>(
      `SELECT ${AGENT_COLUMNS}, a.metadata FROM agents a WHERE a.id = $1 AND a.deleted_at IS NULL`,
      [id],
    );
    const r = rows[0];
    if (!r) throw notFound('Agent', id);
    const [{ config }, metrics, groups] = await Promise.all([
      this.readConfig(this.db.manager, id),
      this.latestFor([id]),
      this.db.query<Array<{ id: string; name: string }>>(
        `SELECT g.id, g.name FROM agent_groups g, agents a
          WHERE a.id = $1 AND ${groupMemberSql('a', 'g.id')} ORDER BY g.name`,
        [id],
      ),
    ]);
    return {
      ...toAgent(r, metrics.get(id) ?? null),
      metadata: r.metadata ?? {},
      config,
      groups,
      heartbeatJitterMs: Math.round(r.heartbeat_jitter_ms),
    };
  }

  /** Agents by id (deleted ones left out), in no particular order. */
  async findByIds(ids: string[]): Promise<Agent[]> {
    const valid = [...new Set(ids.filter(isUuid))];
    if (!valid.length) return [];
    const rows = await this.db.query<AgentRow[]>(
      `SELECT ${AGENT_COLUMNS} FROM agents a WHERE a.id = ANY($1::uuid[]) AND a.deleted_at IS NULL`,
      [valid],
    );
    return rows.map((r) => toAgent(r, null));
  }

  /** The ids among `ids` of live (not deleted) agents: a primary-key probe, no row mapping. */
  async existingIds(ids: string[]): Promise<string[]> {
    const valid = [...new Set(ids.filter(isUuid))];
    if (!valid.length) return [];
    const rows = await this.db.query<Array<{ id: string }>>(
      `SELECT id FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
      [valid],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Maps line-protocol tag values (`agent_id`, `agent`, `host`) to agent ids: by id, else by
   * name, else by host (oldest agent on that host). Unknown refs are absent from the result.
   * Cached briefly; registration and deletion clear the cache.
   */
  async resolveRefs(refs: string[]): Promise<Map<string, string>> {
    const now = Date.now();
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const ref of new Set(refs)) {
      const hit = this.refCache.get(ref);
      if (hit && hit.until > now) {
        if (hit.id) out.set(ref, hit.id);
      } else missing.push(ref);
    }
    if (missing.length) {
      const rows = await this.db.query<Array<{ ref: string; id: string }>>(
        `SELECT DISTINCT ON (r.ref) r.ref, a.id
           FROM unnest($1::text[]) AS r(ref)
           JOIN agents a ON a.deleted_at IS NULL
            AND (a.id::text = r.ref OR a.name = r.ref OR a.host = r.ref)
          ORDER BY r.ref, (a.id::text = r.ref) DESC, (a.name = r.ref) DESC, a.registered_at`,
        [missing],
      );
      const found = new Map(rows.map((r) => [r.ref, r.id]));
      for (const ref of missing) {
        const id = found.get(ref) ?? null;
        this.refCache.set(ref, { id, until: now + REF_CACHE_MS });
        if (id) out.set(ref, id);
      }
      if (this.refCache.size > 100_000) this.refCache.clear();
    }
    return out;
  }

  private forgetRefs(): void {
    this.refCache.clear();
  }

  async statusHistory(
    id: string,
    q: AgentStatusHistoryQuery,
  ): Promise<Page<AgentStatusHistoryEntry>> {
    await this.requireExists(id);
    const where = ['h.agent_id = $1'];
    const params: unknown[] = [id];
    if (q.from) {
      params.push(q.from);
      where.push(`h.at >= $${params.length}`);
    }
    if (q.to) {
      params.push(q.to);
      where.push(`h.at < $${params.length}`);
    }
    const w = where.join(' AND ');
    const [rows, total] = await Promise.all([
      this.db.query<
        Array<{
          id: string;
          agent_id: string;
          previous_status: AgentStatus | null;
          status: AgentStatus;
          reason: string;
          at: Date;
        }>
      >(
        `SELECT h.id, h.agent_id, h.previous_status, h.status, h.reason, h.at
           FROM agent_status_history h WHERE ${w}
          ORDER BY h.at DESC, h.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, q.limit, (q.page - 1) * q.limit],
      ),
      this.db.query<Array<{ n: string }>>(
        `SELECT count(*) AS n FROM agent_status_history h WHERE ${w}`,
        params,
      ),
    ]);
    return {
      items: rows.map((r) => ({
        id: String(r.id),
        agentId: r.agent_id,
        previousStatus: r.previous_status,
        status: r.status,
        reason: r.reason,
        at: r.at.toISOString(),
      })),
      total: Number(total[0].n),
      page: q.page,
      limit: q.limit,
    };
  }

  // ---------------------------------------------------------------- changes

  async update(ctx: RequestContext, id: string, input: UpdateAgentInput): Promise<AgentDetail> {
    await this.db.transaction(async (m) => {
      const before = await this.lockById(m, id);
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown, cast = '') => {
        params.push(v);
        sets.push(`${col} = $${params.length}${cast}`);
      };
      if (input.name !== undefined) set('name', input.name);
      if (input.environment !== undefined) set('environment', input.environment);
      if (input.metadata !== undefined) set('metadata', JSON.stringify(input.metadata), '::jsonb');
      if (input.heartbeatIntervalSec !== undefined) {
        set('heartbeat_interval_sec', input.heartbeatIntervalSec);
        const iv = `$${params.length}`;
        // A new interval moves the current lease, measured from the last heartbeat.
        sets.push(
          `stale_at = COALESCE(last_heartbeat, now()) - now() + ${staleAtSql(iv, 'heartbeat_jitter_ms')}`,
          `offline_at = COALESCE(last_heartbeat, now()) - now() + ${offlineAtSql(iv, 'heartbeat_jitter_ms')}`,
        );
      }
      sets.push('updated_at = now()');
      try {
        await m.query(`UPDATE agents SET ${sets.join(', ')} WHERE id = $1`, params);
      } catch (e) {
        if ((e as { code?: string }).code === '23505') {
          throw new DomainException(
            'CONFLICT',
            `An agent named "${input.name}" already exists on host ${before.host}`,
          );
        }
        throw e;
      }
      if (input.tags !== undefined) await this.replaceTags(m, id, input.tags);
      await this.audit.record(m, ctx, {
        action: 'agent.update',
        resourceType: 'agent',
        resourceId: id,
        changes: { ...input, metadata: input.metadata ? '[updated]' : undefined },
      });
    });
    this.forgetRefs();
    return this.getById(id);
  }

  /**
   * Soft delete: the row stays (history, metrics and alerts keep their reference), the name
   * and host are free for a new registration, and the agent's keys are revoked.
   */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    const change = await this.db.transaction(async (m) => {
      const before = await this.lockById(m, id);
      await m.query(
        `UPDATE agents SET deleted_at = now(), status = 'offline', status_changed_at = now(),
            stale_at = NULL, offline_at = NULL, updated_at = now() WHERE id = $1`,
        [id],
      );
      const at = await this.insertHistory(m, id, before.status, 'offline', 'deleted');
      await this.apiKeys.revokeAgentKeys(m, id);
      await this.audit.record(m, ctx, {
        action: 'agent.delete',
        resourceType: 'agent',
        resourceId: id,
        changes: { name: before.name, host: before.host },
      });
      return {
        agentId: id,
        name: before.name,
        previousStatus: before.status,
        status: 'offline' as const,
        at,
        reason: 'deleted' as const,
      };
    });
    this.forgetRefs();
    this.events.emit(InternalEvent.AgentDeleted, {
      agentId: id,
      name: change.name,
    } satisfies InternalEventPayloads[typeof InternalEvent.AgentDeleted]);
    this.statusEvents.announce([change]);
  }

  async getConfig(id: string): Promise<AgentConfigResponse> {
    await this.requireExists(id);
    const { version, config, updatedAt } = await this.readConfig(this.db.manager, id);
    return { agentId: id, configVersion: version, config, updatedAt };
  }

  /** Replaces the whole config and bumps the version; the agent gets it with its next heartbeat. */
  async putConfig(
    ctx: RequestContext,
    id: string,
    req: PutAgentConfigRequest,
  ): Promise<AgentConfigResponse> {
    const { name, version } = await this.db.transaction(async (m) => {
      const before = await this.lockById(m, id);
      if (req.expectedVersion !== undefined && req.expectedVersion !== before.config_version) {
        throw new DomainException(
          'CONFLICT',
          `Config is at version ${before.config_version}, not ${req.expectedVersion}`,
          { currentVersion: before.config_version },
        );
      }
      const next = before.config_version + 1;
      await m.query(`UPDATE agents SET config_version = $2, updated_at = now() WHERE id = $1`, [
        id,
        next,
      ]);
      await m.query(`DELETE FROM agent_configurations WHERE agent_id = $1`, [id]);
      const entries = Object.entries(req.config);
      if (entries.length) {
        await m.query(
          `INSERT INTO agent_configurations (agent_id, key, value, version, updated_by)
           SELECT $1, k, v, $2, $3 FROM unnest($4::text[], $5::jsonb[]) AS x(k, v)`,
          [
            id,
            next,
            principalLabel(ctx.principal),
            entries.map(([k]) => k),
            entries.map(([, v]) => JSON.stringify(v ?? null)),
          ],
        );
      }
      await this.audit.record(m, ctx, {
        action: 'agent.config.update',
        resourceType: 'agent',
        resourceId: id,
        changes: { configVersion: next, keys: entries.map(([k]) => k) },
      });
      return { name: before.name, version: next };
    });
    this.events.emit(InternalEvent.AgentConfigChanged, {
      agentId: id,
      name,
      configVersion: version,
    } satisfies InternalEventPayloads[typeof InternalEvent.AgentConfigChanged]);
    this.realtime.publish(
      'config_pushed',
      { agentId: id, configVersion: version, at: new Date().toISOString() },
      {},
    );
    return this.getConfig(id);
  }

  // ---------------------------------------------------------------- helpers

  private async latestFor(ids: string[]): Promise<Map<string, Record<string, number>>> {
    if (!this.latestMetrics || !ids.length) return new Map();
    return this.latestMetrics.latestFor(ids);
  }

  private async requireExists(id: string): Promise<void> {
    if (!isUuid(id)) throw notFound('Agent', id);
    const rows = await this.db.query<unknown[]>(
      `SELECT 1 FROM agents WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    if (!rows.length) throw notFound('Agent', id);
  }

  private async lockById(
    m: EntityManager,
    id: string,
  ): Promise<{ name: string; host: string; status: AgentStatus; config_version: number }> {
    if (!isUuid(id)) throw notFound('Agent', id);
    const rows = await m.query<
      Array<{ name: string; host: string; status: AgentStatus; config_version: number }>
    >(
      `SELECT name, host, status, config_version FROM agents
        WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
      [id],
    );
    if (!rows[0]) throw notFound('Agent', id);
    return rows[0];
  }

  private async insertHistory(
    m: EntityManager,
    agentId: string,
    previous: AgentStatus | null,
    status: AgentStatus,
    reason: string,
  ): Promise<Date> {
    const rows = await m.query<Array<{ at: Date }>>(
      `INSERT INTO agent_status_history (agent_id, previous_status, status, reason)
       VALUES ($1, $2, $3, $4) RETURNING at`,
      [agentId, previous, status, reason],
    );
    return rows[0].at;
  }

  private async replaceTags(m: EntityManager, id: string, tags: Record<string, string>) {
    await m.query(`DELETE FROM agent_tags WHERE agent_id = $1`, [id]);
    const entries = Object.entries(tags);
    if (!entries.length) return;
    await m.query(
      `INSERT INTO agent_tags (agent_id, key, value)
       SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS x(k, v)`,
      [id, entries.map(([k]) => k), entries.map(([, v]) => v)],
    );
  }

  private async readConfig(
    m: EntityManager,
    id: string,
  ): Promise<{ version: number; config: AgentConfig; updatedAt: string | null }> {
    const rows = await m.query<
      Array<{ config_version: number; config: AgentConfig | null; updated_at: Date | null }>
    >(
      `SELECT a.config_version,
              (SELECT jsonb_object_agg(c.key, c.value) FROM agent_configurations c WHERE c.agent_id = a.id) AS config,
              (SELECT max(c.updated_at) FROM agent_configurations c WHERE c.agent_id = a.id) AS updated_at
         FROM agents a WHERE a.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) throw notFound('Agent', id);
    return {
      version: r.config_version,
      config: r.config ?? {},
      updatedAt: r.updated_at?.toISOString() ?? null,
    };
  }
}

function toAgent(r: AgentRow, latestMetrics: Record<string, number> | null): Agent {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    host: r.host,
    port: r.port,
    environment: r.environment,
    region: r.region ?? null,
    version: r.version,
    status: r.status,
    reportedState: r.reported_state,
    tags: r.tags ?? {},
    heartbeatIntervalSec: r.heartbeat_interval_sec,
    lastHeartbeat: r.last_heartbeat?.toISOString() ?? null,
    statusChangedAt: r.status_changed_at.toISOString(),
    registeredAt: r.registered_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    currentTask: r.current_task,
    branch: r.branch,
    uncommittedChanges: r.uncommitted_changes,
    uptimeSec: r.uptime_sec,
    containerId: r.container_id,
    configVersion: r.config_version,
    appliedConfigVersion: r.applied_config_version,
    latestMetrics,
  };
}
