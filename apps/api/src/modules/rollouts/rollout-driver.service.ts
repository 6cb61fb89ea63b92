import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LeaderLock } from '../../common/leader-lock.js';
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
  private readonly lock: LeaderLock;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    db: DataSource,
    private readonly rollouts: RolloutsService,
  ) {
    this.lock = new LeaderLock(db, {
      key: ROLLOUT_LOCK_KEY,
      applicationName: 'am-rollouts',
      what: 'rollout',
      logger: this.logger,
    });
  }

  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lock.release();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = TICK_MS;
    try {
      if (!this.lock.isLeader && !(await this.lock.tryLead())) next = FOLLOWER_RETRY_MS;
      if (this.lock.isLeader) {
        for (const id of await this.rollouts.runningIds()) {
          if (this.stopped) break;
          await this.rollouts.drive(id).catch((e: unknown) => {
            this.logger.warn(`rollout ${id}: ${(e as Error).message}`);
          });
        }
      }
    } catch (e) {
      if (!this.stopped) this.logger.warn(`rollout driver failed: ${(e as Error).message}`);
      await this.lock.release();
      next = FOLLOWER_RETRY_MS;
    }
    this.schedule(next);
  }
}
