import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { passwordProblem } from '../modules/auth/password-policy.js';

/**
 * The only place that reads `process.env`. Everything else receives an `AppConfig`.
 * A bad value stops the process with one line naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must look like 500ms, 30s, 15m, 12h or 7d')
  .transform(parseDuration);

export function parseDuration(v: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  if (!m) throw new Error(`bad duration ${v}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return n * unit;
}

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_REFRESH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL: duration.default(parseDuration('15m')),
  REFRESH_TOKEN_TTL: duration.default(parseDuration('7d')),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z
    .string()
    .superRefine((v, ctx) => {
      const problem = passwordProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** Fastify trustProxy: false, true, a hop count or a comma-separated list of addresses/CIDRs. */
  TRUST_PROXY: z.string().default('false'),
  /** Comma-separated origins allowed by CORS; empty means CORS is off. */
  CORS_ORIGINS: z.string().default(''),
  /** Comma-separated extra origins allowed to open the dashboard socket (same origin always is). */
  SOCKET_ALLOWED_ORIGINS: z.string().default(''),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  INGEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  LOGIN_RATE_PER_IP: z.coerce.number().int().min(1).default(20),
  LOGIN_RATE_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  LOGIN_RATE_WINDOW: duration.default(parseDuration('15m')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SERVE_DASHBOARD: bool.default(true),
  DASHBOARD_DIST: z.string().optional(),
  RETENTION_RAW: duration.default(parseDuration('30d')),
  RETENTION_1M: duration.default(parseDuration('90d')),
  RETENTION_1H: duration.default(parseDuration('365d')),
  /** Empty means keep daily rollups forever. */
  RETENTION_1D: z
    .string()
    .default('')
    .transform((v, ctx) => {
      if (v === '') return null;
      try {
        return parseDuration(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be empty or a duration like 3650d' });
        return z.NEVER;
      }
    }),
  /** How often the metrics leader rolls up new samples (1m/1h/1d); 0ms disables the timer. */
  METRICS_ROLLUP_INTERVAL: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'must look like 500ms, 30s, 15m, 12h or 7d')
    .transform(parseDuration)
    .default(parseDuration('10s')),
  /** How long after a 15-minute raw window ends its chunks are compacted into one per series. */
  METRICS_COMPACT_AFTER: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'must look like 500ms, 30s, 15m, 12h or 7d')
    .transform(parseDuration)
    .default(parseDuration('15m')),
  LIVENESS_SWEEP_INTERVAL: duration.default(parseDuration('250ms')),
  ALLOW_PRIVATE_WEBHOOK_TARGETS: bool.default(false),
  /** How often no-data, status, `for` and window rules are re-evaluated between samples. */
  ALERT_EVAL_INTERVAL: duration.default(parseDuration('250ms')),
  /** Per-attempt timeout of one notification delivery. */
  NOTIFY_TIMEOUT: duration.default(parseDuration('10s')),
  /** First retry delay; doubles per attempt (with jitter) up to NOTIFY_RETRY_MAX. */
  NOTIFY_RETRY_BASE: duration.default(parseDuration('5s')),
  NOTIFY_RETRY_MAX: duration.default(parseDuration('1h')),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  /** How often the outbox is checked for due retries (first attempts start at once). */
  NOTIFY_POLL_INTERVAL: duration.default(parseDuration('1s')),
  SMTP_URL: z.string().optional(),
  SMTP_FROM: z.string().default('Agent Monitor <alerts@localhost>'),
  PUBLIC_URL: z.string().optional(),
  ENCRYPTION_KEY: z.string().min(32).optional(),
  BACKUP_DIR: z.string().default('./backups'),
  BACKUP_CRON: z.string().default(''),
  BACKUP_KEEP: z.coerce.number().int().min(1).default(7),
  /** Directory with a pg_dump/pg_restore at least as new as the server (default: searched). */
  PG_BIN_DIR: z.string().optional(),
  /** Bearer token a Prometheus scraper must send to GET /metrics; empty: /metrics is public. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How often a system health snapshot is stored and pushed to dashboards. */
  SYSTEM_HEALTH_INTERVAL: duration.default(parseDuration('15s')),
  /** How long system health snapshots are kept. */
  SYSTEM_HEALTH_RETENTION: duration.default(parseDuration('7d')),
  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_WINDOW: duration.default(parseDuration('1m')),
  /** Ingest budget (heartbeats, metrics, activity) per API key / token, per window. */
  RATE_LIMIT_INGEST_PER_KEY: z.coerce.number().int().min(1).default(6000),
  /** Ingest budget per client IP (many agents behind one NAT share it), per window. */
  RATE_LIMIT_INGEST_PER_IP: z.coerce.number().int().min(1).default(120000),
  /** Budget for every other API route per API key / token, per window. */
  RATE_LIMIT_API_PER_KEY: z.coerce.number().int().min(1).default(3000),
  /** Budget for every other API route per client IP, per window. */
  RATE_LIMIT_API_PER_IP: z.coerce.number().int().min(1).default(6000),
  /** Ingest requests processed at once per instance; beyond it they wait in a bounded queue. */
  INGEST_MAX_INFLIGHT: z.coerce.number().int().min(1).default(32),
  /** Ingest requests allowed to wait; beyond it (or after INGEST_QUEUE_TIMEOUT) 503 + Retry-After. */
  INGEST_MAX_QUEUED: z.coerce.number().int().min(0).default(512),
  INGEST_QUEUE_TIMEOUT: duration.default(parseDuration('5s')),
});

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig extends Omit<
  Env,
  'JWT_SECRET' | 'JWT_REFRESH_SECRET' | 'ENCRYPTION_KEY'
> {
  dataDir: string;
  jwtSecret: string;
  jwtRefreshSecret: string;
  encryptionKey: string;
  trustProxy: boolean | number | string[];
  corsOrigins: string[];
  socketAllowedOrigins: string[];
  version: string;
}

export class ConfigError extends Error {}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Reads, validates and completes the configuration. Throws ConfigError with one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue.path.join('.') || 'environment';
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const { JWT_SECRET, JWT_REFRESH_SECRET, ENCRYPTION_KEY, ...rest } = e;
  return {
    ...rest,
    dataDir,
    jwtSecret: JWT_SECRET ?? persistentSecret(dataDir, 'jwt-secret'),
    jwtRefreshSecret: JWT_REFRESH_SECRET ?? persistentSecret(dataDir, 'jwt-refresh-secret'),
    encryptionKey: ENCRYPTION_KEY ?? persistentSecret(dataDir, 'encryption-key'),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    corsOrigins: splitList(e.CORS_ORIGINS),
    socketAllowedOrigins: splitList(e.SOCKET_ALLOWED_ORIGINS),
    version: readVersion(),
  };
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseTrustProxy(v: string): boolean | number | string[] {
  if (v === 'false' || v === '') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return splitList(v);
}

/** A secret generated once and kept under DATA_DIR (mode 600) so restarts keep sessions. */
function persistentSecret(dataDir: string, name: string): string {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
