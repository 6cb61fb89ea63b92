import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type {
  AlertRule,
  ChannelTestResult,
  Delivery,
  NotificationChannel,
  Page,
} from '@agent-monitor/contracts';
import { client, type Client } from './support/http.js';
import {
  FAST_ALERTING_ENV,
  ingest,
  receiver,
  sleep,
  waitFor,
  startKeyedApp,
  stopKeyedApp,
} from './support/alerting.js';
import { insertKey } from './support/root-key.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Notification channels and delivery over HTTP against real PostgreSQL with loopback
 * receivers: secrets at rest and masked, SSRF refusals, HMAC, the retry policy
 * (5xx/429/4xx/timeouts), restart during retries, and email through a real SMTP server.
 */
describe('notification channels and delivery', () => {
  let t: TestApp;
  let http: Client;
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    ({ t, http, admin, reader } = await startKeyedApp());
  });
  afterAll(() => stopKeyedApp(t));

  async function webhook(
    url: string,
    extra: Record<string, unknown> = {},
  ): Promise<NotificationChannel> {
    const r = await http.post<NotificationChannel>(
      '/api/v2/notification-channels',
      { type: 'webhook', name: `wh-${randomUUID().slice(0, 6)}`, config: { url, ...extra } },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return r.body;
  }

  /** A rule on a fresh agent sending to `channelIds`; returns a function that makes it fire. */
  async function firingRule(channelIds: string[], name = 'notify') {
    const agentId = randomUUID();
    const r = await http.post<AlertRule>(
      '/api/v2/alerts/rules',
      {
        name,
        channelIds,
        scope: { agentIds: [agentId] },
        condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
      },
      { headers: admin },
    );
    expect(r.status).toBe(201);
    return { rule: r.body, agentId, fire: () => ingest(t, [{ agentId, values: { cpu: 99 } }]) };
  }

  async function deliveries(channelId: string): Promise<Delivery[]> {
    return (
      await http.get<Page<Delivery>>(`/api/v2/notification-channels/${channelId}/deliveries`, {
        headers: reader,
      })
    ).body.items;
  }

  it('stores secrets encrypted and returns them masked; updates keep omitted secrets', async () => {
    const ch = await webhook('http://127.0.0.1:9/hook/tok3n-s3cret', {
      secret: 'hmac-secret-0123456789',
      headers: { 'X-Token': 'hdr-s3cret' },
    });
    expect(ch.config).toEqual({
      url: 'http://127.0.0.1:9/…',
      hasSecret: true,
      headers: { 'X-Token': '…' },
    });
    const [row] = await t.sql<{ config: unknown; secret_enc: string }>(
      `SELECT config, secret_enc FROM notification_channels WHERE id = $1`,
      [ch.id],
    );
    const stored = JSON.stringify(row);
    for (const s of ['tok3n-s3cret', 'hmac-secret', 'hdr-s3cret']) expect(stored).not.toContain(s);
    const listed = await http.get<Page<NotificationChannel>>('/api/v2/notification-channels', {
      headers: reader,
    });
    expect(JSON.stringify(listed.body)).not.toContain('s3cret');
    const upd = await http.patch<NotificationChannel>(
      `/api/v2/notification-channels/${ch.id}`,
      { name: 'renamed' },
      { headers: admin },
    );
    expect(upd.body).toMatchObject({ name: 'renamed', config: { hasSecret: true } });
    const slack = await http.post<NotificationChannel>(
      '/api/v2/notification-channels',
      {
        type: 'slack',
        name: 's',
        config: { webhookUrl: 'http://127.0.0.1:9/services/T0/B0/XXXX' },
      },
      { headers: admin },
    );
    expect(slack.body.config).toEqual({ webhookUrl: 'http://127.0.0.1:9/…' });
    const audit = await t.sql<{ changes: unknown }>(
      `SELECT changes FROM audit_logs WHERE resource_id = $1`,
      [ch.id],
    );
    expect(JSON.stringify(audit)).not.toContain('s3cret');
  });

  it('answers bad input with 400 naming the field, 401/403 without rights, and writes nothing', async () => {
    const before = (
      await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM notification_channels`)
    )[0].n;
    const cases: Array<[unknown, string]> = [
      [{ type: 'pager', name: 'x', config: {} }, 'type'],
      [{ type: 'webhook', name: 'x', config: { url: 'ftp://x' } }, 'config.url'],
      [
        { type: 'webhook', name: 'x', config: { url: 'http://127.0.0.1/', secret: 'short' } },
        'config.secret',
      ],
      [{ type: 'email', name: 'x', config: { to: ['not-an-email'] } }, 'config.to.0'],
      [
        {
          type: 'webhook',
          name: 'x',
          config: { url: 'http://127.0.0.1/', headers: { Host: 'evil' } },
        },
        'config.headers.Host',
      ],
    ];
    for (const [body, field] of cases) {
      const r = await http.post<{ message: string; details?: Array<{ field: string }> }>(
        '/api/v2/notification-channels',
        body,
        { headers: admin },
      );
      expect(r.status).toBe(400);
      expect((r.body.details ?? []).some((d) => d.field.startsWith(field))).toBe(true);
    }
    expect(
      (
        await http.post('/api/v2/notification-channels', {
          type: 'webhook',
          name: 'x',
          config: { url: 'http://127.0.0.1/' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await http.post(
          '/api/v2/notification-channels',
          { type: 'webhook', name: 'x', config: { url: 'http://127.0.0.1/' } },
          { headers: reader },
        )
      ).status,
    ).toBe(403);
    expect(
      (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM notification_channels`))[0].n,
    ).toBe(before);
  });

  it('refuses metadata addresses even with private targets allowed', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
    ]) {
      const r = await http.post<{ message: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'x', config: { url } },
        { headers: admin },
      );
      expect(r.status).toBe(400);
      expect(r.body.message).toContain('config.url');
    }
  });

  it('signs webhook bodies with HMAC-SHA256 the receiver can verify, with custom headers and a dedup key', async () => {
    const rx = await receiver();
    try {
      const secret = 'a-very-secret-hmac-key';
      const ch = await webhook(rx.url, { secret, headers: { 'X-Team': 'ops' } });
      const { fire } = await firingRule([ch.id]);
      fire();
      await waitFor(async () => rx.received.length === 1, 'webhook');
      const got = rx.received[0];
      const expected = `sha256=${createHmac('sha256', secret).update(got.raw).digest('hex')}`;
      expect(got.headers['x-am-signature']).toBe(expected);
      expect(got.headers['x-team']).toBe('ops');
      const body = got.body as {
        dedupKey: string;
        event: string;
        alerts: Array<{ severity: string }>;
      };
      expect(body.event).toBe('firing');
      expect(got.headers['x-am-dedup-key']).toBe(body.dedupKey);
    } finally {
      await rx.close();
    }
  });

  it('retries 500,500,500 then 200: delivered once with 4 attempts recorded', async () => {
    const rx = await receiver((n) => ({ status: n <= 3 ? 500 : 200 }));
    try {
      const ch = await webhook(rx.url);
      (await firingRule([ch.id])).fire();
      const d = await waitFor(
        async () => (await deliveries(ch.id)).find((x) => x.status === 'delivered'),
        'delivered',
        8000,
      );
      expect(d.attempts).toBe(4);
      expect(d.attemptLog.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
      await sleep(300);
      expect(rx.received).toHaveLength(4);
      expect(new Set(rx.received.map((r) => (r.body as { dedupKey: string }).dedupKey)).size).toBe(
        1,
      );
    } finally {
      await rx.close();
    }
  });

  it('does not retry a 400', async () => {
    const rx = await receiver(() => ({ status: 400 }));
    try {
      const ch = await webhook(rx.url);
      (await firingRule([ch.id])).fire();
      const d = await waitFor(
        async () => (await deliveries(ch.id)).find((x) => x.status === 'failed'),
        'failed',
      );
      expect(d.attempts).toBe(1);
      await sleep(500);
      expect(rx.received).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('honours Retry-After on 429', async () => {
    const rx = await receiver((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    try {
      const ch = await webhook(rx.url);
      (await firingRule([ch.id])).fire();
      await waitFor(async () => rx.received.length === 2, 'retry after 429', 5000);
      const gap = rx.received[1].at - rx.received[0].at;
      expect(gap).toBeGreaterThanOrEqual(950);
      expect(gap).toBeLessThan(2000);
    } finally {
      await rx.close();
    }
  });

  it('times out a hanging receiver without delaying other channels', async () => {
    const hang = await receiver(() => ({ status: 200, hang: true }));
    const fast = await receiver();
    try {
      const slow = await webhook(hang.url);
      const quick = await webhook(fast.url);
      const t0 = Date.now();
      (await firingRule([slow.id, quick.id])).fire();
      await waitFor(async () => fast.received.length === 1, 'fast receiver');
      expect(Date.now() - t0).toBeLessThan(500);
      const d = await waitFor(
        async () => (await deliveries(slow.id)).find((x) => x.attemptLog.length >= 1),
        'timed out attempt',
      );
      expect(d.attemptLog[0].error).toMatch(/timed out/);
      expect(d.attemptLog[0].durationMs).toBeGreaterThanOrEqual(950);
    } finally {
      await hang.close();
      await fast.close();
    }
  });

  it('test endpoint reports the receiver answer; unknown channel is 404', async () => {
    const rx = await receiver(() => ({ status: 503 }));
    try {
      const ch = await webhook(rx.url);
      const r = await http.post<ChannelTestResult>(
        `/api/v2/notification-channels/${ch.id}/test`,
        {},
        { headers: admin },
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ok: false, statusCode: 503 });
      expect((rx.received[0].body as { event: string }).event).toBe('test');
      expect(
        (
          await http.post(
            `/api/v2/notification-channels/${randomUUID()}/test`,
            {},
            { headers: admin },
          )
        ).status,
      ).toBe(404);
    } finally {
      await rx.close();
    }
  });

  it('groups alerts of one rule: the first goes out at once, followers in the window are batched into one', async () => {
    const rx = await receiver();
    try {
      const ch = await webhook(rx.url);
      const agents = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const rule = await http.post<AlertRule>(
        '/api/v2/alerts/rules',
        {
          name: 'grouped',
          channelIds: [ch.id],
          groupWindowSec: 1,
          scope: { agentIds: agents },
          condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
        },
        { headers: admin },
      );
      expect(rule.status).toBe(201);
      const t0 = Date.now();
      ingest(t, [{ agentId: agents[0], values: { cpu: 99 } }]);
      await waitFor(async () => rx.received.length === 1, 'leader');
      expect(rx.received[0].at - t0).toBeLessThan(300);
      await sleep(100);
      ingest(t, [{ agentId: agents[1], values: { cpu: 99 } }]);
      await sleep(100);
      ingest(t, [{ agentId: agents[2], values: { cpu: 99 } }]);
      await waitFor(async () => rx.received.length === 2, 'batch', 3000);
      const batch = rx.received[1].body as { alerts: Array<{ agentId: string }> };
      expect(batch.alerts.map((a) => a.agentId).sort()).toEqual([agents[1], agents[2]].sort());
      expect(rx.received[1].at - rx.received[0].at).toBeGreaterThanOrEqual(800);
      await sleep(300);
      const t1 = Date.now();
      ingest(t, [{ agentId: agents[3], values: { cpu: 99 } }]);
      await waitFor(async () => rx.received.length === 3, 'next leader');
      expect(rx.received[2].at - t1).toBeLessThan(300);
      expect((rx.received[2].body as { alerts: unknown[] }).alerts).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('sends email through SMTP with HTML in agent names escaped', async () => {
    const mails: string[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _s, cb) {
        cb(auth.password === 'smtp-s3cret' ? null : new Error('bad password'), {
          user: auth.username,
        });
      },
      onData(stream, _s, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          mails.push(raw);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as AddressInfo).port;
    try {
      const ch = await http.post<NotificationChannel>(
        '/api/v2/notification-channels',
        {
          type: 'email',
          name: 'mail',
          config: {
            to: ['ops@example.test'],
            smtp: { host: '127.0.0.1', port, secure: false, user: 'u', password: 'smtp-s3cret' },
          },
        },
        { headers: admin },
      );
      expect(ch.status).toBe(201);
      expect(JSON.stringify(ch.body)).not.toContain('smtp-s3cret');
      const reg = await http.post<{ id: string }>(
        '/api/v2/agents/register',
        { name: '<script>alert(1)</script>', type: 'web_server', host: 'mail-host' },
        { headers: admin },
      );
      expect(reg.status).toBe(201);
      await http.post(
        '/api/v2/alerts/rules',
        {
          name: 'mail rule',
          channelIds: [ch.body.id],
          scope: { agentIds: [reg.body.id] },
          summaryTemplate: 'cpu high on {{agent.name}}',
          condition: { kind: 'threshold', metric: 'cpu', op: '>', value: 90 },
        },
        { headers: admin },
      );
      ingest(t, [{ agentId: reg.body.id, values: { cpu: 99 } }]);
      await waitFor(async () => mails.length === 1, 'email').catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await deliveries(ch.body.id))}`);
      });
      const html = mails[0].replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toMatch(/<td>[^<]*<script>/);
    } finally {
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });
});

describe('delivery across a restart', () => {
  it('resumes retries from the outbox after the API restarts', async () => {
    let up = false;
    const rx = await receiver(() => ({ status: up ? 200 : 500 }));
    const env = { ...FAST_ALERTING_ENV, NOTIFY_RETRY_BASE: '1s', ENCRYPTION_KEY: 'r'.repeat(48) };
    const t1 = await startTestApp({ env });
    const databaseUrl = t1.databaseUrl;
    try {
      const admin = (await insertKey(t1, ['admin'], 'D')).headers;
      const http1 = client(t1.baseUrl);
      const ch = await http1.post<NotificationChannel>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'r', config: { url: rx.url } },
        { headers: admin },
      );
      const agentId = randomUUID();
      await http1.post(
        '/api/v2/alerts/rules',
        {
          name: 'r',
          channelIds: [ch.body.id],
          scope: { agentIds: [agentId] },
          condition: { kind: 'threshold', metric: 'x', op: '>', value: 1 },
        },
        { headers: admin },
      );
      ingest(t1, [{ agentId, values: { x: 5 } }]);
      await waitFor(async () => rx.received.length >= 1, 'first failing attempt');
      await t1.close();
      up = true;
      const t2 = await startTestApp({ env, databaseUrl });
      try {
        await waitFor(
          async () => {
            const [r] = await t2.sql<{ status: string }>(
              `SELECT status FROM notification_outbox WHERE channel_id = $1`,
              [ch.body.id],
            );
            return r?.status === 'delivered';
          },
          'delivered after restart',
          8000,
        );
        const attempts = await t2.sql<{ status_code: number }>(
          `SELECT status_code FROM notification_attempts ORDER BY attempt`,
        );
        expect(attempts.at(-1)?.status_code).toBe(200);
        expect(attempts[0].status_code).toBe(500);
      } finally {
        await t2.close();
      }
    } finally {
      await rx.close();
      await t1.close();
      await t1.dropDatabase();
    }
  });
});

describe('SSRF with private targets not allowed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { ...FAST_ALERTING_ENV, ALLOW_PRIVATE_WEBHOOK_TARGETS: 'false' },
    });
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  it('refuses loopback, private, link-local and local names at save', async () => {
    const admin = (await insertKey(t, ['admin'], 'E')).headers;
    const http = client(t.baseUrl);
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://10.1.2.3/',
      'http://192.168.1.1/',
      'http://[::1]/',
      'http://169.254.1.1/',
      'http://localhost/',
      'http://0.0.0.0/',
      'http://[fe80::1]/',
    ]) {
      const r = await http.post<{ message: string }>(
        '/api/v2/notification-channels',
        { type: 'webhook', name: 'x', config: { url } },
        { headers: admin },
      );
      expect([url, r.status]).toEqual([url, 400]);
    }
    const smtp = await http.post(
      '/api/v2/notification-channels',
      {
        type: 'email',
        name: 'x',
        config: { to: ['a@example.test'], smtp: { host: '127.0.0.1', port: 25 } },
      },
      { headers: admin },
    );
    expect(smtp.status).toBe(400);
  });

  it('checks again at send time (a stored target that became private is refused, not called)', async () => {
    const rx = await receiver();
    try {
      const admin = (await insertKey(t, ['admin'], 'F')).headers;
      const http = client(t.baseUrl);
      // Stored directly: simulates a name that resolved publicly at save and privately now.
      const { SecretBox } = await import('../src/modules/notifications/secret-box.js');
      const box = new SecretBox(t.config.encryptionKey);
      const [ch] = await t.sql<{ id: string }>(
        `INSERT INTO notification_channels (name, type, config, secret_enc) VALUES ('raw', 'webhook', '{}', $1) RETURNING id`,
        [box.seal(JSON.stringify({ url: rx.url }))],
      );
      const r = await http.post<ChannelTestResult>(
        `/api/v2/notification-channels/${ch.id}/test`,
        {},
        { headers: admin },
      );
      expect(r.body.ok).toBe(false);
      expect(r.body.error).toMatch(/refused/);
      expect(rx.received).toHaveLength(0);
    } finally {
      await rx.close();
    }
  });
});
