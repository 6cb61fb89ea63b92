import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { MetricsRegistry } from './metrics-registry.service.js';
import { withTimeout } from '../../common/with-timeout.js';

/**
 * `am_job_queue_depth{queue}` read from the tables that are the durable work queues, at each
 * scrape and health snapshot (one small query, bounded by a timeout so a slow or absent
 * database never holds a scrape):
 *
 * - `notification_outbox`: notifications not yet delivered (status pending or sending);
 * - `rollup`: buckets marked for (re)aggregation in `metric_rollup_dirty`.
 *
 * While the database is unreachable the gauge keeps its last values and `am_job_queue_depth_up`
 * drops to 0, so a stale depth is never mistaken for a fresh one.
 */
@Injectable()
export class QueueDepthCollector {
  private readonly up: Gauge;
  private inFlight: Promise<number> | null = null;

  constructor(
    private readonly metrics: MetricsRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.up = metrics.gauge({
      name: 'am_job_queue_depth_up',
      help: '1 when the last queue depth read from the database succeeded, else 0.',
    });
  }

  /** Reads the depths into the gauge; returns the total (last known when the read fails). */
  refresh(): Promise<number> {
    // Concurrent scrapes share one query.
    this.inFlight ??= this.read().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async read(): Promise<number> {
    try {
      const rows = await withTimeout(
        this.dataSource.query<{ queue: string; n: string }[]>(
          `SELECT 'notification_outbox' AS queue, count(*)::text AS n
             FROM notification_outbox WHERE status IN ('pending', 'sending')
           UNION ALL
           SELECT 'rollup', count(*)::text FROM metric_rollup_dirty`,
        ),
        2000,
      );
      let total = 0;
      for (const r of rows) {
        this.metrics.jobQueueDepth.set({ queue: r.queue }, Number(r.n));
        total += Number(r.n);
      }
      this.up.set(1);
      return total;
    } catch {
      this.up.set(0);
      return this.metrics.total('am_job_queue_depth');
    }
  }
}
