import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LeaderLock } from '../../common/leader-lock.js';
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
  private readonly lock: LeaderLock;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    db: DataSource,
    private readonly schedules: ReportSchedulesService,
  ) {
    this.lock = new LeaderLock(db, {
      key: REPORT_SCHEDULER_LOCK_KEY,
      applicationName: 'am-report-scheduler',
      what: 'report scheduler',
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
    await this.running;
    await this.lock.release();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => (this.running = null));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = TICK_MS;
    try {
      if (!this.lock.isLeader && !(await this.lock.tryLead())) next = FOLLOWER_RETRY_MS;
      if (this.lock.isLeader) {
        for (const runId of await this.schedules.claimDue()) {
          if (this.stopped) break;
          await this.schedules.execute(runId).catch((e: unknown) => {
            this.logger.warn(`report run ${runId}: ${(e as Error).message}`);
          });
        }
      }
    } catch (e) {
      if (!this.stopped) this.logger.warn(`report scheduler failed: ${(e as Error).message}`);
      await this.lock.release();
      next = FOLLOWER_RETRY_MS;
    }
    this.schedule(next);
  }
}
