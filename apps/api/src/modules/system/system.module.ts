import { Global, Module } from '@nestjs/common';
import { BackupScheduler } from './backup-scheduler.service.js';
import { DatabaseResilience } from './database-resilience.service.js';
import { IngestMetricsListener } from './ingest-metrics.listener.js';
import { HttpMetrics } from './http-metrics.service.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsRegistry } from './metrics-registry.service.js';
import { QueueDepthCollector } from './queue-depth.collector.js';
import { SystemController } from './system.controller.js';
import { SystemHealthService } from './system-health.service.js';

/**
 * Monitoring of the monitor: GET /metrics (Prometheus), system health snapshots and the
 * watchdog. `MetricsRegistry` is global so every domain can count what it does.
 */
@Global()
@Module({
  controllers: [MetricsController, SystemController],
  providers: [
    MetricsRegistry,
    HttpMetrics,
    SystemHealthService,
    BackupScheduler,
    DatabaseResilience,
    IngestMetricsListener,
    QueueDepthCollector,
  ],
  exports: [MetricsRegistry],
})
export class SystemModule {}
