import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  CreateEscalationPolicy,
  EscalationPolicy,
  EscalationStep,
  ListEscalationPoliciesQuery,
  Page,
  UpdateEscalationPolicy,
} from '@agent-monitor/contracts';
import type { RequestContext } from '../../common/access.js';
import { principalLabel } from '../../common/access.js';
import { badRequest, conflict, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { ChannelsService } from '../notifications/channels.service.js';
import { sqlRows } from '../notifications/sql.js';

export interface PolicyRow {
  id: string;
  name: string;
  description: string | null;
  steps: EscalationStep[];
  repeat_every_minutes: number | null;
  created_at: Date;
  updated_at: Date;
}

type Listener = () => void;

function isPgError(e: unknown, code: string): boolean {
  const err = e as { code?: string; driverError?: { code?: string } };
  return err?.code === code || err?.driverError?.code === code;
}

/** Reusable escalation policies that alert rules reference by id. */
@Injectable()
export class EscalationPoliciesService {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly channels: ChannelsService,
  ) {}

  /** Called after any policy write (the rules view refreshes its mirror of the steps). */
  onChange(l: Listener): void {
    this.listeners.push(l);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private async toDtos(rows: PolicyRow[]): Promise<EscalationPolicy[]> {
    const rules = rows.length
      ? await sqlRows<{ id: string; name: string; escalation_policy_id: string }>(
          this.db,
          `SELECT id, name, escalation_policy_id FROM alert_rules
            WHERE escalation_policy_id = ANY($1::uuid[]) ORDER BY name, id`,
          [rows.map((r) => r.id)],
        )
      : [];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      steps: r.steps,
      repeatEveryMinutes: r.repeat_every_minutes,
      rules: rules
        .filter((x) => x.escalation_policy_id === r.id)
        .map((x) => ({ id: x.id, name: x.name })),
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    }));
  }

  private async checkChannels(steps: EscalationStep[] | undefined): Promise<void> {
    for (const [i, step] of (steps ?? []).entries())
      await this.channels.assertExist(step.channelIds, `steps.${i}.channelIds`);
  }

  private nameTaken(name: string): Error {
    return conflict(`An escalation policy named "${name}" already exists`, [
      { field: 'name', message: 'already in use' },
    ]);
  }

  async list(q: ListEscalationPoliciesQuery): Promise<Page<EscalationPolicy>> {
    const params: unknown[] = [];
    const w = q.q
      ? `WHERE name ILIKE $${params.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`
      : '';
    const [{ n }] = await sqlRows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM escalation_policies ${w}`,
      params,
    );
    const rows = await sqlRows<PolicyRow>(
      this.db,
      `SELECT * FROM escalation_policies ${w} ORDER BY lower(name), id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    return { items: await this.toDtos(rows), total: n, page: q.page, limit: q.limit };
  }

  async get(id: string): Promise<EscalationPolicy> {
    const [r] = await sqlRows<PolicyRow>(
      this.db,
      `SELECT * FROM escalation_policies WHERE id = $1`,
      [id],
    );
    if (!r) throw notFound('Escalation policy', id);
    return (await this.toDtos([r]))[0];
  }

  /** 400 naming the field when a rule points at a policy that does not exist. */
  async assertExists(id: string, field: string): Promise<void> {
    const [r] = await sqlRows<{ id: string }>(
      this.db,
      `SELECT id FROM escalation_policies WHERE id = $1`,
      [id],
    );
    if (!r)
      throw badRequest(`${field}: unknown escalation policy ${id}`, [
        { field, message: 'unknown escalation policy' },
      ]);
  }

  async create(p: CreateEscalationPolicy, ctx: RequestContext): Promise<EscalationPolicy> {
    await this.checkChannels(p.steps);
    const row = await this.db
      .transaction((m) => this.insert(m, p, ctx, 'escalation_policy.create'))
      .catch((e: unknown) => {
        throw isPgError(e, '23505') ? this.nameTaken(p.name) : e;
      });
    this.changed();
    return (await this.toDtos([row]))[0];
  }

  /**
   * Inside a rule's transaction: a policy for a rule created with deprecated inline steps.
   * The name is the rule's, made unique with a counter.
   */
  async createInline(
    m: EntityManager,
    ruleName: string,
    steps: EscalationStep[],
    ctx: RequestContext,
  ): Promise<string> {
    const base = `${ruleName.slice(0, 170)} escalation`;
    const taken = await sqlRows<{ name: string }>(
      m,
      `SELECT lower(name) AS name FROM escalation_policies WHERE lower(name) LIKE lower($1) || '%'`,
      [base.replace(/[\\%_]/g, (c) => `\\${c}`)],
    );
    const names = new Set(taken.map((t) => t.name));
    let name = base;
    for (let i = 2; names.has(name.toLowerCase()); i++) name = `${base} (${i})`;
    const row = await this.insert(m, { name, steps }, ctx, 'escalation_policy.create');
    this.changed();
    return row.id;
  }

  private async insert(
    m: EntityManager,
    p: CreateEscalationPolicy,
    ctx: RequestContext,
    action: string,
  ): Promise<PolicyRow> {
    const [x] = await sqlRows<PolicyRow>(
      m,
      `INSERT INTO escalation_policies (name, description, steps, repeat_every_minutes, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [
        p.name,
        p.description ?? null,
        JSON.stringify(p.steps),
        p.repeatEveryMinutes ?? null,
        principalLabel(ctx.principal),
      ],
    );
    await this.audit.record(m, ctx, {
      action,
      resourceType: 'escalation_policy',
      resourceId: x.id,
      changes: { ...p },
    });
    return x;
  }

  async update(
    id: string,
    patch: UpdateEscalationPolicy,
    ctx: RequestContext,
  ): Promise<EscalationPolicy> {
    await this.checkChannels(patch.steps);
    const sets: string[] = [];
    const params: unknown[] = [id];
    if (patch.name !== undefined) sets.push(`name = $${params.push(patch.name)}`);
    if (patch.description !== undefined)
      sets.push(`description = $${params.push(patch.description)}`);
    if (patch.steps !== undefined)
      sets.push(`steps = $${params.push(JSON.stringify(patch.steps))}`);
    if (patch.repeatEveryMinutes !== undefined)
      sets.push(`repeat_every_minutes = $${params.push(patch.repeatEveryMinutes)}`);
    const row = await this.db
      .transaction(async (m) => {
        const [x] = await sqlRows<PolicyRow>(
          m,
          `UPDATE escalation_policies SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`,
          params,
        );
        if (!x) throw notFound('Escalation policy', id);
        await this.audit.record(m, ctx, {
          action: 'escalation_policy.update',
          resourceType: 'escalation_policy',
          resourceId: id,
          changes: { ...patch },
        });
        return x;
      })
      .catch((e: unknown) => {
        throw isPgError(e, '23505') ? this.nameTaken(patch.name ?? '') : e;
      });
    this.changed();
    return (await this.toDtos([row]))[0];
  }

  /** 409 naming the rules while any rule still follows the policy. */
  async remove(id: string, ctx: RequestContext): Promise<void> {
    await this.db
      .transaction(async (m) => {
        const [p] = await sqlRows<{ id: string }>(
          m,
          `SELECT id FROM escalation_policies WHERE id = $1 FOR UPDATE`,
          [id],
        );
        if (!p) throw notFound('Escalation policy', id);
        const rules = await sqlRows<{ id: string; name: string }>(
          m,
          `SELECT id, name FROM alert_rules WHERE escalation_policy_id = $1 ORDER BY name, id`,
          [id],
        );
        if (rules.length) throw this.inUse(rules);
        await m.query(`DELETE FROM escalation_policies WHERE id = $1`, [id]);
        await this.audit.record(m, ctx, {
          action: 'escalation_policy.delete',
          resourceType: 'escalation_policy',
          resourceId: id,
        });
      })
      .catch(async (e: unknown) => {
        // A rule linked concurrently: the foreign key refuses the delete.
        if (!isPgError(e, '23503')) throw e;
        const rules = await sqlRows<{ id: string; name: string }>(
          this.db,
          `SELECT id, name FROM alert_rules WHERE escalation_policy_id = $1 ORDER BY name, id`,
          [id],
        );
        throw this.inUse(rules);
      });
    this.changed();
  }

  private inUse(rules: Array<{ id: string; name: string }>): Error {
    return conflict(
      `The escalation policy is used by ${rules.length} alert rule(s): ${rules
        .map((r) => `"${r.name}"`)
        .join(', ')}; point them at another policy first`,
      { rules },
    );
  }
}
