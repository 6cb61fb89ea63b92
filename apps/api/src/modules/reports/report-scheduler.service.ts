import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LeaderLoop } from '../../common/leader-lock.js';
import { ReportSchedulesService } from './report-schedules.service.js';

/** pg_advisory_lock key of the report scheduler ("amrs" in ASCII). */
export const REPORT_SCHEDULER_LOCK_KEY = 0x616d7273;
/** How often the leader looks for due schedules (one indexed query). */
const TICK_MS = 2_000;
const FOLLOWER_RETRY_MS = 5_000;

/**
 * Sends scheduled reports when they fall due. One instance leads (PostgreSQL advisory lock on
 * a dedicated connection, see LeaderLock); due rows are claimed with FOR UPDATE SKIP LOCKED
 * and their next occurrence written in the same transaction, so no period is sent twice.
 */
@Injectable()
export class ReportScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReportScheduler.name);
  private readonly loop: LeaderLoop;

  constructor(
    db: DataSource,
    private readonly schedules: ReportSchedulesService,
  ) {
    this.loop = new LeaderLoop(db, {
      key: REPORT_SCHEDULER_LOCK_KEY,
      applicationName: 'am-report-scheduler',
      what: 'report scheduler',
      job: 'report scheduler',
      logger: this.logger,
      intervalMs: TICK_MS,
      followerRetryMs: FOLLOWER_RETRY_MS,
      work: () => this.sendDue(),
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

  private async sendDue(): Promise<void> {
    for (const runId of await this.schedules.claimDue()) {
      if (this.loop.stopping) break;
      await this.schedules.execute(runId).catch((e: unknown) => {
        this.logger.warn(`report run ${runId}: ${(e as Error).message}`);
      });
    }
  }
}
