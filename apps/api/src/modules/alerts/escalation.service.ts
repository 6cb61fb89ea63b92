import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AlertNotificationPayload, EscalationStep } from '@agent-monitor/contracts';
import { DeliveryService, type OutboxEntry } from '../notifications/delivery.service.js';
import { sqlRows } from '../notifications/sql.js';
import type { InstanceRow } from './alert-engine.service.js';
import type { RuleRow } from './rules.service.js';

export type PayloadBuilder = (
  rule: RuleRow,
  rows: InstanceRow[],
  event: AlertNotificationPayload['event'],
  dedupKey: string,
) => AlertNotificationPayload;

/** A late tick is still "on time"; beyond this the alert was paused (ack, maintenance, downtime). */
const ON_TIME_MS = 60_000;

/**
 * When the step after `done` (0-based count of steps already sent, minus one) is due.
 * Steps keep the spacing of their `afterMinutes`; when an ack or a maintenance window held the
 * alert back, the spacing counts from the moment escalation resumed, so the remaining steps do
 * not all fire at once. After the last step: every `repeatEvery` minutes, or never.
 */
export function nextStepAt(
  steps: Pick<EscalationStep, 'afterMinutes'>[],
  repeatEvery: number | null,
  done: number,
  dueAt: Date,
  sentAt: Date,
): Date | null {
  const base =
    sentAt.getTime() - dueAt.getTime() <= ON_TIME_MS ? dueAt.getTime() : sentAt.getTime();
  if (done + 1 < steps.length) {
    const gap = steps[done + 1].afterMinutes - steps[done].afterMinutes;
    return new Date(base + Math.max(0, gap) * 60_000);
  }
  return repeatEvery ? new Date(base + repeatEvery * 60_000) : null;
}

interface DueRow extends InstanceRow {
  policy_steps: EscalationStep[] | null;
  policy_repeat: number | null;
  ack_expired: boolean;
}

/**
 * Moves unacknowledged firing alerts along their rule's escalation policy. The engine marks a
 * newly firing alert of a rule with a policy as due at once (`firstCheck`); the first pass here
 * reads the policy from PostgreSQL and times step 1, so a policy edited or created on another
 * instance is always current. Rows are claimed with FOR UPDATE SKIP LOCKED, so with several API
 * instances each step is sent once; outbox rows and history are written in the same
 * transaction, and the dedup key (alert, step count, channel) makes a repeat a no-op.
 */
@Injectable()
export class EscalationService {
  private payloadOf: PayloadBuilder | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly delivery: DeliveryService,
  ) {}

  /** The engine hands over how it renders notification payloads. */
  usePayload(fn: PayloadBuilder): void {
    this.payloadOf = fn;
  }

  /** `next_escalation_at` for an alert that starts firing now. */
  firstCheck(rule: Pick<RuleRow, 'escalation_policy_id'>, firedAt: Date): Date | null {
    return rule.escalation_policy_id ? firedAt : null;
  }

  /** One pass: due steps are sent, expired acks lapse. Called from the engine's timer. */
  async run(): Promise<void> {
    const payloadOf = this.payloadOf;
    if (!payloadOf) return;
    const sent = await this.db.transaction(async (m) => {
      const due = await sqlRows<DueRow>(
        m,
        `SELECT i.*, p.steps AS policy_steps, p.repeat_every_minutes AS policy_repeat,
                (i.acked_at IS NOT NULL AND i.ack_expires_at IS NOT NULL AND i.ack_expires_at <= now()) AS ack_expired
           FROM alert_instances i
           JOIN alert_rules r ON r.id = i.rule_id
           LEFT JOIN escalation_policies p ON p.id = r.escalation_policy_id
          WHERE i.state = 'firing'
            AND ((i.next_escalation_at <= now() AND NOT i.suppressed
                  AND (i.acked_at IS NULL OR i.ack_expires_at <= now()))
              OR (i.acked_at IS NOT NULL AND i.ack_expires_at <= now()))
          ORDER BY i.next_escalation_at NULLS LAST LIMIT 50
          FOR UPDATE OF i SKIP LOCKED`,
      );
      if (!due.length) return [];
      const rules = new Map(
        (
          await sqlRows<RuleRow>(m, `SELECT * FROM alert_rules WHERE id = ANY($1::uuid[])`, [
            [...new Set(due.map((d) => d.rule_id))],
          ])
        ).map((r) => [r.id, r]),
      );
      const [{ now }] = await sqlRows<{ now: Date }>(m, `SELECT now() AS now`);
      const out: string[] = [];
      for (const inst of due) {
        if (inst.ack_expired) {
          // The ack lapses: the alert is unacknowledged again and escalation resumes.
          await m.query(
            `UPDATE alert_instances SET acked_at = NULL, acked_by = NULL, ack_comment = NULL,
                ack_expires_at = NULL, version = version + 1 WHERE id = $1`,
            [inst.id],
          );
          await this.history(m, inst.id, 'ack_expired', `acknowledged by ${inst.acked_by ?? '?'}`);
        }
        const dueAt = inst.next_escalation_at;
        if (!dueAt || dueAt > now || inst.suppressed) continue;
        const steps = inst.policy_steps ?? [];
        const rule = rules.get(inst.rule_id);
        const n = inst.escalation_step;
        if (
          !rule ||
          !inst.fired_at ||
          !steps.length ||
          (n >= steps.length && !inst.policy_repeat)
        ) {
          await m.query(`UPDATE alert_instances SET next_escalation_at = NULL WHERE id = $1`, [
            inst.id,
          ]);
          continue;
        }
        if (n === 0) {
          // First pass after firing (or after the ack that held it): time step 1 precisely.
          const firstAt = new Date(inst.fired_at.getTime() + steps[0].afterMinutes * 60_000);
          if (firstAt > now && dueAt < firstAt) {
            await m.query(`UPDATE alert_instances SET next_escalation_at = $2 WHERE id = $1`, [
              inst.id,
              firstAt,
            ]);
            continue;
          }
        }
        const idx = Math.min(n, steps.length - 1);
        const entries: OutboxEntry[] = steps[idx].channelIds.map((channelId) => ({
          channelId,
          alertId: inst.id,
          event: 'escalated',
          payload: payloadOf(rule, [inst], 'escalated', `${inst.id}:escalate:${n}:${channelId}`),
        }));
        out.push(...(await this.delivery.enqueue(m, entries)));
        await m.query(
          `UPDATE alert_instances SET escalation_step = escalation_step + 1, next_escalation_at = $2,
              version = version + 1 WHERE id = $1`,
          [inst.id, nextStepAt(steps, inst.policy_repeat, n, dueAt, now)],
        );
        await this.history(
          m,
          inst.id,
          'escalated',
          n < steps.length
            ? `step ${n + 1}`
            : `step ${steps.length} (repeat ${n - steps.length + 1})`,
        );
      }
      return out;
    });
    if (sent.length) this.delivery.kick(sent);
  }

  private async history(
    m: EntityManager,
    alertId: string,
    type: 'escalated' | 'ack_expired',
    comment: string,
  ): Promise<void> {
    await m.query(
      `INSERT INTO alert_transitions (alert_id, type, at, comment) VALUES ($1, $2, now(), $3)`,
      [alertId, type, comment],
    );
  }
}
