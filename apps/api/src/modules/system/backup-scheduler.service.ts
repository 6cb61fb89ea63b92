import path from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { CronExpressionParser } from 'cron-parser';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { createBackup } from './backup/backup.js';
import { MetricsRegistry } from './metrics-registry.service.js';
import { SystemHealthService } from './system-health.service.js';

// setTimeout's ceiling (~24.8 days); longer waits re-arm.
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Scheduled backups (BACKUP_CRON, in UTC). Every instance arms the same timer; for each slot
 * the instance whose row lands first in `backup_runs` (primary key on the slot) runs it, so a
 * slot is backed up exactly once however many instances run, and each run is recorded.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Backups');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly lastSuccess;
  private readonly runs;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly health: SystemHealthService,
    metrics: MetricsRegistry,
  ) {
    this.lastSuccess = metrics.gauge({
      name: 'am_backup_last_success_timestamp_seconds',
      help: 'When the last scheduled backup run by this instance succeeded (Unix time).',
    });
    this.runs = metrics.counter({
      name: 'am_backups_total',
      help: 'Scheduled backups run by this instance, by outcome (success, failure).',
      labelNames: ['outcome'] as const,
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.BACKUP_CRON) return;
    try {
      this.nextSlot();
    } catch (e) {
      throw new Error(`Invalid configuration: BACKUP_CRON ${(e as Error).message}`, { cause: e });
    }
    this.arm();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private nextSlot(): Date {
    return CronExpressionParser.parse(this.config.BACKUP_CRON, {
      currentDate: new Date(),
      tz: 'UTC',
    })
      .next()
      .toDate();
  }

  private arm(): void {
    if (this.stopped) return;
    const slot = this.nextSlot();
    const delay = slot.getTime() - Date.now();
    this.timer = setTimeout(
      () => {
        if (delay > MAX_DELAY) return this.arm();
        this.running = this.runSlot(slot).finally(() => {
          this.running = null;
          this.arm();
        });
      },
      Math.min(Math.max(delay, 0), MAX_DELAY),
    );
    this.timer.unref();
  }

  /** Claims the slot; returns without doing anything when another instance has it. */
  async runSlot(slot: Date): Promise<void> {
    let claimed: unknown[];
    try {
      claimed = await this.dataSource.query(
        `INSERT INTO backup_runs (slot, instance) VALUES ($1, $2)
           ON CONFLICT (slot) DO NOTHING RETURNING slot`,
        [slot.toISOString(), this.health.instance],
      );
    } catch (e) {
      this.runs.inc({ outcome: 'failure' });
      this.logger.error(`Scheduled backup skipped: ${(e as Error).message}`);
      return;
    }
    if (claimed.length === 0) return;
    try {
      const url = (this.dataSource.options as { url?: string }).url;
      if (!url) throw new Error('no database URL');
      const r = await createBackup({
        url,
        dir: this.config.BACKUP_DIR,
        keep: this.config.BACKUP_KEEP,
        binDir: this.config.PG_BIN_DIR,
        embeddedPgdata: this.config.DATABASE_URL
          ? undefined
          : path.join(this.config.dataDir, 'postgres', 'pgdata'),
      });
      await this.dataSource.query(
        `UPDATE backup_runs SET finished_at = now(), file = $2, bytes = $3, method = $4 WHERE slot = $1`,
        [slot.toISOString(), path.basename(r.file), r.bytes, r.method],
      );
      this.lastSuccess.set(Date.now() / 1000);
      this.runs.inc({ outcome: 'success' });
      this.logger.log(`Scheduled backup written: ${r.file} (${r.bytes} bytes, ${r.method})`);
    } catch (e) {
      this.runs.inc({ outcome: 'failure' });
      this.logger.error(`Scheduled backup failed: ${(e as Error).message}`);
      await this.dataSource
        .query(`UPDATE backup_runs SET finished_at = now(), error = $2 WHERE slot = $1`, [
          slot.toISOString(),
          (e as Error).message.slice(0, 2000),
        ])
        .catch(() => undefined);
    }
  }
}
