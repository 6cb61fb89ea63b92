import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { createClient, type RedisClientType } from 'redis';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';

export interface Hit {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export type RedisState = 'up' | 'down' | 'disabled';

// INCR + PEXPIRE on first hit in one round trip; returns [count, pttl].
const HIT_SCRIPT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;

/**
 * Fixed-window counters for rate limits. With REDIS_URL they live in Redis (one budget shared
 * by every API instance); while Redis is unreachable, or without it, in this process (each
 * instance then enforces the budget on its own: a degraded but safe mode). Redis commands
 * never queue while disconnected, so an outage costs no latency.
 */
@Injectable()
export class RateLimitStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private redis: RedisClientType | null = null;
  private readonly memory = new Map<string, { count: number; resetAt: number }>();
  private sweeper: NodeJS.Timeout | null = null;
  private lastState: RedisState;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.lastState = config.REDIS_URL ? 'down' : 'disabled';
  }

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
    if (!this.config.REDIS_URL) return;
    const client: RedisClientType = createClient({
      url: this.config.REDIS_URL,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        // Keep trying for ever, at most every 2 s: Redis coming back is picked up by itself.
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    client.on('error', (e: unknown) => this.noteState('down', e));
    client.on('ready', () => this.noteState('up'));
    this.redis = client;
    // Not awaited: the app starts (in-process mode) even when Redis is down at boot.
    client.connect().catch((e: unknown) => this.noteState('down', e));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const r = this.redis;
    this.redis = null;
    if (r) {
      try {
        if (r.isOpen) await r.close();
        else r.destroy();
      } catch {
        r.destroy();
      }
    }
  }

  /** Whether the shared store is in use right now. */
  state(): RedisState {
    if (!this.config.REDIS_URL) return 'disabled';
    return this.redis?.isReady ? 'up' : 'down';
  }

  /** Counts one request against `key` in a window of `windowMs`. */
  async hit(key: string, windowMs: number): Promise<Hit> {
    const r = this.redis;
    if (r?.isReady) {
      try {
        const res = (await r.eval(HIT_SCRIPT, {
          keys: [`am:rl:${key}`],
          arguments: [String(windowMs)],
        })) as [number, number];
        return { count: Number(res[0]), resetMs: Math.max(0, Number(res[1])) };
      } catch (e) {
        this.noteState('down', e);
      }
    }
    return this.hitMemory(key, windowMs);
  }

  private hitMemory(key: string, windowMs: number): Hit {
    const now = Date.now();
    let e = this.memory.get(key);
    if (!e || e.resetAt <= now) {
      e = { count: 0, resetAt: now + windowMs };
      this.memory.set(key, e);
    }
    e.count++;
    return { count: e.count, resetMs: e.resetAt - now };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.memory) if (e.resetAt <= now) this.memory.delete(k);
  }

  private noteState(state: RedisState, err?: unknown): void {
    if (state === this.lastState) return;
    this.lastState = state;
    if (state === 'up') this.logger.log('Redis connected: rate limits are shared across instances');
    else
      this.logger.warn(
        `Redis unavailable (${err instanceof Error ? err.message : String(err)}): rate limits fall back to this instance`,
      );
  }
}
