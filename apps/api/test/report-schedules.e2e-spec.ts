import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type {
  NotificationChannel,
  Page,
  ReportSchedule,
  ReportScheduleRun,
} from '@agent-monitor/contracts';
import { createApiKey, createUser } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Mail {
  raw: string;
  to: string[];
}

/** The first attachment of a raw MIME mail (nodemailer sends attachments base64-encoded). */
function attachment(raw: string): { filename: string; content: Buffer } {
  const m =
    /Content-Disposition: attachment;\s*filename=("?)([^"\r\n]+)\1\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(
      raw,
    );
  if (!m) throw new Error(`no attachment in:\n${raw.slice(0, 2000)}`);
  return { filename: m[2], content: Buffer.from(m[3].replace(/\s+/g, ''), 'base64') };
}

/** The fields of one CSV line (RFC 4180 quoting). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
    out.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
    if (!m[2]) break;
  }
  return out;
}

/** `measure → value` of the CSV lines of one section (and subject, when given). */
function csvValues(csv: string, section: string, subject?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of csv.trim().split(/\r\n/).slice(1)) {
    const [sec, , subj, measure, value] = csvLine(line);
    if (sec === section && (subject === undefined || subj === subject)) out[measure] = value;
  }
  return out;
}

/**
 * Scheduled reports over HTTP against real PostgreSQL, mailed through a loopback SMTP server:
 * CRUD and refusals, "run now" with a CSV whose numbers are the data's, and the leader-locked
 * scheduler sending a due PDF report and recording the run.
 */
