import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { RolloutsService } from './rollouts.service.js';

/** pg_advisory_lock key of the rollout leader ("amro" in ASCII). */
export const ROLLOUT_LOCK_KEY = 0x616d726f;
const TICK_MS = 250;
const FOLLOWER_RETRY_MS = 1_000;

/**
 * Moves running rollouts forward. Exactly one instance drives: the one holding a PostgreSQL
 * advisory lock on a dedicated connection (the lock dies with the connection, so a crashed
 * leader is replaced within a second). State lives in PostgreSQL, so the new leader carries on
 * where the old one stopped.
 */
@Injectable()
export class RolloutDriver implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RolloutDriver.name);
  private client: pg.Client | null = null;
  private leader = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly rollouts: RolloutsService,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.dropConnection();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = TICK_MS;
    try {
      if (!this.leader) {
        this.leader = await this.tryLead();
        if (!this.leader) next = FOLLOWER_RETRY_MS;
      }
      if (this.leader) {
        for (const id of await this.rollouts.runningIds()) {
          if (this.stopped) break;
          await this.rollouts.drive(id).catch((e: unknown) => {
            this.logger.warn(`rollout ${id}: ${(e as Error).message}`);
          });
        }
      }
    } catch (e) {
      if (!this.stopped) this.logger.warn(`rollout driver failed: ${(e as Error).message}`);
      await this.dropConnection();
      next = FOLLOWER_RETRY_MS;
    }
    this.schedule(next);
  }

  private async tryLead(): Promise<boolean> {
    if (!this.client) {
      const url = (this.db.options as { url?: string }).url;
      const client = new pg.Client({ connectionString: url, application_name: 'am-rollouts' });
      client.on('error', (e) => {
        this.logger.warn(`rollout leader connection lost: ${e.message}`);
        void this.dropConnection();
      });
      await client.connect();
      this.client = client;
    }
    const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      ROLLOUT_LOCK_KEY,
    ]);
    return r.rows[0].ok;
  }

  private async dropConnection(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.leader = false;
    if (c) await c.end().catch(() => undefined);
  }
}
