import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  CreateChannelSchema,
  type ChannelType,
  type CreateChannel,
  type NotificationChannel,
  type Page,
  type PageQuery,
  type UpdateChannel,
} from '@agent-monitor/contracts';
import type { RequestContext } from '../../common/access.js';
import { badRequest, conflict, notFound } from '../../common/errors.js';
import { parseOrThrow } from '../../common/zod-validation.pipe.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AuditService } from '../audit/audit.service.js';
import { BlockedTargetError, checkHost, checkUrl } from './net-guard.js';
import { SecretBox } from './secret-box.js';
import type { SqlRunner } from './priority-db.js';
import { sqlCount, sqlRows } from './sql.js';
import type { ChannelSecrets, OpenChannel } from './senders.js';

interface ChannelRow {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  config: Record<string, unknown>;
  secret_enc: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Shows scheme and host of a secret URL, never its path (Slack/Teams tokens live there). */
export function maskUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '…';
  }
}

/**
 * Splits a validated channel definition into public config (stored as jsonb) and secrets
 * (stored AES-256-GCM sealed). Public config never contains a secret.
 */
function split(def: CreateChannel): { config: Record<string, unknown>; secrets: ChannelSecrets } {
  switch (def.type) {
    case 'email': {
      const { smtp, ...rest } = def.config;
      if (!smtp) return { config: rest, secrets: {} };
      const { password, ...smtpRest } = smtp;
      return { config: { ...rest, smtp: smtpRest }, secrets: { smtpPassword: password } };
    }
    case 'slack':
    case 'teams':
      return { config: {}, secrets: { webhookUrl: def.config.webhookUrl } };
    case 'webhook':
      return {
        config: {},
        secrets: { url: def.config.url, secret: def.config.secret, headers: def.config.headers },
      };
  }
}

