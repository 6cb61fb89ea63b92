import { Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  DEFAULT_MEASUREMENT,
  ROLLOUT_AGENT_STATES,
  type ConfigDiff,
  type GroupConfig,
  type ListRolloutsQuery,
  type Page,
  type PutGroupConfigInput,
  type PutGroupConfigResponse,
  type Rollout,
  type RolloutAgentState,
  type RolloutState,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { conflict, DomainException, notFound } from '../../common/errors.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { AgentsService } from '../agents/agents.service.js';
import { AuditService } from '../audit/audit.service.js';
import { GroupsService } from '../groups/groups.service.js';
import { isUuid } from '../groups/group-membership.js';
import { planBatches } from './batches.js';
import { ERROR_BASELINE_MIN_SEC, isErrorRateUp } from './rollout-health.js';

const fmt = (v: number) => String(Math.round(v * 100) / 100);

interface RolloutRow {
  id: string;
  group_id: string;
  group_name?: string | null;
  group_config_id: string;
  version: number;
  strategy: 'all' | 'staged';
  canary_percent: number | null;
  batch_size: number;
  pause_sec: number;
  ack_timeout_sec: number;
  state: RolloutState;
  current_batch: number;
  batch_count: number;
  batch_started_at: Date | null;
  reason: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

interface RolloutAgentRow {
  agent_id: string;
  name?: string | null;
  batch: number;
  state: RolloutAgentState;
  previous_config: Record<string, unknown> | null;
  pushed_version: number | null;
  pushed_at: Date | null;
  acked_at: Date | null;
}

export function configDiff(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): ConfigDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const k of Object.keys(after)) {
    if (!(k in before)) added.push(k);
    else if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) changed.push(k);
  }
  for (const k of Object.keys(before)) if (!(k in after)) removed.push(k);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

/**
 * Versioned group configuration and its rollout to the members, batch by batch. The driver
 * (one leader across instances, see RolloutDriver) calls `drive()`; people pause, resume and
 * abort. Everything the driver decides is read back from PostgreSQL (acks are the agents'
 * `appliedConfigVersion`, health their status), so any instance can take over.
 */
