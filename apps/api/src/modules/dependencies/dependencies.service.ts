import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type {
  AgentDependencies,
  AgentStatus,
  DependencyGraph,
  DependencyRef,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { badRequest, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { isUuid } from '../groups/group-membership.js';

/** Transaction-scoped advisory lock: dependency writes are serialised so no two can close a cycle. */
const DEPENDENCY_LOCK_KEY = 0x616d6470; // "amdp"

@Injectable()
export class DependenciesService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async get(agentId: string): Promise<AgentDependencies> {
    await this.requireAgents([agentId]);
    const [dependsOn, dependents] = await Promise.all([
      this.refs(
        `SELECT a.id, a.name, a.status FROM agent_dependencies d JOIN agents a ON a.id = d.depends_on
          WHERE d.agent_id = $1 AND a.deleted_at IS NULL ORDER BY a.name`,
        [agentId],
      ),
      this.refs(
        `SELECT a.id, a.name, a.status FROM agent_dependencies d JOIN agents a ON a.id = d.agent_id
          WHERE d.depends_on = $1 AND a.deleted_at IS NULL ORDER BY a.name`,
        [agentId],
      ),
    ]);
    return { agentId, dependsOn, dependents };
  }

  /**
   * Records "agentId depends on dependsOn". Refused with 400 when it would close a cycle; the
   * message names it (`a → b → c → a`). Adding an existing edge changes nothing.
   */
  async add(ctx: RequestContext, agentId: string, dependsOn: string): Promise<AgentDependencies> {
    if (agentId === dependsOn) throw badRequest('dependsOn: an agent cannot depend on itself');
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [DEPENDENCY_LOCK_KEY]);
      const names = await this.requireAgents([agentId, dependsOn], m.query.bind(m));
      // Is there already a path dependsOn → … → agentId? Then the new edge closes a cycle.
      const rows: Array<{ path: string[] }> = await m.query(
        `WITH RECURSIVE walk(node, path) AS (
           SELECT $1::uuid, ARRAY[$1::uuid]
           UNION ALL
           SELECT d.depends_on, w.path || d.depends_on
             FROM walk w JOIN agent_dependencies d ON d.agent_id = w.node
            WHERE NOT d.depends_on = ANY(w.path) AND array_length(w.path, 1) < 1000)
         SELECT path::text[] AS path FROM walk WHERE node = $2::uuid LIMIT 1`,
        [dependsOn, agentId],
      );
      if (rows[0]) {
        const cycle = [agentId, ...rows[0].path];
        const labels = await this.labels(cycle, names, m.query.bind(m));
        throw badRequest(`dependsOn: this would create a dependency cycle: ${labels.join(' → ')}`, {
          cycle,
        });
      }
      const inserted: unknown[] = await m.query(
        `INSERT INTO agent_dependencies (agent_id, depends_on, created_by) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING agent_id`,
        [agentId, dependsOn, principalLabel(ctx.principal)],
      );
      await this.audit.record(m, ctx, {
        action: 'agent.dependency.add',
        resourceType: 'agent',
        resourceId: agentId,
        changes: { dependsOn, created: inserted.length > 0 },
      });
    });
    return this.get(agentId);
  }

  async remove(ctx: RequestContext, agentId: string, dependsOn: string): Promise<void> {
    if (!isUuid(agentId) || !isUuid(dependsOn))
      throw notFound('Dependency', `${agentId} → ${dependsOn}`);
    await this.db.transaction(async (m) => {
      // A CTE, because TypeORM answers a bare DELETE … RETURNING with [rows, count].
      const [{ n }]: Array<{ n: number }> = await m.query(
        `WITH d AS (DELETE FROM agent_dependencies WHERE agent_id = $1 AND depends_on = $2
                    RETURNING 1)
         SELECT count(*)::int AS n FROM d`,
        [agentId, dependsOn],
      );
      if (!n) throw notFound('Dependency', `${agentId} → ${dependsOn}`);
      await this.audit.record(m, ctx, {
        action: 'agent.dependency.remove',
        resourceType: 'agent',
        resourceId: agentId,
        changes: { dependsOn },
      });
    });
  }

  async graph(): Promise<DependencyGraph> {
    const edges: Array<{ from: string; to: string }> = await this.db.query(
      `SELECT d.agent_id AS "from", d.depends_on AS "to" FROM agent_dependencies d
         JOIN agents a ON a.id = d.agent_id AND a.deleted_at IS NULL
         JOIN agents b ON b.id = d.depends_on AND b.deleted_at IS NULL
        ORDER BY 1, 2`,
    );
    const ids = [...new Set(edges.flatMap((e) => [e.from, e.to]))];
    const nodes = ids.length
      ? await this.refs(
          `SELECT id, name, status FROM agents WHERE id = ANY($1::uuid[]) ORDER BY name`,
          [ids],
        )
      : [];
    return { nodes, edges };
  }

  private async refs(sql: string, params: unknown[]): Promise<DependencyRef[]> {
    const rows: Array<{ id: string; name: string; status: AgentStatus }> = await this.db.query(
      sql,
      params,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, status: r.status }));
  }

  private async requireAgents(
    ids: string[],
    query: (sql: string, params: unknown[]) => Promise<unknown> = (s, p) => this.db.query(s, p),
  ): Promise<Map<string, string>> {
    for (const id of ids) if (!isUuid(id)) throw notFound('Agent', id);
    const rows = (await query(
      `SELECT id, name FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
      [ids],
    )) as Array<{ id: string; name: string }>;
    const found = new Map(rows.map((r) => [r.id, r.name]));
    const missing = ids.find((id) => !found.has(id));
    if (missing) throw notFound('Agent', missing);
    return found;
  }

  private async labels(
    ids: string[],
    known: Map<string, string>,
    query: (sql: string, params: unknown[]) => Promise<unknown>,
  ): Promise<string[]> {
    const rows = (await query(`SELECT id, name FROM agents WHERE id = ANY($1::uuid[])`, [
      ids,
    ])) as Array<{ id: string; name: string }>;
    const names = new Map([...known, ...rows.map((r): [string, string] => [r.id, r.name])]);
    return ids.map((id) => names.get(id) ?? id);
  }
}