describe('report schedules (real PostgreSQL, loopback SMTP)', () => {
  let t: TestApp;
  let http: Client;
  let admin: string;
  let operator: string;
  let viewer: string;
  let smtp: SMTPServer;
  const mails: Mail[] = [];
  let email: NotificationChannel;
  let slack: NotificationChannel;

  beforeAll(async () => {
    t = await startTestApp({
      env: { ALLOW_PRIVATE_WEBHOOK_TARGETS: 'true', NOTIFY_TIMEOUT: '5s' },
    });
    http = client(t.baseUrl);
    admin = await createApiKey(t, ['admin']);
    operator = (await createUser(t, 'operator')).token;
    viewer = (await createUser(t, 'viewer')).token;
    smtp = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _s, cb) {
        cb(auth.password === 'rep0rt-pw' ? null : new Error('bad password'), {
          user: auth.username,
        });
      },
      onData(stream, session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          mails.push({ raw, to: session.envelope.rcptTo.map((r) => r.address) });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as AddressInfo).port;
    const ch = await http.post<NotificationChannel>(
      '/api/v2/notification-channels',
      {
        type: 'email',
        name: 'reports mail',
        config: {
          to: ['boss@example.test'],
          smtp: { host: '127.0.0.1', port, secure: false, user: 'u', password: 'rep0rt-pw' },
        },
      },
      { token: admin },
    );
    expect(ch.status).toBe(201);
    email = ch.body;
    const sl = await http.post<NotificationChannel>(
      '/api/v2/notification-channels',
      { type: 'slack', name: 'chat', config: { webhookUrl: 'http://127.0.0.1:9/hook' } },
      { token: admin },
    );
    expect(sl.status).toBe(201);
    slack = sl.body;

    // Two agents in two regions, cpu samples an hour ago (inside any weekly period).
    const hourAgo = Date.now() - 3_600_000;
    for (const [name, region, values] of [
      ['eu-1', 'eu', [10, 30]],
      ['us-1', 'us', [50]],
    ] as const) {
      const r = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name, type: 'worker', host: name, metadata: { region } },
        { token: admin },
      );
      expect(r.status).toBe(201);
      const samples = values.map((v, i) => ({
        agentId: r.body.id,
        timestamp: hourAgo + i * 1000,
        metrics: { cpu_usage: v },
      }));
      expect((await http.post('/api/v2/metrics/batch', { samples }, { token: admin })).status).toBe(
        200,
      );
    }
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  const count = async (table: string) =>
    Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  it('refuses viewers, bad input, unknown and non-email channels, writing nothing', async () => {
    const ok = { name: 'weekly', channelIds: [email.id] };
    const post = (body: unknown, token = operator) =>
      http.post<{ message: string }>('/api/v2/report-schedules', body, { token });
    expect((await post(ok, viewer)).status).toBe(403);
    expect((await post({ channelIds: [email.id] })).status).toBe(400); // no name
    expect((await post({ name: 'x', channelIds: [] })).status).toBe(400);
    expect((await post({ ...ok, format: 'json' })).status).toBe(400);
    expect((await post({ ...ok, cron: 'every monday' })).status).toBe(400);
    expect((await post({ ...ok, cron: '0 25 * * *' })).status).toBe(400);
    expect((await post({ ...ok, timeZone: 'Mars/Olympus' })).status).toBe(400);
    expect((await post({ ...ok, scope: 'group:nope' })).status).toBe(400);
    expect((await post({ ...ok, extra: 1 })).status).toBe(400);
    expect(
      (await post({ ...ok, channelIds: ['00000000-0000-4000-8000-000000000000'] })).status,
    ).toBe(400);
    const chat = await post({ ...ok, channelIds: [email.id, slack.id] });
    expect(chat.status).toBe(400);
    expect(chat.body.message).toContain('only email channels');
    expect(await count('report_schedules')).toBe(0);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await http.get(`/api/v2/report-schedules/${missing}`, { token: viewer })).status).toBe(
      404,
    );
    expect(
      (await http.post(`/api/v2/report-schedules/${missing}/run`, {}, { token: operator })).status,
    ).toBe(404);
    expect((await http.get(`/api/v2/report-schedules/x`, { token: viewer })).status).toBe(404);
  });

  it('creates with a weekly Monday 08:00 default, updates, lists and deletes (audited)', async () => {
    const r = await http.post<ReportSchedule>(
      '/api/v2/report-schedules',
      { name: 'tmp', channelIds: [email.id], timeZone: 'Europe/Berlin' },
      { token: operator },
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      cron: '0 8 * * 1',
      timeZone: 'Europe/Berlin',
      format: 'pdf',
      scope: 'all',
      enabled: true,
      lastRun: null,
    });
    const next = new Date(r.body.nextRunAt!);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getUTCDay()).toBe(1);
    expect(
      new Intl.DateTimeFormat('en', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        hourCycle: 'h23',
      }).format(next),
    ).toBe('08');
    const dup = await http.post(
      '/api/v2/report-schedules',
      { name: 'tmp', channelIds: [email.id] },
      { token: operator },
    );
    expect(dup.status).toBe(409);
    const off = await http.patch<ReportSchedule>(
      `/api/v2/report-schedules/${r.body.id}`,
      { enabled: false, format: 'csv' },
      { token: operator },
    );
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, format: 'csv', nextRunAt: null });
    expect(
      (await http.patch(`/api/v2/report-schedules/${r.body.id}`, {}, { token: operator })).status,
    ).toBe(400);
    expect(
      (
        await http.patch(
          `/api/v2/report-schedules/${r.body.id}`,
          { channelIds: [slack.id] },
          { token: operator },
        )
      ).status,
    ).toBe(400);
    const list = await http.get<Page<ReportSchedule>>('/api/v2/report-schedules', {
      token: viewer,
    });
    expect(list.body.items.map((s) => s.name)).toEqual(['tmp']);
    expect(
      (await http.delete(`/api/v2/report-schedules/${r.body.id}`, { token: viewer })).status,
    ).toBe(403);
    expect(
      (await http.delete(`/api/v2/report-schedules/${r.body.id}`, { token: operator })).status,
    ).toBe(204);
    const audit = await t.sql<{ action: string; actor_type: string }>(
      `SELECT action, actor_type FROM audit_logs WHERE resource_type = 'report_schedule' ORDER BY id`,
    );
    expect(audit).toEqual([
      { action: 'report_schedule.create', actor_type: 'user' },
      { action: 'report_schedule.update', actor_type: 'user' },
      { action: 'report_schedule.delete', actor_type: 'user' },
    ]);
  });

  it('run now mails the CSV of the last week with the numbers the data gives, and records the run', async () => {
    const s = await http.post<ReportSchedule>(
      '/api/v2/report-schedules',
      { name: 'eu weekly', format: 'csv', region: 'eu', channelIds: [email.id] },
      { token: operator },
    );
    expect(s.status).toBe(201);
    const before = mails.length;
    const run = await http.post<ReportScheduleRun>(
      `/api/v2/report-schedules/${s.body.id}/run`,
      {},
      { token: operator },
    );
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ trigger: 'manual', status: 'sent', error: null });
    expect(run.body.deliveries).toEqual([
      { channelId: email.id, channelName: 'reports mail', ok: true, error: null },
    ]);
    expect(Date.parse(run.body.periodTo) - Date.parse(run.body.periodFrom)).toBe(7 * 86_400_000);
    expect(mails.length).toBe(before + 1);
    const mail = mails.at(-1)!;
    expect(mail.to).toEqual(['boss@example.test']);
    expect(mail.raw).toContain('Subject: Agent Monitor report: eu weekly');
    const file = attachment(mail.raw);
    expect(file.filename).toMatch(
      /^agent-monitor-report-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/,
    );
    expect(run.body.attachmentBytes).toBe(file.content.length);
    const csv = file.content.toString('utf8');
    // Region eu: one agent, cpu 10 and 30.
    expect(csvValues(csv, 'fleet')).toMatchObject({ agent_count: '1' });
    expect(csv).toContain('region eu');
    expect(csvValues(csv, 'metric', 'cpu_usage')).toMatchObject({
      samples: '2',
      avg: '20',
      max: '30',
    });
    expect(csv).toContain(',eu-1,');
    expect(csv).not.toContain('us-1');
    const got = await http.get<ReportSchedule>(`/api/v2/report-schedules/${s.body.id}`, {
      token: viewer,
    });
    expect(got.body.lastRun).toMatchObject({ id: run.body.id, status: 'sent' });
    expect(got.body.lastRun!.sentAt).not.toBeNull();
  });

  it('the scheduler sends a due PDF report once, records the run and moves to the next occurrence', async () => {
    const s = await http.post<ReportSchedule>(
      '/api/v2/report-schedules',
      { name: 'fleet weekly', channelIds: [email.id] },
      { token: operator },
    );
    expect(s.status).toBe(201);
    const before = mails.length;
    // Make it due: its occurrence was a minute ago.
    await t.sql(
      `UPDATE report_schedules SET next_run_at = now() - interval '1 minute' WHERE id = $1`,
      [s.body.id],
    );
    const end = Date.now() + 30_000;
    let runs: Page<ReportScheduleRun> | undefined;
    while (Date.now() < end) {
      runs = (
        await http.get<Page<ReportScheduleRun>>(`/api/v2/report-schedules/${s.body.id}/runs`, {
          token: viewer,
        })
      ).body;
      if (runs.items[0] && runs.items[0].status !== 'running') break;
      await sleep(200);
    }
    expect(runs!.items).toHaveLength(1);
    const run = runs!.items[0];
    expect(run).toMatchObject({ trigger: 'schedule', status: 'sent', error: null });
    expect(Date.parse(run.periodTo) - Date.parse(run.periodFrom)).toBe(7 * 86_400_000);
    expect(mails.length).toBe(before + 1);
    const file = attachment(mails.at(-1)!.raw);
    expect(file.filename).toMatch(/\.pdf$/);
    expect(file.content.subarray(0, 5).toString()).toBe('%PDF-');
    expect(file.content.subarray(-8).toString()).toContain('%%EOF');
    expect(run.attachmentBytes).toBe(file.content.length);
    const after = await http.get<ReportSchedule>(`/api/v2/report-schedules/${s.body.id}`, {
      token: viewer,
    });
    expect(Date.parse(after.body.nextRunAt!)).toBeGreaterThan(Date.now());
    // Not sent again on the following ticks.
    await sleep(4_500);
    expect(mails.length).toBe(before + 1);
  });

  it('a channel that fails is recorded on the run as failed with its error', async () => {
    const bad = await http.post<NotificationChannel>(
      '/api/v2/notification-channels',
      {
        type: 'email',
        name: 'wrong password',
        config: {
          to: ['x@example.test'],
          smtp: {
            host: '127.0.0.1',
            port: (smtp.server.address() as AddressInfo).port,
            secure: false,
            user: 'u',
            password: 'nope',
          },
        },
      },
      { token: admin },
    );
    expect(bad.status).toBe(201);
    const s = await http.post<ReportSchedule>(
      '/api/v2/report-schedules',
      { name: 'two channels', format: 'csv', channelIds: [email.id, bad.body.id] },
      { token: operator },
    );
    const run = await http.post<ReportScheduleRun>(
      `/api/v2/report-schedules/${s.body.id}/run`,
      {},
      { token: operator },
    );
    expect(run.status).toBe(200);
    expect(run.body.status).toBe('failed');
    expect(run.body.sentAt).toBeNull();
    expect(run.body.error).toContain('wrong password');
    expect(run.body.deliveries.map((d) => d.ok)).toEqual([true, false]);
  });
});
