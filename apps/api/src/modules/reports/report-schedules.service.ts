import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  GenerateReportQuerySchema,
  type CreateReportSchedule,
  type Page,
  type PageQuery,
  type Report,
  type ReportDelivery,
  type ReportSchedule,
  type ReportScheduleRun,
  type UpdateReportSchedule,
} from '@agent-monitor/contracts';
import { principalLabel, type RequestContext } from '../../common/access.js';
import { badRequest, conflict, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { isUuid } from '../groups/group-membership.js';
import { ChannelsService } from '../notifications/channels.service.js';
import { DeliveryService } from '../notifications/delivery.service.js';
import { sendEmailMessage } from '../notifications/senders.js';
import { nextOccurrence, reportPeriod } from './report-period.js';
import { reportToCsv, reportToPdf } from './report-render.js';
import { ReportsService } from './reports.service.js';

interface ScheduleRow {
  id: string;
  name: string;
  scope: string;
  environment: string | null;
  region: string | null;
  format: 'pdf' | 'csv';
  cron: string;
  time_zone: string;
  channel_ids: string[];
  enabled: boolean;
  next_run_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

interface RunRow {
  id: string;
  schedule_id: string;
  trigger: 'schedule' | 'manual';
  status: 'running' | 'sent' | 'failed';
  period_from: Date;
  period_to: Date;
  started_at: Date;
  sent_at: Date | null;
  error: string | null;
  deliveries: ReportDelivery[];
  attachment_bytes: number | null;
  created_by: string | null;
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${v} %`);
const secs = (v: number | null) => (v === null ? 'n/a' : `${v} s`);

/**
 * Reports generated on a cron and mailed as a PDF or CSV attachment through e-mail channels
 * (their SMTP settings and encrypted password, via the notifications domain). Chat and webhook
 * channels are refused: they cannot carry an attachment. Each run, scheduled or by hand, is
 * recorded with its period, outcome per channel and error.
 */
@Injectable()
export class ReportSchedulesService {
  private readonly logger = new Logger(ReportSchedulesService.name);

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly reports: ReportsService,
    private readonly channels: ChannelsService,
    private readonly delivery: DeliveryService,
  ) {}

  async create(ctx: RequestContext, req: CreateReportSchedule): Promise<ReportSchedule> {
    const next = this.checkTiming(req.cron, req.timeZone);
    await this.checkChannels(req.channelIds);
    const id = await this.db.transaction(async (m) => {
      const rows: Array<{ id: string }> = await m.query(
        `INSERT INTO report_schedules (name, scope, environment, region, format, cron, time_zone,
                                       channel_ids, enabled, next_run_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid[], $9, $10, $11)
         ON CONFLICT (name) DO NOTHING RETURNING id`,
        [
          req.name,
          req.scope || 'all',
          req.environment ?? null,
          req.region ?? null,
          req.format,
          req.cron,
          req.timeZone,
          dedupe(req.channelIds),
          req.enabled,
          req.enabled ? next : null,
          principalLabel(ctx.principal),
        ],
      );
      if (!rows[0]) throw conflict(`A report schedule named "${req.name}" already exists`);
      await this.audit.record(m, ctx, {
        action: 'report_schedule.create',
        resourceType: 'report_schedule',
        resourceId: rows[0].id,
        changes: { ...req },
      });
      return rows[0].id;
    });
    return this.get(id);
  }

  async update(
    ctx: RequestContext,
    id: string,
    req: UpdateReportSchedule,
  ): Promise<ReportSchedule> {
    await this.db.transaction(async (m) => {
      const before = await this.lock(m, id);
      const cron = req.cron ?? before.cron;
      const tz = req.timeZone ?? before.time_zone;
      const enabled = req.enabled ?? before.enabled;
      const next = this.checkTiming(cron, tz);
      if (req.channelIds) await this.checkChannels(req.channelIds);
      const name = req.name ?? before.name;
      if (name !== before.name) {
        const taken: unknown[] = await m.query(`SELECT 1 FROM report_schedules WHERE name = $1`, [
          name,
        ]);
        if (taken.length) throw conflict(`A report schedule named "${name}" already exists`);
      }
      await m.query(
        `UPDATE report_schedules SET name = $2, scope = $3, environment = $4, region = $5,
                format = $6, cron = $7, time_zone = $8, channel_ids = $9::uuid[], enabled = $10,
                next_run_at = $11, updated_at = now()
          WHERE id = $1`,
        [
          id,
          name,
          req.scope !== undefined ? req.scope || 'all' : before.scope,
          req.environment !== undefined ? req.environment : before.environment,
          req.region !== undefined ? req.region : before.region,
          req.format ?? before.format,
          cron,
          tz,
          req.channelIds ? dedupe(req.channelIds) : before.channel_ids,
          enabled,
          enabled ? next : null,
        ],
      );
      await this.audit.record(m, ctx, {
        action: 'report_schedule.update',
        resourceType: 'report_schedule',
        resourceId: id,
        changes: { ...req, before: { name: before.name, cron: before.cron } },
      });
    });
    return this.get(id);
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const before = await this.lock(m, id);
      await m.query(`DELETE FROM report_schedules WHERE id = $1`, [id]);
      await this.audit.record(m, ctx, {
        action: 'report_schedule.delete',
        resourceType: 'report_schedule',
        resourceId: id,
        changes: { name: before.name },
      });
    });
  }

  async get(id: string): Promise<ReportSchedule> {
    if (!isUuid(id)) throw notFound('Report schedule', id);
    const rows: ScheduleRow[] = await this.db.query(
      `SELECT * FROM report_schedules WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound('Report schedule', id);
    const last = await this.lastRuns([id]);
    return toSchedule(rows[0], last.get(id) ?? null);
  }

  async list(q: PageQuery): Promise<Page<ReportSchedule>> {
    const [{ total }]: Array<{ total: number }> = await this.db.query(
      `SELECT count(*)::int AS total FROM report_schedules`,
    );
    const rows: ScheduleRow[] = await this.db.query(
      `SELECT * FROM report_schedules ORDER BY name LIMIT $1 OFFSET $2`,
      [q.limit, (q.page - 1) * q.limit],
    );
    const last = await this.lastRuns(rows.map((r) => r.id));
    return {
      items: rows.map((r) => toSchedule(r, last.get(r.id) ?? null)),
      total,
      page: q.page,
      limit: q.limit,
    };
  }

  async runs(id: string, q: PageQuery): Promise<Page<ReportScheduleRun>> {
    await this.get(id);
    const [{ total }]: Array<{ total: number }> = await this.db.query(
      `SELECT count(*)::int AS total FROM report_schedule_runs WHERE schedule_id = $1`,
      [id],
    );
    const rows: RunRow[] = await this.db.query(
      `SELECT * FROM report_schedule_runs WHERE schedule_id = $1
        ORDER BY started_at DESC, id LIMIT $2 OFFSET $3`,
      [id, q.limit, (q.page - 1) * q.limit],
    );
    return { items: rows.map(toRun), total, page: q.page, limit: q.limit };
  }

  /** "Run now": the report for the last interval up to now, sent at once; returns the run. */
  async runNow(ctx: RequestContext, id: string): Promise<ReportScheduleRun> {
    const s = await this.get(id);
    const period = reportPeriod(s.cron, s.timeZone, new Date());
    const runId = await this.db.transaction(async (m) => {
      const runId = await this.startRun(m, id, 'manual', period, principalLabel(ctx.principal));
      await this.audit.record(m, ctx, {
        action: 'report_schedule.run',
        resourceType: 'report_schedule',
        resourceId: id,
        changes: { runId, from: period.from.toISOString(), to: period.to.toISOString() },
      });
      return runId;
    });
    return this.execute(runId);
  }

  /**
   * Claims the schedules due now (the scheduler, on the leader only): each gets a run row and
   * its next occurrence in one transaction, so a period is sent at most once even when an
   * instance dies mid-send (that run stays `running`; "run now" sends it again by hand).
   * After downtime the missed occurrence is sent once, late, for its own period; occurrences
   * before it are not replayed (next_run_at moves to the first one after now).
   */
  async claimDue(limit = 10): Promise<string[]> {
    return this.db.transaction(async (m) => {
      const due: ScheduleRow[] = await m.query(
        `SELECT * FROM report_schedules WHERE enabled AND next_run_at <= now()
          ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      const runIds: string[] = [];
      const now = new Date();
      for (const s of due) {
        const at = s.next_run_at!;
        let next: Date | null;
        try {
          next = nextOccurrence(s.cron, s.time_zone, now);
        } catch {
          next = null; // Cannot happen for validated rows; never spin on one that does.
        }
        await m.query(`UPDATE report_schedules SET next_run_at = $2 WHERE id = $1`, [s.id, next]);
        runIds.push(
          await this.startRun(m, s.id, 'schedule', reportPeriod(s.cron, s.time_zone, at), null),
        );
      }
      return runIds;
    });
  }

  /** Generates the run's report and mails it to every channel; records the outcome. */
  async execute(runId: string): Promise<ReportScheduleRun> {
    const [run]: RunRow[] = await this.db.query(
      `SELECT * FROM report_schedule_runs WHERE id = $1`,
      [runId],
    );
    const [s]: ScheduleRow[] = await this.db.query(`SELECT * FROM report_schedules WHERE id = $1`, [
      run.schedule_id,
    ]);
    const deliveries: ReportDelivery[] = [];
    let error: string | null = null;
    let bytes: number | null = null;
    try {
      const q = GenerateReportQuerySchema.parse({
        from: run.period_from.toISOString(),
        to: run.period_to.toISOString(),
        format: s.format,
        scope: s.scope,
        ...(s.environment ? { environment: s.environment } : {}),
        ...(s.region ? { region: s.region } : {}),
      });
      const report = await this.reports.generate(q);
      const content = s.format === 'pdf' ? await reportToPdf(report) : reportToCsv(report);
      bytes = Buffer.byteLength(content);
      const filename = `agent-monitor-report-${q.from.slice(0, 10)}-${q.to.slice(0, 10)}.${s.format}`;
      const { subject, text } = summaryMail(s.name, report);
      for (const channelId of s.channel_ids) {
        const ch = await this.channels.open(channelId);
        if (!ch) {
          deliveries.push({ channelId, channelName: null, ok: false, error: 'channel deleted' });
          continue;
        }
        if (ch.type !== 'email' || !ch.enabled) {
          deliveries.push({
            channelId,
            channelName: ch.name,
            ok: false,
            error: ch.enabled ? `a ${ch.type} channel cannot carry a report` : 'channel disabled',
          });
          continue;
        }
        const res = await sendEmailMessage(
          ch,
          {
            subject,
            text,
            attachments: [
              {
                filename,
                content,
                contentType: s.format === 'pdf' ? 'application/pdf' : 'text/csv; charset=utf-8',
              },
            ],
          },
          this.delivery.sendOptions,
        );
        deliveries.push({ channelId, channelName: ch.name, ok: res.ok, error: res.error });
      }
      const failed = deliveries.filter((d) => !d.ok);
      if (failed.length) {
        error = failed.map((d) => `${d.channelName ?? d.channelId}: ${d.error}`).join('; ');
      }
    } catch (e) {
      error = `report not generated: ${(e as Error).message}`.slice(0, 2000);
    }
    if (error) this.logger.warn(`report schedule ${s.name}: ${error}`);
    await this.db.query(
      `UPDATE report_schedule_runs
          SET status = $2::varchar, error = $3, deliveries = $4, attachment_bytes = $5,
              sent_at = CASE WHEN $2::varchar = 'sent' THEN now() END
        WHERE id = $1`,
      [runId, error ? 'failed' : 'sent', error, JSON.stringify(deliveries), bytes],
    );
    const rows: RunRow[] = await this.db.query(`SELECT * FROM report_schedule_runs WHERE id = $1`, [
      runId,
    ]);
    return toRun(rows[0]);
  }

  private async startRun(
    m: EntityManager,
    scheduleId: string,
    trigger: 'schedule' | 'manual',
    period: { from: Date; to: Date },
    by: string | null,
  ): Promise<string> {
    const [{ id }]: Array<{ id: string }> = await m.query(
      `INSERT INTO report_schedule_runs (schedule_id, trigger, period_from, period_to, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [scheduleId, trigger, period.from, period.to, by],
    );
    return id;
  }

  private checkTiming(cron: string, tz: string): Date {
    try {
      return nextOccurrence(cron, tz, new Date());
    } catch (e) {
      throw badRequest(`cron: ${(e as Error).message}`, [
        { field: 'cron', message: (e as Error).message },
      ]);
    }
  }

  /** Every channel must exist and be e-mail: reports travel as attachments. */
  private async checkChannels(ids: string[]): Promise<void> {
    await this.channels.assertExist(dedupe(ids), 'channelIds');
    for (const id of dedupe(ids)) {
      const ch = await this.channels.get(id);
      if (ch.type !== 'email') {
        throw badRequest(
          `channelIds: channel "${ch.name}" is ${ch.type}; scheduled reports are sent as e-mail attachments, so only email channels can receive them`,
          [{ field: 'channelIds', message: 'not an email channel' }],
        );
      }
    }
  }

  private async lastRuns(ids: string[]): Promise<Map<string, RunRow>> {
    if (!ids.length) return new Map();
    const rows: RunRow[] = await this.db.query(
      `SELECT DISTINCT ON (schedule_id) * FROM report_schedule_runs
        WHERE schedule_id = ANY($1::uuid[]) ORDER BY schedule_id, started_at DESC, id`,
      [ids],
    );
    return new Map(rows.map((r) => [r.schedule_id, r]));
  }

  private async lock(m: EntityManager, id: string): Promise<ScheduleRow> {
    if (!isUuid(id)) throw notFound('Report schedule', id);
    const rows: ScheduleRow[] = await m.query(
      `SELECT * FROM report_schedules WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!rows[0]) throw notFound('Report schedule', id);
    return rows[0];
  }
}

const dedupe = (ids: string[]) => [...new Set(ids.map((i) => i.toLowerCase()))];

/** The mail body: the headline numbers, so the mail is useful before opening the attachment. */
export function summaryMail(name: string, r: Report): { subject: string; text: string } {
  const day = (iso: string) => iso.slice(0, 10);
  const f = r.fleet;
  const subject = `Agent Monitor report: ${name} (${day(r.from)} to ${day(r.to)})`
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 250);
  const text = [
    `${name}: ${r.scope.label}, ${r.from} to ${r.to}`,
    '',
    `Agents: ${f.agentCount}`,
    `Availability: ${pct(f.availabilityPct)}`,
    `Alerts: ${f.alerts.total} (MTTA ${secs(f.alerts.mttaSec)}, MTTR ${secs(f.alerts.mttrSec)})`,
    `Tasks completed: ${r.agents.reduce((s, a) => s + a.tasksCompleted, 0)}`,
    `Commits: ${r.agents.reduce((s, a) => s + a.commits, 0)}`,
    '',
    'The full report is attached.',
  ].join('\n');
  return { subject, text };
}

function toRun(r: RunRow): ReportScheduleRun {
  return {
    id: r.id,
    scheduleId: r.schedule_id,
    trigger: r.trigger,
    status: r.status,
    periodFrom: r.period_from.toISOString(),
    periodTo: r.period_to.toISOString(),
    startedAt: r.started_at.toISOString(),
    sentAt: r.sent_at?.toISOString() ?? null,
    error: r.error,
    deliveries: r.deliveries,
    attachmentBytes: r.attachment_bytes,
    createdBy: r.created_by,
  };
}

function toSchedule(r: ScheduleRow, last: RunRow | null): ReportSchedule {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope,
    environment: r.environment,
    region: r.region,
    format: r.format,
    cron: r.cron,
    timeZone: r.time_zone,
    channelIds: r.channel_ids,
    enabled: r.enabled,
    nextRunAt: r.next_run_at?.toISOString() ?? null,
    lastRun: last ? toRun(last) : null,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
