import { Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AGENT_STATUSES,
  type Agent,
  type AgentGroup,
  type AgentGroupDetail,
  type AgentGroupRef,
  type GroupMetricAggregate,
  type AgentStatus,
  type CreateAgentGroupRequest,
  type GroupAgentsQuery,
  type ListAgentGroupsQuery,
  type Page,
  type UpdateAgentGroupRequest,
} from '@agent-monitor/contracts';
import type { RequestContext } from '../../common/access.js';
import { badRequest, conflict, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { AgentsService } from '../agents/agents.service.js';
import { LatestMetricsProvider } from '../agents/latest-metrics.provider.js';
import { groupMemberSql, isUuid } from './group-membership.js';

interface GroupRow {
  id: string;
  name: string;
  description: string | null;
  tag_selector: Record<string, string> | null;
  parent_id: string | null;
  children: AgentGroupRef[] | null;
  created_at: Date;
  updated_at: Date;
  agent_ids: string[] | null;
}

const GROUP_COLUMNS = `g.id, g.name, g.description, g.tag_selector, g.parent_id, g.created_at,
  g.updated_at,
  (SELECT array_agg(m.agent_id ORDER BY m.agent_id) FROM agent_group_members m
    WHERE m.group_id = g.id) AS agent_ids,
  (SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.name)
     FROM agent_groups c WHERE c.parent_id = g.id) AS children`;

/** Metrics shown on a group's detail (most reported first). */
const MAX_GROUP_METRICS = 50;

@Injectable()
export class GroupsService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly agents: AgentsService,
    @Optional() private readonly latest?: LatestMetricsProvider,
  ) {}

  async create(ctx: RequestContext, req: CreateAgentGroupRequest): Promise<AgentGroup> {
    const id = await this.db.transaction(async (m) => {
      if (req.parentId) await this.checkParent(m, null, req.parentId);
      // ON CONFLICT instead of catching the unique violation: no error in the database log.
      const rows: Array<{ id: string }> = await m.query(
        `INSERT INTO agent_groups (name, description, tag_selector, parent_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id`,
        [
          req.name,
          req.description ?? null,
          req.tagSelector ? JSON.stringify(req.tagSelector) : null,
          req.parentId ?? null,
        ],
      );
      if (!rows[0]) throw conflict(`A group named "${req.name}" already exists`);
      const gid = rows[0].id;
      await this.setMembers(m, gid, req.agentIds ?? []);
      await this.audit.record(m, ctx, {
        action: 'agent_group.create',
        resourceType: 'agent_group',
        resourceId: gid,
        changes: {
          name: req.name,
          tagSelector: req.tagSelector ?? null,
          agentIds: req.agentIds?.length ?? 0,
          parentId: req.parentId ?? null,
        },
      });
      return gid;
    });
    return this.get(id);
  }

  async update(ctx: RequestContext, id: string, req: UpdateAgentGroupRequest): Promise<AgentGroup> {
    await this.db.transaction(async (m) => {
      const before = await this.lock(m, id);
      const sets: string[] = [];
      const params: unknown[] = [id];
      if (req.name !== undefined && req.name !== before.name) {
        const taken: unknown[] = await m.query(`SELECT 1 FROM agent_groups WHERE name = $1`, [
          req.name,
        ]);
        if (taken.length) throw conflict(`A group named "${req.name}" already exists`);
        sets.push(`name = $${params.push(req.name)}`);
      }
      if (req.description !== undefined)
        sets.push(`description = $${params.push(req.description)}`);
      if (req.tagSelector !== undefined) {
        sets.push(
          `tag_selector = $${params.push(req.tagSelector ? JSON.stringify(req.tagSelector) : null)}`,
        );
      }
      if (req.parentId !== undefined) {
        await this.checkParent(m, id, req.parentId);
        sets.push(`parent_id = $${params.push(req.parentId)}`);
      }
      sets.push('updated_at = now()');
      await m
        .query(`UPDATE agent_groups SET ${sets.join(', ')} WHERE id = $1`, params)
        .catch((e: unknown) => {
          throw uniqueName(e, req.name ?? before.name);
        });
      if (req.agentIds !== undefined) {
        await m.query(`DELETE FROM agent_group_members WHERE group_id = $1`, [id]);
        await this.setMembers(m, id, req.agentIds);
      }
      await this.audit.record(m, ctx, {
        action: 'agent_group.update',
        resourceType: 'agent_group',
        resourceId: id,
        changes: {
          ...req,
          agentIds: req.agentIds ? req.agentIds.length : undefined,
          before: {
            name: before.name,
            tagSelector: before.tag_selector,
            parentId: before.parent_id,
          },
        },
      });
    });
    return this.get(id);
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const before = await this.lock(m, id);
      await m.query(`DELETE FROM agent_groups WHERE id = $1`, [id]);
      await this.audit.record(m, ctx, {
        action: 'agent_group.delete',
        resourceType: 'agent_group',
        resourceId: id,
        changes: { name: before.name },
      });
    });
  }

  async get(id: string): Promise<AgentGroupDetail> {
    if (!isUuid(id)) throw notFound('Agent group', id);
    const rows: GroupRow[] = await this.db.query(
      `SELECT ${GROUP_COLUMNS} FROM agent_groups g WHERE g.id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound('Agent group', id);
    const [counts, metrics] = await Promise.all([this.statusCounts([id]), this.metricsOf(id)]);
    return { ...toGroup(rows[0], counts.get(id)), metrics };
  }

  /** avg/min/max of each metric over the members' latest values (the hot cache). */
  private async metricsOf(groupId: string): Promise<GroupMetricAggregate[]> {
    const ids = await this.memberIds(groupId);
    if (!this.latest || !ids.length) return [];
    const latest = await this.latest.latestFor(ids);
    const acc = new Map<string, { n: number; sum: number; min: number; max: number }>();
    for (const values of latest.values()) {
      for (const [metric, v] of Object.entries(values)) {
        if (!Number.isFinite(v)) continue;
        const m = acc.get(metric);
        if (!m) acc.set(metric, { n: 1, sum: v, min: v, max: v });
        else {
          m.n++;
          m.sum += v;
          m.min = Math.min(m.min, v);
          m.max = Math.max(m.max, v);
        }
      }
    }
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return [...acc]
      .sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]))
      .slice(0, MAX_GROUP_METRICS)
      .map(([metric, m]) => ({
        metric,
        agentCount: m.n,
        avg: round(m.sum / m.n),
        min: m.min,
        max: m.max,
      }));
  }

  /**
   * Nesting is one level: the parent must exist and have no parent itself, and a group that
   * has children cannot get a parent. That also rules out cycles. Serialised by an advisory
   * lock so two concurrent changes cannot build two levels together.
   */
  private async checkParent(
    m: EntityManager,
    selfId: string | null,
    parentId: string | null,
  ): Promise<void> {
    if (!parentId) return;
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('agent_groups.parent_id'))`);
    if (selfId && parentId.toLowerCase() === selfId) {
      throw badRequest('parentId: a group cannot be its own parent', [
        { field: 'parentId', message: 'cycle' },
      ]);
    }
    const [parent]: Array<{ name: string; parent_id: string | null }> = await m.query(
      `SELECT name, parent_id FROM agent_groups WHERE id = $1`,
      [parentId],
    );
    if (!parent) {
      throw badRequest(`parentId: unknown group ${parentId}`, [
        { field: 'parentId', message: 'unknown group' },
      ]);
    }
    if (parent.parent_id) {
      throw badRequest(
        `parentId: group "${parent.name}" is itself inside another group; groups nest one level only`,
        [{ field: 'parentId', message: 'nesting deeper than one level' }],
      );
    }
    if (selfId) {
      const kids: unknown[] = await m.query(
        `SELECT 1 FROM agent_groups WHERE parent_id = $1 LIMIT 1`,
        [selfId],
      );
      if (kids.length) {
        throw badRequest('parentId: this group has child groups; groups nest one level only', [
          { field: 'parentId', message: 'nesting deeper than one level' },
        ]);
      }
    }
  }

  async list(q: ListAgentGroupsQuery): Promise<Page<AgentGroup>> {
    const params: unknown[] = [];
    const where = q.q
      ? `WHERE g.name ILIKE $${params.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`
      : '';
    const [{ total }] = await this.db.query(
      `SELECT count(*)::int AS total FROM agent_groups g ${where}`,
      params,
    );
    const rows: GroupRow[] = await this.db.query(
      `SELECT ${GROUP_COLUMNS} FROM agent_groups g ${where} ORDER BY g.name
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    const counts = await this.statusCounts(rows.map((r) => r.id));
    return {
      items: rows.map((r) => toGroup(r, counts.get(r.id))),
      total,
      page: q.page,
      limit: q.limit,
    };
  }

  /** Current member ids (explicit and by selector), deleted agents left out. */
  async memberIds(groupId: string): Promise<string[]> {
    if (!isUuid(groupId)) throw notFound('Agent group', groupId);
    const rows: Array<{ id: string }> = await this.db.query(
      `SELECT a.id FROM agents a WHERE a.deleted_at IS NULL AND ${groupMemberSql('a', '$1::uuid')}
        ORDER BY a.name, a.id`,
      [groupId],
    );
    return rows.map((r) => r.id);
  }

  async members(groupId: string, q: GroupAgentsQuery): Promise<Page<Agent>> {
    await this.get(groupId);
    const ids = await this.memberIds(groupId);
    const pageIds = ids.slice((q.page - 1) * q.limit, q.page * q.limit);
    const agents = await this.agents.findByIds(pageIds);
    const byId = new Map(agents.map((a) => [a.id, a]));
    return {
      items: pageIds.map((id) => byId.get(id)).filter((a): a is Agent => !!a),
      total: ids.length,
      page: q.page,
      limit: q.limit,
    };
  }

  /** The groups an agent belongs to now (for the agent detail view). */
  async groupsOf(agentId: string): Promise<AgentGroupRef[]> {
    if (!isUuid(agentId)) return [];
    return this.db.query(
      `SELECT g.id, g.name FROM agent_groups g, agents a
        WHERE a.id = $1 AND ${groupMemberSql('a', 'g.id')} ORDER BY g.name`,
      [agentId],
    );
  }

  private async statusCounts(ids: string[]): Promise<Map<string, Record<AgentStatus, number>>> {
    const out = new Map<string, Record<AgentStatus, number>>();
    if (!ids.length) return out;
    const rows: Array<{ group_id: string; status: AgentStatus; n: number }> = await this.db.query(
      `SELECT g.id AS group_id, a.status, count(*)::int AS n
         FROM agent_groups g JOIN agents a ON a.deleted_at IS NULL AND ${groupMemberSql('a', 'g.id')}
        WHERE g.id = ANY($1::uuid[])
        GROUP BY g.id, a.status`,
      [ids],
    );
    for (const r of rows) {
      const c = out.get(r.group_id) ?? emptyCounts();
      c[r.status] = r.n;
      out.set(r.group_id, c);
    }
    return out;
  }

  private async setMembers(m: EntityManager, groupId: string, agentIds: string[]): Promise<void> {
    const ids = [...new Set(agentIds.map((i) => i.toLowerCase()))];
    if (!ids.length) return;
    const found: Array<{ id: string }> = await m.query(
      `SELECT id FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
      [ids],
    );
    const known = new Set(found.map((r) => r.id));
    const missing = ids.filter((i) => !known.has(i));
    if (missing.length) {
      throw badRequest(`agentIds: unknown agent ${missing[0]}`, {
        unknownAgentIds: missing.slice(0, 20),
      });
    }
    await m.query(
      `INSERT INTO agent_group_members (group_id, agent_id) SELECT $1, unnest($2::uuid[])`,
      [groupId, ids],
    );
  }

  private async lock(m: EntityManager, id: string): Promise<GroupRow> {
    if (!isUuid(id)) throw notFound('Agent group', id);
    const rows: GroupRow[] = await m.query(
      `SELECT g.*, NULL AS agent_ids FROM agent_groups g WHERE g.id = $1 FOR UPDATE`,
      [id],
    );
    if (!rows[0]) throw notFound('Agent group', id);
    return rows[0];
  }
}

function emptyCounts(): Record<AgentStatus, number> {
  return Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
}

function uniqueName(e: unknown, name: string): unknown {
  return (e as { code?: string }).code === '23505'
    ? conflict(`A group named "${name}" already exists`)
    : e;
}

function toGroup(r: GroupRow, counts?: Record<AgentStatus, number>): AgentGroup {
  const statusCounts = counts ?? emptyCounts();
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    agentIds: r.agent_ids ?? [],
    tagSelector: r.tag_selector && Object.keys(r.tag_selector).length ? r.tag_selector : null,
    memberCount: Object.values(statusCounts).reduce((s, n) => s + n, 0),
    statusCounts,
    parentId: r.parent_id ?? null,
    children: r.children ?? [],
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
