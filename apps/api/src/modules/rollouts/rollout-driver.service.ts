import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LeaderLoop } from '../../common/leader-lock.js';
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
  private readonly loop: LeaderLoop;

  constructor(
    db: DataSource,
    private readonly rollouts: RolloutsService,
  ) {
    this.loop = new LeaderLoop(db, {
      key: ROLLOUT_LOCK_KEY,
      applicationName: 'am-rollouts',
      what: 'rollout',
      job: 'rollout driver',
      logger: this.logger,
      intervalMs: TICK_MS,
      followerRetryMs: FOLLOWER_RETRY_MS,
      work: () => this.driveRunning(),
    });
  }

  get isLeader(): boolean {
    return this.loop.isLeader;
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  private async driveRunning(): Promise<void> {
    for (const id of await this.rollouts.runningIds()) {
      if (this.loop.stopping) break;
      await this.rollouts.drive(id).catch((e: unknown) => {
        this.logger.warn(`rollout ${id}: ${(e as Error).message}`);
      });
    }
  }
}
