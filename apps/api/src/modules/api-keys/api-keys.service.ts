import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  ApiKey,
  ApiKeyScope,
  CreateApiKeyRequest,
  CreatedApiKey,
  ListApiKeysQuery,
  Page,
} from '@agent-monitor/contracts';
import type { RequestContext } from '../../common/access.js';
import { badRequest, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { PrincipalResolver, hashApiKey } from '../auth/principal-resolver.service.js';
import { returnedRows } from '../auth/sql-rows.js';
import { apiKeyPrefix, generateApiKey } from './api-key-secret.js';

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  agent_id: string | null;
  created_by: string | null;
  created_by_email: string | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = `k.id, k.name, k.prefix, k.scopes, k.agent_id, k.created_by, u.email AS created_by_email,
  k.created_at, k.last_used_at, k.expires_at, k.revoked_at`;

/**
 * API keys: people's keys (created by admins) and agent keys (issued at agent registration,
 * scope `agents:write`, bound to one agent). Only the SHA-256 of a key is stored; the secret
 * is returned once, at creation.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly resolver: PrincipalResolver,
  ) {}

  async create(ctx: RequestContext, req: CreateApiKeyRequest): Promise<CreatedApiKey> {
    if (req.scopes.includes('agents:write')) {
      throw badRequest(
        'scopes: agents:write keys are issued to one agent by its registration; use metrics:write for a key that writes for any agent',
        [{ field: 'scopes', message: 'agents:write cannot be granted here' }],
      );
    }
    if (req.expiresAt && new Date(req.expiresAt).getTime() <= Date.now()) {
      throw badRequest('expiresAt: must be in the future', [
        { field: 'expiresAt', message: 'must be in the future' },
      ]);
    }
    const scopes = [...new Set(req.scopes)];
    const createdBy = ctx.principal?.kind === 'user' ? ctx.principal.userId : null;
    return this.db.transaction(async (m) => {
      const { key, id } = await this.insert(m, {
        name: req.name,
        scopes,
        agentId: null,
        createdBy,
        expiresAt: req.expiresAt ?? null,
      });
      await this.audit.record(m, ctx, {
        action: 'api_key.create',
        resourceType: 'api_key',
        resourceId: id,
        changes: { name: req.name, scopes, expiresAt: req.expiresAt ?? null },
      });
      return { ...(await this.get(m, id)), key };
    });
  }

  async list(q: ListApiKeysQuery): Promise<Page<ApiKey>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.q) {
      params.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(k.name ILIKE $${params.length} OR k.prefix ILIKE $${params.length})`);
    }
    if (q.revoked !== undefined)
      where.push(q.revoked ? 'k.revoked_at IS NOT NULL' : 'k.revoked_at IS NULL');
    if (q.agentId) {
      params.push(q.agentId);
      where.push(`k.agent_id = $${params.length}`);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.db.query<Array<{ total: string }>>(
      `SELECT count(*) AS total FROM api_keys k ${w}`,
      params,
    );
    const rows = await this.db.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.created_by ${w}
        ORDER BY k.created_at DESC, k.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    return { items: rows.map(toApiKey), total: Number(total), page: q.page, limit: q.limit };
  }

  async revoke(ctx: RequestContext, id: string): Promise<ApiKey> {
    const key = await this.db.transaction(async (m) => {
      const rows = await m.query<Array<{ id: string; revoked_at: Date | null }>>(
        `SELECT id, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!rows[0]) throw notFound('API key', id);
      if (!rows[0].revoked_at) {
        await m.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
      }
      await this.audit.record(m, ctx, {
        action: 'api_key.revoke',
        resourceType: 'api_key',
        resourceId: id,
        changes: { alreadyRevoked: Boolean(rows[0].revoked_at) },
      });
      return this.get(m, id);
    });
    this.resolver.forgetApiKey(id);
    return key;
  }

  /**
   * Issues the key an agent authenticates with (scope `agents:write`, bound to the agent), in
   * the caller's transaction. A re-registration calls `revokeAgentKeys` first, so an agent
   * has one live key at a time.
   */
  async issueAgentKey(
    manager: EntityManager,
    agentId: string,
    agentName: string,
  ): Promise<{ key: string; id: string }> {
    return this.insert(manager, {
      name: `agent:${agentName}`.slice(0, 120),
      scopes: ['agents:write'],
      agentId,
      createdBy: null,
      expiresAt: null,
    });
  }

  /** Revokes every live key bound to the agent (in the caller's transaction); returns their ids. */
  async revokeAgentKeys(manager: EntityManager, agentId: string): Promise<string[]> {
    const rows: unknown = await manager.query(
      `UPDATE api_keys SET revoked_at = now()
        WHERE agent_id = $1 AND revoked_at IS NULL RETURNING id`,
      [agentId],
    );
    const ids = returnedRows<{ id: string }>(rows).map((r) => r.id);
    // Forgotten before the commit; the resolver re-checks forgotten keys for a while, so a
    // request racing this transaction cannot keep the old key alive in its cache.
    for (const id of ids) this.resolver.forgetApiKey(id);
    return ids;
  }

  private async insert(
    m: EntityManager,
    k: {
      name: string;
      scopes: ApiKeyScope[];
      agentId: string | null;
      createdBy: string | null;
      expiresAt: string | null;
    },
  ): Promise<{ key: string; id: string }> {
    const key = generateApiKey();
    const rows = await m.query<Array<{ id: string }>>(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes, agent_id, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [k.name, apiKeyPrefix(key), hashApiKey(key), k.scopes, k.agentId, k.createdBy, k.expiresAt],
    );
    return { key, id: rows[0].id };
  }

  private async get(m: EntityManager, id: string): Promise<ApiKey> {
    const rows = await m.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.created_by WHERE k.id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound('API key', id);
    return toApiKey(rows[0]);
  }
}

function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    agentId: r.agent_id,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    expiresAt: r.expires_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
    createdBy: r.created_by,
    createdByEmail: r.created_by_email,
  };
}