@Injectable()
export class ChannelsService {
  private readonly box: SecretBox;

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.box = new SecretBox(config.encryptionKey);
  }

  toDto(r: ChannelRow): NotificationChannel {
    const s = this.secretsOf(r);
    let config: Record<string, unknown> = { ...r.config };
    if (r.type === 'slack' || r.type === 'teams') config = { webhookUrl: maskUrl(s.webhookUrl) };
    if (r.type === 'webhook') {
      config = {
        url: maskUrl(s.url),
        hasSecret: !!s.secret,
        headers: Object.fromEntries(Object.keys(s.headers ?? {}).map((k) => [k, '…'])),
      };
    }
    if (r.type === 'email' && config.smtp) {
      config = { ...config, smtp: { ...(config.smtp as object), hasPassword: !!s.smtpPassword } };
    }
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      enabled: r.enabled,
      config,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  private secretsOf(r: Pick<ChannelRow, 'secret_enc'>): ChannelSecrets {
    return r.secret_enc ? (JSON.parse(this.box.open(r.secret_enc)) as ChannelSecrets) : {};
  }

  /** SSRF check at save time (it is repeated at every send). */
  private async checkTargets(def: CreateChannel): Promise<void> {
    const allow = this.config.ALLOW_PRIVATE_WEBHOOK_TARGETS;
    try {
      if (def.type === 'slack' || def.type === 'teams')
        await checkUrl(def.config.webhookUrl, allow);
      if (def.type === 'webhook') await checkUrl(def.config.url, allow);
      if (def.type === 'email' && def.config.smtp) await checkHost(def.config.smtp.host, allow);
    } catch (e) {
      if (e instanceof BlockedTargetError) {
        const field =
          def.type === 'webhook'
            ? 'config.url'
            : def.type === 'email'
              ? 'config.smtp.host'
              : 'config.webhookUrl';
        throw badRequest(`${field}: target refused: ${e.message}`, [{ field, message: e.message }]);
      }
      throw e;
    }
  }

  async create(def: CreateChannel, ctx: RequestContext): Promise<NotificationChannel> {
    await this.checkTargets(def);
    const { config, secrets } = split(def);
    const row = await this.db.transaction(async (m) => {
      const [r] = (await m.query(
        `INSERT INTO notification_channels (name, type, enabled, config, secret_enc)
         VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [
          def.name,
          def.type,
          def.enabled,
          JSON.stringify(config),
          this.box.seal(JSON.stringify(secrets)),
        ],
      )) as ChannelRow[];
      await this.audit.record(m, ctx, {
        action: 'notification_channel.create',
        resourceType: 'notification_channel',
        resourceId: r.id,
        changes: { name: def.name, type: def.type, enabled: def.enabled, config },
      });
      return r;
    });
    return this.toDto(row);
  }

  async list(q: PageQuery): Promise<Page<NotificationChannel>> {
    const rows = (await this.db.query(
      `SELECT *, count(*) OVER() AS total FROM notification_channels ORDER BY name, id LIMIT $1 OFFSET $2`,
      [q.limit, (q.page - 1) * q.limit],
    )) as Array<ChannelRow & { total: string }>;
    const total = rows.length ? Number(rows[0].total) : await this.count();
    return { items: rows.map((r) => this.toDto(r)), total, page: q.page, limit: q.limit };
  }

  private async count(): Promise<number> {
    const [r] = (await this.db.query(
      `SELECT count(*)::int AS n FROM notification_channels`,
    )) as Array<{ n: number }>;
    return r.n;
  }

  private async row(
    id: string,
    m: EntityManager = this.db.manager,
    lock = false,
  ): Promise<ChannelRow> {
    const [r] = (await m.query(
      `SELECT * FROM notification_channels WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    )) as ChannelRow[];
    if (!r) throw notFound('Notification channel', id);
    return r;
  }

  async get(id: string): Promise<NotificationChannel> {
    return this.toDto(await this.row(id));
  }

  async update(
    id: string,
    patch: UpdateChannel,
    ctx: RequestContext,
  ): Promise<NotificationChannel> {
    const current = await this.row(id);
    const secrets = this.secretsOf(current);
    // Rebuild the full definition (stored values where the patch leaves a field out) and
    // validate it with the same schema as creation.
    const storedConfig: Record<string, unknown> =
      current.type === 'email'
        ? {
            ...current.config,
            ...(current.config.smtp
              ? {
                  smtp: {
                    ...(current.config.smtp as object),
                    ...(secrets.smtpPassword ? { password: secrets.smtpPassword } : {}),
                  },
                }
              : {}),
          }
        : current.type === 'webhook'
          ? {
              url: secrets.url,
              ...(secrets.secret ? { secret: secrets.secret } : {}),
              ...(secrets.headers ? { headers: secrets.headers } : {}),
            }
          : { webhookUrl: secrets.webhookUrl };
    const mergedConfig = { ...storedConfig, ...(patch.config ?? {}) };
    if (current.type === 'email' && patch.config?.smtp && storedConfig.smtp) {
      mergedConfig.smtp = { ...(storedConfig.smtp as object), ...(patch.config.smtp as object) };
    }
    const def = parseOrThrow(CreateChannelSchema, {
      type: current.type,
      name: patch.name ?? current.name,
      enabled: patch.enabled ?? current.enabled,
      config: mergedConfig,
    });
    if (patch.config) await this.checkTargets(def);
    const { config, secrets: newSecrets } = split(def);
    const row = await this.db.transaction(async (m) => {
      const [r] = await sqlRows<ChannelRow>(
        m,
        `UPDATE notification_channels SET name = $2, enabled = $3, config = $4, secret_enc = $5, updated_at = now()
          WHERE id = $1 RETURNING *`,
        [
          id,
          def.name,
          def.enabled,
          JSON.stringify(config),
          this.box.seal(JSON.stringify(newSecrets)),
        ],
      );
      if (!r) throw notFound('Notification channel', id);
      await this.audit.record(m, ctx, {
        action: 'notification_channel.update',
        resourceType: 'notification_channel',
        resourceId: id,
        changes: {
          name: patch.name,
          enabled: patch.enabled,
          configFields: Object.keys(patch.config ?? {}),
        },
      });
      return r;
    });
    return this.toDto(row);
  }

  async remove(id: string, ctx: RequestContext): Promise<void> {
    await this.db.transaction(async (m) => {
      const [found] = await sqlRows<{ id: string }>(
        m,
        `SELECT id FROM notification_channels WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!found) throw notFound('Notification channel', id);
      // Escalation steps cannot silently lose their only channel: the policy is edited first.
      const policies = await sqlRows<{ id: string; name: string }>(
        m,
        `SELECT id, name FROM escalation_policies p
          WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(p.steps) s WHERE s->'channelIds' ? $1::text)
          ORDER BY lower(name)`,
        [id],
      );
      if (policies.length)
        throw conflict(
          `The channel is used by escalation polic${policies.length === 1 ? 'y' : 'ies'} ${policies
            .map((p) => `"${p.name}"`)
            .join(', ')}; remove it from their steps first`,
          { escalationPolicies: policies },
        );
      await sqlCount(m, `DELETE FROM notification_channels WHERE id = $1`, [id]);
      await m.query(
        `UPDATE alert_rules SET channel_ids = array_remove(channel_ids, $1::uuid) WHERE $1::uuid = ANY(channel_ids)`,
        [id],
      );
      await this.audit.record(m, ctx, {
        action: 'notification_channel.delete',
        resourceType: 'notification_channel',
        resourceId: id,
      });
    });
  }

  /** The channel with secrets decrypted, for sending. Null when gone. */
  async open(
    id: string,
    runner: SqlRunner = this.db,
  ): Promise<(OpenChannel & { enabled: boolean }) | null> {
    const [r] = await sqlRows<ChannelRow>(
      runner,
      `SELECT * FROM notification_channels WHERE id = $1`,
      [id],
    );
    if (!r) return null;
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      enabled: r.enabled,
      config: r.config,
      secrets: this.secretsOf(r),
    };
  }

  async assertExist(ids: string[], field: string): Promise<void> {
    if (!ids.length) return;
    const rows = (await this.db.query(
      `SELECT id FROM notification_channels WHERE id = ANY($1::uuid[])`,
      [ids],
    )) as Array<{ id: string }>;
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((i) => !found.has(i));
    if (missing.length)
      throw badRequest(`${field}: unknown notification channel(s): ${missing.join(', ')}`, [
        { field, message: 'unknown channel' },
      ]);
  }
}
