import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertNotificationPayload, ChannelType } from '@agent-monitor/contracts';
import { escapeHtml, formatNumber } from '../alerts/template.js';
import { BlockedTargetError, checkHost, checkUrl } from './net-guard.js';

/** A channel with its secrets decrypted (only ever in memory, only while sending). */
export interface ChannelSecrets {
  /** slack / teams */
  webhookUrl?: string;
  /** webhook */
  url?: string;
  secret?: string;
  headers?: Record<string, string>;
  /** email */
  smtpPassword?: string;
}

export interface OpenChannel {
  id: string;
  name: string;
  type: ChannelType;
  config: Record<string, unknown>;
  secrets: ChannelSecrets;
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** Network errors, 5xx and 429 are worth another attempt; other 4xx are not. */
  retryable: boolean;
  retryAfterMs: number | null;
  durationMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  smtpUrl?: string;
  smtpFrom: string;
  publicUrl?: string;
}

export const SIGNATURE_HEADER = 'x-am-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function parseRetryAfter(v: string | undefined, now = Date.now()): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * POSTs JSON to a checked address: the host name is resolved and every address checked
 * (SSRF), then the connection goes to that address with the original Host/SNI. Redirects are
 * not followed (a 3xx is a failure). The whole attempt is bounded by `timeoutMs`.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({
    ...r,
    durationMs: Math.round(performance.now() - started),
  });
  let target: Awaited<ReturnType<typeof checkUrl>>;
  try {
    target = await checkUrl(url, opts.allowPrivate);
  } catch (e) {
    return done({
      ok: false,
      statusCode: null,
      error: `refused: ${(e as Error).message}`,
      retryable: !(e instanceof BlockedTargetError) || /cannot resolve/.test((e as Error).message),
      retryAfterMs: null,
    });
  }
  const u = target.url;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = mod.request(
      {
        host: target.address,
        family: target.family,
        port: u.port || (u.protocol === 'https:' ? 443 : 80),
        path: `${u.pathname}${u.search}`,
        method: 'POST',
        servername: target.hostname,
        headers: {
          ...headers,
          host: u.host,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'AgentMonitor-Notifier/2',
        },
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let size = 0;
        let text = '';
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 2048) text += chunk.toString('utf8');
        });
        res.on('error', (e) =>
          finish({
            ok: false,
            statusCode: status,
            error: e.message,
            retryable: true,
            retryAfterMs: null,
          }),
        );
        res.on('end', () => {
          if (status >= 200 && status < 300) {
            finish({
              ok: true,
              statusCode: status,
              error: null,
              retryable: false,
              retryAfterMs: null,
            });
            return;
          }
          const retryAfter = parseRetryAfter(res.headers['retry-after'] as string | undefined);
          const snippet = text.trim().slice(0, 200);
          finish({
            ok: false,
            statusCode: status,
            error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${snippet ? `: ${snippet}` : ''}`,
            retryable: status >= 500 || status === 429 || status === 408,
            retryAfterMs: status === 429 || status === 503 ? retryAfter : null,
          });
        });
      },
    );
    const timer = setTimeout(() => {
      finish({
        ok: false,
        statusCode: null,
        error: `timed out after ${opts.timeoutMs} ms`,
        retryable: true,
        retryAfterMs: null,
      });
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        statusCode: null,
        error: e.code ? `${e.code}: ${e.message}` : e.message,
        retryable: true,
        retryAfterMs: null,
      }),
    );
    req.end(body);
  });
}

const SEVERITY_COLOUR: Record<string, string> = {
  info: '#2196f3',
  warning: '#ff9800',
  error: '#f44336',
  critical: '#9c27b0',
};

function headline(p: AlertNotificationPayload): string {
  const first = p.alerts[0];
  const verb =
    p.event === 'resolved'
      ? 'RESOLVED'
      : p.event === 'test'
        ? 'TEST'
        : p.event === 'escalated'
          ? 'ESCALATED'
          : 'FIRING';
  const more = p.alerts.length > 1 ? ` (+${p.alerts.length - 1} more)` : '';
  return first ? `[${verb}] ${first.severity.toUpperCase()} ${first.ruleName}${more}` : `[${verb}]`;
}

function lines(p: AlertNotificationPayload): string[] {
  return p.alerts.map((a) => {
    const value = a.value === null ? '' : ` (value ${formatNumber(a.value)})`;
    return `${a.summary}${value}`;
  });
}

/** Plain text for chat channels; Slack and Teams render their own markup, so escape theirs. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function buildEmail(
  p: AlertNotificationPayload,
  publicUrl?: string,
): { subject: string; text: string; html: string } {
  const subject = headline(p)
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 250);
  const text = [...lines(p), '', publicUrl ? `${publicUrl.replace(/\/$/, '')}/alerts` : '']
    .join('\n')
    .trim();
  const rows = p.alerts
    .map(
      (a) =>
        `<tr><td style="color:${SEVERITY_COLOUR[a.severity] ?? '#666'}">${escapeHtml(a.severity)}</td>` +
        `<td>${escapeHtml(a.agentName ?? '')}</td><td>${escapeHtml(a.summary)}</td>` +
        `<td>${a.value === null ? '' : escapeHtml(formatNumber(a.value))}</td></tr>`,
    )
    .join('');
  const html =
    `<h3>${escapeHtml(subject)}</h3>` +
    `<table cellpadding="4"><tr><th>Severity</th><th>Agent</th><th>Summary</th><th>Value</th></tr>${rows}</table>`;
  return { subject, text, html };
}

export async function sendNotification(
  ch: OpenChannel,
  p: AlertNotificationPayload,
  opts: SendOptions,
): Promise<SendResult> {
  switch (ch.type) {
    case 'webhook': {
      const body = JSON.stringify(p);
      const headers: Record<string, string> = {
        ...(ch.secrets.headers ?? {}),
        'x-am-dedup-key': p.dedupKey,
        'x-am-event': p.event,
      };
      if (ch.secrets.secret) headers[SIGNATURE_HEADER] = signBody(ch.secrets.secret, body);
      return postJson(ch.secrets.url ?? '', body, headers, opts);
    }
    case 'slack': {
      const body = JSON.stringify({
        text: `${slackEscape(headline(p))}\n${lines(p).map(slackEscape).join('\n')}`,
        attachments: [
          { color: SEVERITY_COLOUR[p.alerts[0]?.severity ?? 'info'], text: `dedup ${p.dedupKey}` },
        ],
      });
      return postJson(ch.secrets.webhookUrl ?? '', body, {}, opts);
    }
    case 'teams': {
      const body = JSON.stringify({
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: headline(p),
        themeColor: (SEVERITY_COLOUR[p.alerts[0]?.severity ?? 'info'] ?? '#666').slice(1),
        title: headline(p),
        text: lines(p)
          .map((l) => escapeHtml(l))
          .join('<br>'),
      });
      return postJson(ch.secrets.webhookUrl ?? '', body, {}, opts);
    }
    case 'email':
      return sendEmail(ch, p, opts);
  }
}

async function sendEmail(
  ch: OpenChannel,
  p: AlertNotificationPayload,
  opts: SendOptions,
): Promise<SendResult> {
  const { subject, text, html } = buildEmail(p, opts.publicUrl);
  return sendEmailMessage(
    ch,
    { subject, text, html, headers: { 'X-AM-Dedup-Key': p.dedupKey } },
    opts,
  );
}

/** A mail to an e-mail channel's recipients (alerts, scheduled reports with attachments). */
export interface EmailMessage {
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: Buffer | string; contentType: string }>;
}

/** Sends one mail through an e-mail channel's SMTP settings (or SMTP_URL); never throws. */
export async function sendEmailMessage(
  ch: OpenChannel,
  msg: EmailMessage,
  opts: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const cfg = ch.config as {
    to: string[];
    from?: string;
    smtp?: { host: string; port: number; secure: boolean; user?: string };
  };
  const ms = () => Math.round(performance.now() - started);
  try {
    let transport: Transporter;
    const timeouts = {
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
    };
    if (cfg.smtp) {
      const target = await checkHost(cfg.smtp.host, opts.allowPrivate);
      transport = nodemailer.createTransport({
        host: target.address,
        port: cfg.smtp.port,
        secure: cfg.smtp.secure,
        auth: cfg.smtp.user
          ? { user: cfg.smtp.user, pass: ch.secrets.smtpPassword ?? '' }
          : undefined,
        tls: { servername: target.hostname },
        ...timeouts,
      });
    } else if (opts.smtpUrl) {
      transport = nodemailer.createTransport({ url: opts.smtpUrl, ...timeouts } as Parameters<
        typeof nodemailer.createTransport
      >[0]);
    } else {
      return {
        ok: false,
        statusCode: null,
        error: 'no SMTP server: give the channel smtp settings or set SMTP_URL',
        retryable: false,
        retryAfterMs: null,
        durationMs: ms(),
      };
    }
    const info = await transport.sendMail({
      from: cfg.from ?? opts.smtpFrom,
      to: cfg.to,
      ...msg,
    });
    transport.close();
    const rejected = (info.rejected ?? []).length;
    return rejected
      ? {
          ok: false,
          statusCode: null,
          error: `rejected recipients: ${rejected}`,
          retryable: false,
          retryAfterMs: null,
          durationMs: ms(),
        }
      : {
          ok: true,
          statusCode: 250,
          error: null,
          retryable: false,
          retryAfterMs: null,
          durationMs: ms(),
        };
  } catch (e) {
    const err = e as Error & { responseCode?: number; code?: string };
    const permanent =
      e instanceof BlockedTargetError ||
      (err.responseCode !== undefined && err.responseCode >= 500 && err.responseCode < 600);
    return {
      ok: false,
      statusCode: err.responseCode ?? null,
      error: `${err.code ? `${err.code}: ` : ''}${err.message}`.slice(0, 500),
      retryable: !permanent,
      retryAfterMs: null,
      durationMs: ms(),
    };
  }
}
