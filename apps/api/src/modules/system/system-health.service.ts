import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { SystemHealthResponse, SystemHealthSnapshot } from '@agent-monitor/contracts';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { IngestGate } from '../rate-limit/ingest-gate.service.js';
import { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { HttpMetrics } from './http-metrics.service.js';
import { MetricsRegistry } from './metrics-registry.service.js';
import { QueueDepthCollector } from './queue-depth.collector.js';
import { withTimeout } from '../../common/with-timeout.js';

const HISTORY_POINTS = 360;

/**
 * Every SYSTEM_HEALTH_INTERVAL each instance measures itself, stores the snapshot in
 * `system_health` (all instances share the table) and pushes `system_health_update` to
 * dashboards. Old snapshots are pruned after SYSTEM_HEALTH_RETENTION.
 */
@Injectable()
export class SystemHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  /** host:pid plus a few random characters (two apps can share a process in tests). */
  readonly instance = `${os.hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  private readonly logger = new Logger('SystemHealth');
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | null = null;
  private lastTickAt = Date.now();
  private lastIngestTotal = 0;
  private ticks = 0;
  private lastStoredAt: Date | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsRegistry,
    private readonly http: HttpMetrics,
    private readonly gate: IngestGate,
    private readonly redis: RateLimitStore,
    private readonly queues: QueueDepthCollector,
    @Optional() private readonly publisher?: RealtimePublisher,
  ) {}

  onApplicationBootstrap(): void {
    this.loopDelay.enable();
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = this.tick()
          .then(() => undefined)
          .finally(() => (this.running = null));
      }
    }, this.config.SYSTEM_HEALTH_INTERVAL);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.loopDelay.disable();
    await this.running;
  }

  get lastSnapshotAt(): Date | null {
    return this.lastStoredAt;
  }

  /** Measures, stores and publishes one snapshot. */
  async tick(): Promise<SystemHealthSnapshot> {
    const snap = await this.measure(true);
    try {
      await this.dataSource.query(
        'INSERT INTO system_health (at, instance, data) VALUES ($1, $2, $3)',
        [snap.at, snap.instance, JSON.stringify(snap)],
      );
      this.lastStoredAt = new Date(snap.at);
      if (++this.ticks % 20 === 1) {
        await this.dataSource.query(
          `DELETE FROM system_health WHERE at < now() - make_interval(secs => $1)`,
          [this.config.SYSTEM_HEALTH_RETENTION / 1000],
        );
      }
    } catch (e) {
      this.logger.warn(`Could not store a system health snapshot: ${(e as Error).message}`);
    }
    this.publisher?.publish('system_health_update', { ...snap });
    return snap;
  }

  /** This instance's figures; `consume` starts a new interval (only the periodic tick does). */
  async measure(consume = false): Promise<SystemHealthSnapshot> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastTickAt) / 1000);
    const ingestTotal = await this.metrics.total('am_ingest_values_total');
    const ingestRate = Math.round(((ingestTotal - this.lastIngestTotal) / seconds) * 100) / 100;
    const windowFigures = consume ? this.http.window.take() : this.http.window.peek();
    const lagMs = Number.isFinite(this.loopDelay.percentile(99))
      ? this.loopDelay.percentile(99) / 1e6
      : 0;
    if (consume) {
      this.lastTickAt = now;
      this.lastIngestTotal = ingestTotal;
      this.loopDelay.reset();
    }
    const [db, queueDepth] = await Promise.all([this.pingDatabase(), this.queues.refresh()]);
    const pool = this.http.poolCounts();
    return {
      at: new Date(now).toISOString(),
      instance: this.instance,
      ...windowFigures,
      ingestRate,
      ingestInFlight: this.gate.active + this.gate.waiting,
      queueDepth,
      dbStatus: db.ok ? 'up' : 'down',
      dbLatencyMs: db.latencyMs,
      dbPoolInUse: pool ? pool.totalCount - pool.idleCount : 0,
      dbPoolWaiting: pool?.waitingCount ?? 0,
      redisStatus: this.redis.state(),
      eventLoopLagMs: Math.round(lagMs * 100) / 100,
      rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
      socketConnections: await this.metrics.total('am_socket_connections'),
    };
  }

  async report(minutes: number): Promise<SystemHealthResponse> {
    const current = await this.measure(false);
    const intervalSec = this.config.SYSTEM_HEALTH_INTERVAL / 1000;
    let history: SystemHealthSnapshot[] = [];
    let instances: SystemHealthSnapshot[] = [];
    if (current.dbStatus === 'up') {
      const rows = await this.dataSource.query<{ data: SystemHealthSnapshot }[]>(
        `WITH r AS (
           SELECT data, at, row_number() OVER (ORDER BY at) AS rn, count(*) OVER () AS n
             FROM system_health WHERE at > now() - make_interval(mins => $1))
         SELECT data FROM r WHERE rn % greatest(1, ceil(n / $2::numeric)::int) = 0 ORDER BY at`,
        [minutes, HISTORY_POINTS],
      );
      history = rows.map((r) => r.data);
      const latest = await this.dataSource.query<{ data: SystemHealthSnapshot }[]>(
        `SELECT DISTINCT ON (instance) data FROM system_health
          WHERE at > now() - make_interval(secs => $1)
          ORDER BY instance, at DESC`,
        [intervalSec * 3],
      );
      instances = latest.map((r) => r.data);
    }
    const degraded =
      current.dbStatus === 'down' ||
      current.redisStatus === 'down' ||
      (current.requests > 0 && current.serverErrors / current.requests > 0.05);
    return { status: degraded ? 'degraded' : 'ok', current, instances, history, intervalSec };
  }

  private async pingDatabase(): Promise<{ ok: boolean; latencyMs: number | null }> {
    const started = performance.now();
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 2000);
      return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { ok: false, latencyMs: null };
    }
  }
}
