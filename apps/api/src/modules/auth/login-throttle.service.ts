import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { createClient, type RedisClientType } from 'redis';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { DomainException } from '../../common/errors.js';

// INCR, and start the window on the first attempt; returns [count, ms left in the window].
const HIT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;
// Take one attempt back (a successful login does not count against its IP).
const UNDO = `
local c = redis.call('DECR', KEYS[1])
if c <= 0 then redis.call('DEL', KEYS[1]) end
return c`;

interface Counter {
  count: number;
  resetAt: number;
}

/** Ticket for one login attempt: what to undo or reset once the outcome is known. */
export interface LoginAttempt {
  ipKey: string;
  accountKey: string;
}

/**
 * Login throttling per client IP and per account, fixed windows of LOGIN_RATE_WINDOW.
 * An attempt is counted *before* the password is checked (so parallel guesses cannot slip
 * past the limit); a successful login then takes its IP attempt back and clears the account
 * counter, so only failures accumulate. With REDIS_URL the counters are shared by every
 * instance; while Redis is unreachable they fall back to this process.
 *
 * Keys are namespaced by database, as instances that share a database are one installation.
 */
@Injectable()
export class LoginThrottle implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('LoginThrottle');
  private readonly memory = new Map<string, Counter>();
  private redis: RedisClientType | null = null;
  private redisState: 'up' | 'down' | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly namespace: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    db: DataSource,
  ) {
    const opts = db.options as { url?: string; database?: string };
    let name = opts.database ?? 'am';
    if (opts.url) {
      const u = new URL(opts.url);
      name = `${u.hostname}:${u.port}${u.pathname}`;
    }
    this.namespace = `am:login:${name}`;
  }

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
    if (!this.config.REDIS_URL) return;
    const client: RedisClientType = createClient({
      url: this.config.REDIS_URL,
      disableOfflineQueue: true, // fail fast while disconnected: fall back, never wait
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    client.on('error', (e: unknown) => this.redisDown(e));
    client.on('ready', () => {
      if (this.redisState !== 'up') this.logger.log('Redis connected: login throttling is shared');
      this.redisState = 'up';
    });
    this.redis = client;
    client.connect().catch((e: unknown) => this.redisDown(e));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const r = this.redis;
    this.redis = null;
    if (!r) return;
    try {
      if (r.isOpen) await r.close();
      else r.destroy();
    } catch {
      r.destroy();
    }
  }

  /** Counts an attempt; throws 429 (with Retry-After) when the IP or the account is over its limit. */
  async attempt(ip: string, email: string): Promise<LoginAttempt> {
    const ipKey = `${this.namespace}:ip:${ip}`;
    const accountKey = `${this.namespace}:acct:${email.toLowerCase()}`;
    const window = this.config.LOGIN_RATE_WINDOW;
    const [byIp, byAccount] = await Promise.all([
      this.hit(ipKey, window),
      this.hit(accountKey, window),
    ]);
    const over: number[] = [];
    if (byIp.count > this.config.LOGIN_RATE_PER_IP) over.push(byIp.resetMs);
    if (byAccount.count > this.config.LOGIN_RATE_PER_ACCOUNT) over.push(byAccount.resetMs);
    if (over.length) {
      const retryAfter = Math.max(1, Math.ceil(Math.max(...over) / 1000));
      throw new DomainException(
        'RATE_LIMITED',
        `Too many login attempts; try again in ${retryAfter} s`,
        undefined,
        retryAfter,
      );
    }
    return { ipKey, accountKey };
  }

  /** After a successful login: the attempt does not count, and the account starts afresh. */
  async succeeded(a: LoginAttempt): Promise<void> {
    await Promise.all([this.undo(a.ipKey), this.clear(a.accountKey)]);
  }

  private async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const r = this.usable();
    if (r) {
      try {
        const res = (await r.eval(HIT, { keys: [key], arguments: [String(windowMs)] })) as [
          number,
          number,
        ];
        return { count: Number(res[0]), resetMs: Math.max(0, Number(res[1])) };
      } catch (e) {
        this.redisDown(e);
      }
    }
    const now = Date.now();
    let c = this.memory.get(key);
    if (!c || c.resetAt <= now) {
      c = { count: 0, resetAt: now + windowMs };
      this.memory.set(key, c);
    }
    c.count++;
    return { count: c.count, resetMs: c.resetAt - now };
  }

  private async undo(key: string): Promise<void> {
    const r = this.usable();
    if (r) {
      try {
        await r.eval(UNDO, { keys: [key], arguments: [] });
        return;
      } catch (e) {
        this.redisDown(e);
      }
    }
    const c = this.memory.get(key);
    if (c && --c.count <= 0) this.memory.delete(key);
  }

  private async clear(key: string): Promise<void> {
    this.memory.delete(key);
    const r = this.usable();
    if (!r) return;
    try {
      await r.del(key);
    } catch (e) {
      this.redisDown(e);
    }
  }

  private usable(): RedisClientType | null {
    return this.redis?.isReady ? this.redis : null;
  }

  /** Logged once per outage, not on every reconnect attempt. */
  private redisDown(e: unknown): void {
    if (this.redisState !== 'down') {
      this.logger.warn(
        `Redis unavailable (${e instanceof Error ? e.message : String(e)}): login throttling falls back to this instance`,
      );
    }
    this.redisState = 'down';
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, c] of this.memory) if (c.resetAt <= now) this.memory.delete(k);
  }
}
