import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type {
  AlertNotificationPayload,
  Delivery,
  DeliveryStatus,
  ListDeliveriesQuery,
  Page,
} from '@agent-monitor/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricsRegistry, type NotificationOutcome } from '../system/metrics-registry.service.js';
import { ChannelsService } from './channels.service.js';
import { sendNotification, type SendOptions, type SendResult } from './senders.js';
import { PriorityDb, type SqlRunner } from './priority-db.js';
import { sqlRows } from './sql.js';

interface OutboxRow {
  id: string;
  dedup_key: string;
  channel_id: string;
  alert_id: string | null;
  event: string;
  payload: AlertNotificationPayload;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  group_key: string | null;
  group_keys: string[] | null;
}

export interface OutboxEntry {
  channelId: string;
  alertId: string | null;
  event: string;
  payload: AlertNotificationPayload;
  /** Send no earlier than this (grouping windows); default now. */
  notBefore?: Date;
  /** Recorded but not sent (maintenance). */
  suppressed?: boolean;
  /**
   * Alert group (e.g. one rule across agents; alerts of one agent correlate across rules too):
   * the first firing (or resolved) notification of a group goes out at once; followers within
   * `windowSec` of it are batched into one notification sent when the window closes.
   */
  group?: { key: string; windowSec: number };
  /**
   * Topology hold (firing only): the first delivery waits until then, so a "group unreachable"
   * incident firing meanwhile can still inhibit it (`withdraw`). Held notifications correlate
   * only with held ones: an alert that is not held is never delayed by joining them.
   */
  holdUntil?: Date;
}

/** Correlation keys of held notifications carry this prefix (see `OutboxEntry.holdUntil`). */
const HELD = 'held:';

/** Firing and resolved notifications of one group are batched (each with its own leader). */
const GROUPED_EVENTS = new Set(['firing', 'resolved']);

/** The keys an alert correlates by: its group (by default its rule) and its agent. Sorted. */
function correlationKeys(e: OutboxEntry, g: { key: string }): string[] {
  const agents = e.payload.alerts.map((a) => a.agentId).filter((a): a is string => !!a);
  const prefix = isHeld(e) ? HELD : '';
  return [...new Set([g.key, ...agents.map((a) => `agent:${a}`)])].map((k) => prefix + k).sort();
}

function isHeld(e: OutboxEntry): e is OutboxEntry & { holdUntil: Date } {
  return !!e.holdUntil && e.event === 'firing' && !e.suppressed;
}

/** Exponential backoff with jitter; a receiver's Retry-After wins when it gives one. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | null,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  if (retryAfterMs !== null) return Math.min(Math.max(retryAfterMs, 0), maxMs);
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}

/**
 * The notification outbox. Rows are written by the alert transition's own transaction
 * (`enqueue(manager, …)`), so a notification exists exactly when its transition committed,
 * and the unique dedup key makes a second writer a no-op. After commit the first attempt
 * starts at once in-process (`kick`); retries, and rows left over by a crash, are claimed
 * with FOR UPDATE SKIP LOCKED by whichever instance polls first. Every attempt is recorded.
 */