@Injectable()
export class RolloutsService {
  private readonly logger = new Logger(RolloutsService.name);

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly agents: AgentsService,
    private readonly groups: GroupsService,
    @Optional() private readonly realtime?: RealtimePublisher,
  ) {}

  async putGroupConfig(
    ctx: RequestContext,
    groupId: string,
    req: PutGroupConfigInput,
  ): Promise<PutGroupConfigResponse> {
    const group = await this.groups.get(groupId);
    const members = await this.groups.memberIds(group.id);
    if (!members.length) {
      throw new DomainException('UNPROCESSABLE', `Group ${group.name} has no agents to configure`);
    }
    const batches = planBatches(members, req.strategy, req.canaryPercent, req.batchSize);
    const rolloutId = await this.db.transaction(async (m) => {
      // Serialise config changes of one group.
      await m.query(`SELECT id FROM agent_groups WHERE id = $1 FOR UPDATE`, [group.id]);
      const active: unknown[] = await m.query(
        `SELECT 1 FROM rollouts WHERE group_id = $1 AND state IN ('running', 'paused')`,
        [group.id],
      );
      if (active.length) {
        throw conflict('A rollout is already in progress for this group; abort it or wait');
      }
      const [{ version: last }]: Array<{ version: number }> = await m.query(
        `SELECT coalesce(max(version), 0)::int AS version FROM group_configs WHERE group_id = $1`,
        [group.id],
      );
      const version = last + 1;
      // The diff is against what the members run: the last version that rolled out completely.
      const prev = await this.lastApplied(m, group.id, version);
      const diff = configDiff(prev ?? {}, req.config);
      const by = principalLabel(ctx.principal);
      const [{ id: configId }]: Array<{ id: string }> = await m.query(
        `INSERT INTO group_configs (group_id, version, config, diff, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [group.id, version, JSON.stringify(req.config), JSON.stringify(diff), by],
      );
      const [{ id }]: Array<{ id: string }> = await m.query(
        `INSERT INTO rollouts (group_id, group_config_id, version, strategy, canary_percent,
                               batch_size, pause_sec, ack_timeout_sec, state, batch_count, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9, $10) RETURNING id`,
        [
          group.id,
          configId,
          version,
          req.strategy,
          req.strategy === 'staged' ? (req.canaryPercent ?? null) : null,
          req.strategy === 'staged' ? req.batchSize : members.length,
          req.pauseSec,
          req.ackTimeoutSec,
          batches.length,
          by,
        ],
      );
      await m.query(
        `INSERT INTO rollout_agents (rollout_id, agent_id, batch)
         SELECT $1, x.agent_id, x.batch FROM unnest($2::uuid[], $3::int[]) AS x(agent_id, batch)`,
        [id, batches.flatMap((b) => b), batches.flatMap((b, i) => b.map(() => i))],
      );
      await this.audit.record(m, ctx, {
        action: 'agent_group.config.update',
        resourceType: 'agent_group',
        resourceId: group.id,
        changes: {
          version,
          diff,
          rolloutId: id,
          strategy: req.strategy,
          batches: batches.map((b) => b.length),
        },
      });
      return id;
    });
    // The first batch goes out at once; later ones follow from the driver.
    await this.drive(rolloutId);
    return { config: await this.getGroupConfig(group.id), rollout: await this.get(rolloutId) };
  }

  async getGroupConfig(groupId: string): Promise<GroupConfig> {
    if (!isUuid(groupId)) throw notFound('Agent group', groupId);
    const rows: Array<{
      group_id: string;
      version: number;
      config: Record<string, unknown>;
      diff: ConfigDiff;
      created_at: Date;
      created_by: string | null;
    }> = await this.db.query(
      `SELECT * FROM group_configs WHERE group_id = $1 ORDER BY version DESC LIMIT 1`,
      [groupId],
    );
    const r = rows[0];
    if (!r) throw notFound('Configuration of group', groupId);
    return {
      groupId: r.group_id,
      version: r.version,
      config: r.config,
      diff: r.diff,
      createdAt: r.created_at.toISOString(),
      createdBy: r.created_by,
    };
  }

  async get(id: string): Promise<Rollout> {
    if (!isUuid(id)) throw notFound('Rollout', id);
    const rows: RolloutRow[] = await this.db.query(
      `SELECT r.*, g.name AS group_name FROM rollouts r JOIN agent_groups g ON g.id = r.group_id
        WHERE r.id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound('Rollout', id);
    const agents: RolloutAgentRow[] = await this.db.query(
      `SELECT ra.*, a.name FROM rollout_agents ra LEFT JOIN agents a ON a.id = ra.agent_id
        WHERE ra.rollout_id = $1 ORDER BY ra.batch, a.name`,
      [id],
    );
    return toRollout(rows[0], agents);
  }

  async list(q: ListRolloutsQuery): Promise<Page<Rollout>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.groupId) where.push(`r.group_id = $${params.push(q.groupId)}`);
    if (q.state) where.push(`r.state = $${params.push(q.state)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.db.query(
      `SELECT count(*)::int AS total FROM rollouts r ${w}`,
      params,
    );
    const rows: RolloutRow[] = await this.db.query(
      `SELECT r.*, g.name AS group_name FROM rollouts r JOIN agent_groups g ON g.id = r.group_id
        ${w} ORDER BY r.created_at DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    const ids = rows.map((r) => r.id);
    const agents: Array<RolloutAgentRow & { rollout_id: string }> = ids.length
      ? await this.db.query(
          `SELECT ra.*, a.name FROM rollout_agents ra LEFT JOIN agents a ON a.id = ra.agent_id
            WHERE ra.rollout_id = ANY($1::uuid[]) ORDER BY ra.batch, a.name`,
          [ids],
        )
      : [];
    return {
      items: rows.map((r) =>
        toRollout(
          r,
          agents.filter((a) => a.rollout_id === r.id),
        ),
      ),
      total,
      page: q.page,
      limit: q.limit,
    };
  }

  async pause(ctx: RequestContext, id: string): Promise<Rollout> {
    await this.transition(ctx, id, ['running'], 'paused', 'rollout.pause');
    return this.get(id);
  }

  async resume(ctx: RequestContext, id: string): Promise<Rollout> {
    await this.transition(ctx, id, ['paused'], 'running', 'rollout.resume');
    await this.drive(id);
    return this.get(id);
  }

  /** Stops the rollout and puts every agent it changed back on its previous config. */
  async abort(ctx: RequestContext, id: string): Promise<Rollout> {
    await this.db.transaction(async (m) => {
      const r = await this.lock(m, id);
      if (r.state !== 'running' && r.state !== 'paused') {
        throw conflict(`Rollout is ${r.state}; only a running or paused rollout can be aborted`);
      }
      const n = await this.rollBack(m, r, 'aborted', 'aborted by hand');
      await this.audit.record(m, ctx, {
        action: 'rollout.abort',
        resourceType: 'rollout',
        resourceId: id,
        changes: { rolledBackAgents: n },
      });
    });
    await this.announce(id);
    return this.get(id);
  }

  /** Ids of rollouts the driver must look at. */
  async runningIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM rollouts WHERE state = 'running' ORDER BY created_at`,
    );
    return rows.map((r) => r.id);
  }

  /**
   * One step of a running rollout: push the current batch, record acks, roll everything back
   * when an agent of the batch is unhealthy or the acks time out, start the next batch when
   * this one acked and stayed healthy for the pause.
   */
  async drive(id: string): Promise<void> {
    let changed = false;
    await this.db.transaction(async (m) => {
      const r = await this.lock(m, id);
      if (r.state !== 'running') return;
      const now = new Date();
      const batch: RolloutAgentRow[] = await m.query(
        `SELECT * FROM rollout_agents WHERE rollout_id = $1 AND batch = $2 ORDER BY agent_id`,
        [id, r.current_batch],
      );
      if (batch.some((a) => a.state === 'pending')) {
        await this.push(
          m,
          r,
          batch.filter((a) => a.state === 'pending'),
        );
        if (!r.batch_started_at) {
          await m.query(
            `UPDATE rollouts SET batch_started_at = now(), updated_at = now() WHERE id = $1`,
            [id],
          );
        }
        changed = true;
        return;
      }
      const started = r.batch_started_at ?? now;
      const agents = new Map(
        (await this.agents.findByIds(batch.map((a) => a.agent_id))).map((a) => [a.id, a]),
      );
      const firing = await this.firingSince(
        batch.map((a) => a.agent_id),
        started,
      );
      const errorsUp = await this.errorRateUp(
        batch.map((a) => a.agent_id),
        started,
        r.pause_sec,
      );
      const unhealthy = batch.find((a) => {
        const ag = agents.get(a.agent_id);
        return !ag || ag.status !== 'online' || firing.has(a.agent_id) || errorsUp.has(a.agent_id);
      });
      if (unhealthy) {
        const ag = agents.get(unhealthy.agent_id);
        const up = errorsUp.get(unhealthy.agent_id);
        const why = !ag
          ? `agent ${unhealthy.agent_id} was deleted`
          : firing.has(ag.id)
            ? `agent ${ag.name} has a firing alert`
            : up
              ? `agent ${ag.name} error_rate rose from ${fmt(up.before)} to ${fmt(up.during)} %`
              : `agent ${ag.name} went ${ag.status}`;
        await this.rollBack(m, r, 'rolled_back', `batch ${r.current_batch + 1}: ${why}`);
        changed = true;
        return;
      }
      const newlyAcked = batch.filter(
        (a) =>
          a.state === 'pushed' &&
          (agents.get(a.agent_id)?.appliedConfigVersion ?? -1) >= (a.pushed_version ?? Infinity),
      );
      if (newlyAcked.length) {
        await m.query(
          `UPDATE rollout_agents SET state = 'acked', acked_at = now()
            WHERE rollout_id = $1 AND agent_id = ANY($2::uuid[])`,
          [id, newlyAcked.map((a) => a.agent_id)],
        );
        for (const a of newlyAcked) {
          a.state = 'acked';
          a.acked_at = now;
        }
        changed = true;
      }
      if (batch.every((a) => a.state === 'acked')) {
        const lastAck = Math.max(...batch.map((a) => (a.acked_at ?? now).getTime()));
        if (now.getTime() - lastAck >= r.pause_sec * 1000) {
          const next = r.current_batch + 1;
          const done = next >= r.batch_count;
          await m.query(
            `UPDATE rollouts SET current_batch = $2, state = $3::varchar, batch_started_at = NULL,
                    updated_at = now(), finished_at = CASE WHEN $3::varchar = 'completed' THEN now() END
              WHERE id = $1`,
            [id, next, done ? 'completed' : 'running'],
          );
          changed = true;
        }
      } else if (now.getTime() - started.getTime() > r.ack_timeout_sec * 1000) {
        const missing = batch.filter((a) => a.state !== 'acked').length;
        await this.rollBack(
          m,
          r,
          'rolled_back',
          `batch ${r.current_batch + 1}: ${missing} agent(s) did not apply the config within ${r.ack_timeout_sec} s`,
        );
        changed = true;
      }
    });
    if (changed) {
      await this.announce(id);
      // A batch that just finished its pause starts pushing at once, not a tick later.
      const [row]: Array<{ state: RolloutState; batch_started_at: Date | null }> =
        await this.db.query(`SELECT state, batch_started_at FROM rollouts WHERE id = $1`, [id]);
      if (row?.state === 'running' && !row.batch_started_at) await this.drive(id);
    }
  }

  /** Gives each agent its config with the group's keys laid over it; remembers the old one. */
  private async push(m: EntityManager, r: RolloutRow, agents: RolloutAgentRow[]): Promise<void> {
    const [cfg]: Array<{ config: Record<string, unknown> }> = await m.query(
      `SELECT config FROM group_configs WHERE id = $1`,
      [r.group_config_id],
    );
    const prevGroup = await this.lastApplied(m, r.group_id, r.version);
    const dropped = Object.keys(prevGroup ?? {}).filter((k) => !(k in cfg.config));
    for (const a of agents) {
      try {
        const before = await this.agents.getConfig(a.agent_id);
        const next: Record<string, unknown> = { ...before.config };
        for (const k of dropped) delete next[k];
        Object.assign(next, cfg.config);
        const res = await this.agents.putConfig(systemCtx(r.id), a.agent_id, { config: next });
        await m.query(
          `UPDATE rollout_agents SET state = 'pushed', previous_config = $3, pushed_version = $4,
                  pushed_at = now()
            WHERE rollout_id = $1 AND agent_id = $2`,
          [r.id, a.agent_id, JSON.stringify(before.config), res.configVersion],
        );
      } catch (e) {
        if (e instanceof DomainException && e.code === 'NOT_FOUND') {
          // Deleted meanwhile: the next health check rolls the batch back.
          continue;
        }
        throw e;
      }
    }
  }

  /** The group config of the last rollout before `version` that completed. */
  private async lastApplied(
    m: EntityManager,
    groupId: string,
    version: number,
  ): Promise<Record<string, unknown> | null> {
    const rows: Array<{ config: Record<string, unknown> }> = await m.query(
      `SELECT c.config FROM group_configs c JOIN rollouts r ON r.group_config_id = c.id
        WHERE c.group_id = $1 AND c.version < $2 AND r.state = 'completed'
        ORDER BY c.version DESC LIMIT 1`,
      [groupId, version],
    );
    return rows[0]?.config ?? null;
  }

  /** Restores the previous config of every agent this rollout changed; returns how many. */
  private async rollBack(
    m: EntityManager,
    r: RolloutRow,
    state: 'rolled_back' | 'aborted',
    reason: string,
  ): Promise<number> {
    const changed: RolloutAgentRow[] = await m.query(
      `SELECT * FROM rollout_agents WHERE rollout_id = $1 AND state IN ('pushed', 'acked')`,
      [r.id],
    );
    let n = 0;
    for (const a of changed) {
      try {
        await this.agents.putConfig(systemCtx(r.id), a.agent_id, {
          config: a.previous_config ?? {},
        });
        n++;
      } catch (e) {
        if (!(e instanceof DomainException && e.code === 'NOT_FOUND')) throw e;
      }
      await m.query(
        `UPDATE rollout_agents SET state = 'rolled_back', rolled_back_at = now()
          WHERE rollout_id = $1 AND agent_id = $2`,
        [r.id, a.agent_id],
      );
    }
    await m.query(
      `UPDATE rollouts SET state = $2, reason = $3, updated_at = now(), finished_at = now()
        WHERE id = $1`,
      [r.id, state, reason],
    );
    this.logger.warn(`rollout ${r.id} ${state}: ${reason} (${n} agent(s) restored)`);
    return n;
  }

  /** Agents of the batch with an alert that fired since the batch started (alerting module). */
  private async firingSince(agentIds: string[], since: Date): Promise<Set<string>> {
    const [{ present }] = await this.db.query(
      `SELECT to_regclass('alert_instances') IS NOT NULL AS present`,
    );
    if (!present || !agentIds.length) return new Set();
    const rows: Array<{ agent_id: string }> = await this.db.query(
      `SELECT DISTINCT agent_id FROM alert_instances
        WHERE agent_id = ANY($1::uuid[]) AND state = 'firing' AND fired_at >= $2`,
      [agentIds, since],
    );
    return new Set(rows.map((r) => r.agent_id));
  }

  /**
   * Agents of the batch whose `error_rate` went up since the batch started: the mean over the
   * batch so far against the mean over the baseline window before it (the pause, at least
   * ERROR_BASELINE_MIN_SEC). "Up" means higher by more than ERROR_RATE_UP_POINTS percentage
   * points and by more than ERROR_RATE_UP_FACTOR times the baseline; an agent with no sample
   * before counts from 0, one with no sample during the batch is not judged.
   */
  private async errorRateUp(
    agentIds: string[],
    since: Date,
    pauseSec: number,
  ): Promise<Map<string, { before: number; during: number }>> {
    const out = new Map<string, { before: number; during: number }>();
    if (!agentIds.length) return out;
    const [{ present }] = await this.db.query(
      `SELECT to_regclass('metric_raw') IS NOT NULL AND to_regclass('metric_series') IS NOT NULL AS present`,
    );
    if (!present) return out;
    const baselineMs = Math.max(pauseSec, ERROR_BASELINE_MIN_SEC) * 1000;
    const rows: Array<{ agent_id: string; before: number | null; during: number | null }> =
      await this.db.query(
        `SELECT s.agent_id,
                avg(r.v) FILTER (WHERE r.ts < $2)::float8 AS before,
                avg(r.v) FILTER (WHERE r.ts >= $2)::float8 AS during
           FROM metric_raw_values(
                  ARRAY(SELECT id FROM metric_series
                         WHERE agent_id = ANY($1::uuid[]) AND measurement = $4 AND labels = ''),
                  $3, 'infinity') r
           JOIN metric_series s ON s.id = r.series_id
          WHERE s.fields[r.f] = 'error_rate'
          GROUP BY s.agent_id`,
        [agentIds, since, new Date(since.getTime() - baselineMs), DEFAULT_MEASUREMENT],
      );
    for (const r of rows) {
      if (r.during === null) continue;
      const before = r.before ?? 0;
      if (isErrorRateUp(before, r.during)) out.set(r.agent_id, { before, during: r.during });
    }
    return out;
  }

  private async transition(
    ctx: RequestContext,
    id: string,
    from: RolloutState[],
    to: RolloutState,
    action: string,
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const r = await this.lock(m, id);
      if (!from.includes(r.state)) {
        throw conflict(`Rollout is ${r.state}; cannot ${action.split('.')[1]}`);
      }
      await m.query(`UPDATE rollouts SET state = $2, updated_at = now() WHERE id = $1`, [id, to]);
      await this.audit.record(m, ctx, {
        action,
        resourceType: 'rollout',
        resourceId: id,
        changes: { from: r.state, to },
      });
    });
    await this.announce(id);
  }

  private async lock(m: EntityManager, id: string): Promise<RolloutRow> {
    if (!isUuid(id)) throw notFound('Rollout', id);
    const rows: RolloutRow[] = await m.query(`SELECT * FROM rollouts WHERE id = $1 FOR UPDATE`, [
      id,
    ]);
    if (!rows[0]) throw notFound('Rollout', id);
    return rows[0];
  }

  private async announce(id: string): Promise<void> {
    if (!this.realtime) return;
    try {
      const { agents: _agents, ...rollout } = await this.get(id);
      this.realtime.publish('rollout_updated', { rollout, at: new Date().toISOString() });
    } catch (e) {
      this.logger.warn(`rollout_updated not sent: ${String(e)}`);
    }
  }
}

/**
 * Config pushes and rollbacks made by the driver are audited as actor `system:rollout` with the
 * rollout's id as actor id (the rollout row names who started it), not as an anonymous caller.
 */
export function systemCtx(rolloutId: string): RequestContext {
  return {
    principal: null,
    ip: '',
    requestId: `rollout:${rolloutId}`.slice(0, 64),
    userAgent: null,
    audited: false,
    systemActor: { id: rolloutId, label: 'system:rollout' },
  };
}

function toRollout(r: RolloutRow, agents: RolloutAgentRow[]): Rollout {
  const counts = Object.fromEntries(ROLLOUT_AGENT_STATES.map((s) => [s, 0])) as Record<
    RolloutAgentState,
    number
  >;
  for (const a of agents) counts[a.state]++;
  return {
    id: r.id,
    groupId: r.group_id,
    groupName: r.group_name ?? null,
    version: r.version,
    strategy: r.strategy,
    canaryPercent: r.canary_percent,
    batchSize: r.batch_size,
    pauseSec: r.pause_sec,
    ackTimeoutSec: r.ack_timeout_sec,
    state: r.state,
    currentBatch: r.current_batch,
    batchCount: r.batch_count,
    reason: r.reason,
    counts,
    agents: agents.map((a) => ({
      agentId: a.agent_id,
      name: a.name ?? null,
      batch: a.batch,
      state: a.state,
      pushedVersion: a.pushed_version,
      pushedAt: a.pushed_at?.toISOString() ?? null,
      ackedAt: a.acked_at?.toISOString() ?? null,
    })),
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}