@Injectable()
export class DeliveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryService.name);
  private pollTimer: NodeJS.Timeout | null = null;
  /** The outbox claim in progress, if any (its transaction must end before shutdown). */
  private pollRun: Promise<void> | null = null;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<void>>();
  private stopping = false;
  private polling = false;

  constructor(
    private readonly db: DataSource,
    private readonly channels: ChannelsService,
    private readonly fast: PriorityDb,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {
    // Outbox depth read at scrape time: what waits to be sent now (`due`), later (`scheduled`:
    // retries in backoff, batches waiting for their group window) and what is being sent.
    const depth = metrics?.gauge({
      name: 'am_notification_outbox_depth',
      help: 'Notification outbox rows not yet delivered or failed, by state (due, scheduled, sending).',
      labelNames: ['state'] as const,
      collect: async () => {
        if (!depth) return;
        const counts = { due: 0, scheduled: 0, sending: 0 };
        try {
          const rows = await sqlRows<{ state: keyof typeof counts; n: number }>(
            this.db,
            `SELECT CASE WHEN status = 'sending' THEN 'sending'
                         WHEN next_attempt_at <= now() THEN 'due' ELSE 'scheduled' END AS state,
                    count(*)::int AS n
               FROM notification_outbox WHERE status IN ('pending', 'sending') GROUP BY 1`,
          );
          for (const r of rows) counts[r.state] = r.n;
        } catch {
          return; // database unreachable: keep the last figures rather than fail the scrape
        }
        for (const [state, n] of Object.entries(counts)) depth.set({ state }, n);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.pollTimer = setInterval(() => void this.poll(), this.config.NOTIFY_POLL_INTERVAL);
    this.pollTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    // In-flight attempts finish (bounded by the per-attempt timeout); anything else resumes
    // from the outbox on the next start.
    // A claim in progress commits before the database connections close (then its sends are
    // in flight too).
    await this.pollRun;
    await Promise.allSettled([...this.inflight]);
  }

  get sendOptions(): SendOptions {
    return {
      timeoutMs: this.config.NOTIFY_TIMEOUT,
      allowPrivate: this.config.ALLOW_PRIVATE_WEBHOOK_TARGETS,
      smtpUrl: this.config.SMTP_URL,
      smtpFrom: this.config.SMTP_FROM,
      publicUrl: this.config.PUBLIC_URL,
    };
  }

  /**
   * Writes outbox rows inside the caller's transaction; returns the ids to `kick` once it
   * committed. `correlation`, when given, receives for each firing alert the id of the alert
   * that leads the notification it was sent in (itself when it leads; the first channel decides).
   */
  async enqueue(
    m: SqlRunner,
    entries: OutboxEntry[],
    correlation?: Map<string, string>,
  ): Promise<string[]> {
    const ids: string[] = [];
    // Channel order: grouped entries take advisory locks, and every transaction taking them in
    // the same order cannot deadlock with another.
    const ordered = [...entries].sort((a, b) => (a.channelId < b.channelId ? -1 : 1));
    for (const e of ordered) {
      let leader = e.alertId;
      if (e.group && e.group.windowSec > 0 && GROUPED_EVENTS.has(e.event) && !e.suppressed) {
        const r = await this.enqueueGrouped(m, e, e.group);
        if (r.id) ids.push(r.id);
        leader = r.leader ?? leader;
      } else {
        const held = isHeld(e);
        const id = await this.insert(
          m,
          e,
          e.event,
          e.suppressed ? 'suppressed' : 'pending',
          held ? e.holdUntil : (e.notBefore ?? null),
        );
        if (id && held) this.later(id, e.holdUntil.getTime() - Date.now() + 5);
        else if (id && !e.suppressed) ids.push(id);
      }
      if (correlation && e.alertId && leader && e.event === 'firing' && !correlation.has(e.alertId))
        correlation.set(e.alertId, leader);
    }
    return ids;
  }

  /**
   * Takes a firing alert out of held notifications not yet attempted (its group's "unreachable"
   * incident fired, or it resolved, within the topology hold). A notification left without
   * alerts is recorded as suppressed; one that goes on without it leaves a suppressed row for
   * the alert, so its delivery log says what happened and a later release can send it.
   * Returns the channels it was withdrawn from.
   */
  async withdraw(m: SqlRunner, alertId: string, reason: string): Promise<string[]> {
    const rows = await sqlRows<OutboxRow>(
      m,
      `SELECT * FROM notification_outbox
        WHERE status = 'pending' AND attempts = 0 AND group_keys[1] LIKE '${HELD}%'
          AND payload->'alerts' @> jsonb_build_array(jsonb_build_object('id', $1::text))
        FOR UPDATE`,
      [alertId],
    );
    for (const r of rows) {
      const mine = r.payload.alerts.filter((a) => a.id === alertId);
      const rest = r.payload.alerts.filter((a) => a.id !== alertId);
      if (!rest.length) {
        await m.query(
          `UPDATE notification_outbox SET status = 'suppressed', last_error = $2 WHERE id = $1`,
          [r.id, reason],
        );
        continue;
      }
      await m.query(
        `UPDATE notification_outbox SET payload = jsonb_set(payload, '{alerts}', $2::jsonb),
            alert_id = CASE WHEN alert_id = $3 THEN $4::uuid ELSE alert_id END
          WHERE id = $1`,
        [r.id, JSON.stringify(rest), alertId, rest[0].id],
      );
      await m.query(
        `INSERT INTO notification_outbox (dedup_key, channel_id, alert_id, event, payload, status, last_error, group_key, group_keys)
         VALUES ($1, $2, $3, 'firing', $4, 'suppressed', $5, $6, $7)
         ON CONFLICT (dedup_key) DO NOTHING`,
        [
          `${alertId}:firing:${r.channel_id}:withdrawn`,
          r.channel_id,
          alertId,
          JSON.stringify({
            ...r.payload,
            dedupKey: `${alertId}:firing:${r.channel_id}`,
            alerts: mine,
          }),
          reason,
          r.group_key,
          r.group_keys,
        ],
      );
    }
    return [...new Set(rows.map((r) => r.channel_id))];
  }

  private async insert(
    m: SqlRunner,
    e: OutboxEntry,
    event: string,
    status: DeliveryStatus,
    notBefore: Date | null,
    keys = e.group ? correlationKeys(e, e.group) : null,
  ): Promise<string | null> {
    const rows = await sqlRows<{ id: string }>(
      m,
      `INSERT INTO notification_outbox (dedup_key, channel_id, alert_id, event, payload, status, next_attempt_at, group_key, group_keys)
       VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()), $8, $9)
       ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
      [
        e.payload.dedupKey,
        e.channelId,
        e.alertId,
        event,
        JSON.stringify(e.payload),
        status,
        notBefore,
        e.group?.key ?? null,
        keys,
      ],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Leader or follower: returns the id to send now (leader), or null when the alert joined a
   * batch that is timed for the end of the group window. An alert correlates with an open
   * leader on the same channel that shares its group (same rule across agents) or its agent
   * (one agent across rules). Serialised with transaction-scoped advisory locks per (channel,
   * event, key), taken in sorted order, so concurrent transitions agree on who leads. Firing
   * and resolved transitions group separately: N alerts recovering together get one "resolved"
   * leader and one batch, like N alerts failing together.
   */
  private async enqueueGrouped(
    m: SqlRunner,
    e: OutboxEntry,
    g: { key: string; windowSec: number },
  ): Promise<{ id: string | null; leader: string | null }> {
    const ev = e.event;
    const batchEv = `${ev}_group`;
    const keys = correlationKeys(e, g);
    for (const k of keys)
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
        `outbox:${e.channelId}:${ev}:${k}`,
      ]);
    // `now()` (stable) bounds the index range scan; clock_timestamp() decides exactly.
    const [leader] = await sqlRows<{
      id: string;
      alert_id: string | null;
      group_keys: string[];
      created_at: Date;
      window_end: Date;
    }>(
      m,
      `SELECT id, alert_id, group_keys, created_at, created_at + make_interval(secs => $3::float8) AS window_end
         FROM notification_outbox
        WHERE channel_id = $1 AND event = $4 AND group_keys && $2::text[]
          AND created_at > now() - make_interval(secs => $3::float8)
          AND created_at + make_interval(secs => $3::float8) > clock_timestamp()
        ORDER BY created_at DESC LIMIT 1`,
      [e.channelId, keys, g.windowSec, ev],
    );
    const hold = isHeld(e) ? e.holdUntil : null;
    if (!leader) {
      const id = await this.insert(m, e, ev, 'pending', hold);
      if (id && hold) this.later(id, hold.getTime() - Date.now() + 5);
      return { id: hold ? null : id, leader: e.alertId };
    }
    // Followers of one leader may correlate with it by different keys (x's memory alert by
    // agent, y's cpu alert by rule), so they hold disjoint key locks and share no key: the
    // leader's row lock serialises them, and its batch carries (and is found by) the leader's
    // keys too, so the second joins the batch the first made instead of making another.
    await m.query(`SELECT 1 FROM notification_outbox WHERE id = $1 FOR UPDATE`, [leader.id]);
    const batchKeys = [...new Set([...keys, ...leader.group_keys])].sort();
    if (hold) {
      // A held leader not sent yet takes its held followers in (one notification, as
      // Alertmanager's group_wait), waiting for the latest follower's hold.
      const [waiting] = await sqlRows<{ id: string; next_attempt_at: Date }>(
        m,
        `UPDATE notification_outbox
            SET payload = jsonb_set(payload, '{alerts}', (payload->'alerts') || $2::jsonb),
                next_attempt_at = GREATEST(next_attempt_at, $3)
          WHERE id = $1 AND status = 'pending' AND attempts = 0 AND next_attempt_at > clock_timestamp()
          RETURNING id, next_attempt_at`,
        [leader.id, JSON.stringify(e.payload.alerts), hold],
      );
      if (waiting) {
        this.later(waiting.id, waiting.next_attempt_at.getTime() - Date.now() + 5);
        return { id: null, leader: leader.alert_id };
      }
    }
    // This leader's batch: due after the leader was written. Not "created after the leader":
    // created_at is the writing transaction's start, and a follower that started before the
    // leader committed (it waited on the lock) would not find the batch another one made.
    const [batch] = await sqlRows<{ id: string }>(
      m,
      `SELECT id FROM notification_outbox
        WHERE channel_id = $1 AND event = $4 AND group_keys && $2::text[] AND status = 'pending'
          AND attempts = 0 AND next_attempt_at > $3
          AND created_at > $3::timestamptz - interval '1 minute'
        ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
      [e.channelId, batchKeys, leader.created_at, batchEv],
    );
    if (batch) {
      const [b] = await sqlRows<{ next_attempt_at: Date }>(
        m,
        `UPDATE notification_outbox SET payload = jsonb_set(payload, '{alerts}', (payload->'alerts') || $2::jsonb),
            next_attempt_at = GREATEST(next_attempt_at, COALESCE($3, next_attempt_at))
          WHERE id = $1 RETURNING next_attempt_at`,
        [batch.id, JSON.stringify(e.payload.alerts), hold],
      );
      if (hold) this.later(batch.id, b.next_attempt_at.getTime() - Date.now() + 5);
      return { id: null, leader: leader.alert_id };
    }
    const due = hold && hold > leader.window_end ? hold : leader.window_end;
    const id = await this.insert(m, e, batchEv, 'pending', due, batchKeys);
    if (id) this.later(id, Math.max(0, due.getTime() - Date.now()) + 5);
    return { id: null, leader: leader.alert_id };
  }

  /** Starts first attempts right after the enqueuing transaction committed. */
  kick(ids: string[], notBefore?: Date): void {
    for (const id of ids) {
      const delay = notBefore ? notBefore.getTime() - Date.now() : 0;
      if (delay > 0) this.later(id, delay);
      else this.track(this.claimAndSend(id));
    }
  }

  private later(id: string, delayMs: number): void {
    if (this.stopping) return;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      this.track(this.claimAndSend(id));
    }, delayMs);
    t.unref();
    this.retryTimers.add(t);
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) => this.logger.error(`delivery failed: ${String(e)}`));
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  private lockMs(): number {
    return this.config.NOTIFY_TIMEOUT + 5_000;
  }

  private async claimAndSend(id: string): Promise<void> {
    if (this.stopping) return;
    const [row] = await sqlRows<OutboxRow>(
      this.fast,
      `UPDATE notification_outbox
          SET status = 'sending', attempts = attempts + 1, locked_until = now() + ($2 || ' milliseconds')::interval
        WHERE id = $1 AND status = 'pending' AND next_attempt_at <= now()
        RETURNING *`,
      [id, String(this.lockMs())],
    );
    if (row) await this.send(row);
  }

  /** Claims due rows (retries, and sends orphaned by a crash) and sends them concurrently. */
  async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    const run = this.pollOnce();
    this.pollRun = run;
    await run;
  }

  /** One claim of due outbox rows (a transaction: shutdown waits for it, see pollRun). */
  private async pollOnce(): Promise<void> {
    try {
      const rows = await this.db.transaction(async (m) => {
        const due = await sqlRows<{ id: string }>(
          m,
          `SELECT id FROM notification_outbox
            WHERE (status = 'pending' AND next_attempt_at <= now())
               OR (status = 'sending' AND locked_until < now())
            ORDER BY next_attempt_at LIMIT 50 FOR UPDATE SKIP LOCKED`,
        );
        if (!due.length) return [];
        return sqlRows<OutboxRow>(
          m,
          `UPDATE notification_outbox
              SET status = 'sending', attempts = attempts + 1, locked_until = now() + ($2 || ' milliseconds')::interval
            WHERE id = ANY($1::uuid[]) RETURNING *`,
          [due.map((d) => d.id), String(this.lockMs())],
        );
      });
      for (const r of rows) this.track(this.send(r));
    } catch (e) {
      if (!this.stopping) this.logger.warn(`outbox poll failed: ${String(e)}`);
    } finally {
      this.polling = false;
    }
  }

  private async send(row: OutboxRow): Promise<void> {
    const ch = await this.channels.open(row.channel_id, this.fast);
    let result: SendResult;
    if (!ch) {
      result = {
        ok: false,
        statusCode: null,
        error: 'channel deleted',
        retryable: false,
        retryAfterMs: null,
        durationMs: 0,
      };
    } else if (!ch.enabled) {
      result = {
        ok: false,
        statusCode: null,
        error: 'channel disabled',
        retryable: false,
        retryAfterMs: null,
        durationMs: 0,
      };
    } else {
      result = await sendNotification(ch, row.payload, this.sendOptions);
    }
    await this.record(row, result, ch?.type ?? 'unknown');
  }

  private async record(row: OutboxRow, r: SendResult, channelType: string): Promise<void> {
    const max = this.config.NOTIFY_MAX_ATTEMPTS;
    let delay: number | null = null;
    let outcome: NotificationOutcome = 'failed';
    await this.fast.transaction(async (m) => {
      await m.query(
        `INSERT INTO notification_attempts (outbox_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)`,
        [row.id, row.attempts, r.statusCode, r.error, r.durationMs],
      );
      if (r.ok) {
        outcome = 'delivered';
        await m.query(
          `UPDATE notification_outbox SET status = 'delivered', delivered_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1`,
          [row.id],
        );
      } else if (r.retryable && row.attempts < max) {
        outcome = 'retrying';
        delay = retryDelayMs(
          row.attempts,
          r.retryAfterMs,
          this.config.NOTIFY_RETRY_BASE,
          this.config.NOTIFY_RETRY_MAX,
        );
        await m.query(
          `UPDATE notification_outbox
              SET status = 'pending', locked_until = NULL, last_error = $2,
                  next_attempt_at = now() + ($3 || ' milliseconds')::interval
            WHERE id = $1`,
          [row.id, r.error, String(delay)],
        );
      } else {
        await m.query(
          `UPDATE notification_outbox SET status = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`,
          [row.id, r.error],
        );
      }
    });
    // Counted once the attempt's record committed: one increment per recorded attempt.
    this.metrics?.notificationDeliveries.inc({ channel_type: channelType, outcome });
    if (!r.ok) {
      this.logger.warn(
        `notification ${row.dedup_key} attempt ${row.attempts}: ${r.error ?? 'failed'}`,
      );
    }
    // Short retries are timed in-process; the poller catches anything this misses (restart).
    if (delay !== null && delay < 60_000) this.later(row.id, delay + 5);
  }

  async list(q: ListDeliveriesQuery & { channelId?: string }): Promise<Page<Delivery>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.channelId) where.push(`channel_id = $${params.push(q.channelId)}`);
    if (q.status) where.push(`status = $${params.push(q.status)}`);
    if (q.alertId) where.push(`alert_id = $${params.push(q.alertId)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await sqlRows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM notification_outbox ${w}`,
      params,
    );
    const rows = await sqlRows<OutboxRow>(
      this.db,
      `SELECT * FROM notification_outbox ${w} ORDER BY created_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, q.limit, (q.page - 1) * q.limit],
    );
    const attempts = rows.length
      ? await sqlRows<{
          outbox_id: string;
          attempt: number;
          at: Date;
          status_code: number | null;
          error: string | null;
          duration_ms: number;
        }>(
          this.db,
          `SELECT outbox_id, attempt, at, status_code, error, duration_ms FROM notification_attempts WHERE outbox_id = ANY($1::uuid[]) ORDER BY attempt`,
          [rows.map((r) => r.id)],
        )
      : [];
    return {
      items: rows.map((r) => ({
        id: r.id,
        channelId: r.channel_id,
        alertId: r.alert_id,
        event: r.event,
        dedupKey: r.dedup_key,
        status: r.status,
        attempts: r.attempts,
        nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
        lastError: r.last_error,
        createdAt: r.created_at.toISOString(),
        deliveredAt: r.delivered_at?.toISOString() ?? null,
        attemptLog: attempts
          .filter((a) => a.outbox_id === r.id)
          .map((a) => ({
            attempt: a.attempt,
            at: a.at.toISOString(),
            statusCode: a.status_code,
            error: a.error,
            durationMs: a.duration_ms,
          })),
      })),
      total: n,
      page: q.page,
      limit: q.limit,
    };
  }
}
