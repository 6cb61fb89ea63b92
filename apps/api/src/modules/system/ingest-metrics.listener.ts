import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import { MetricsRegistry } from './metrics-registry.service.js';

/**
 * Counts committed ingest from the internal event bus (emitted after commit), so
 * `am_ingest_values_total`, `am_ingest_requests_total` and the ingest rate of system health
 * are real without the ingest code knowing about Prometheus.
 */
@Injectable()
export class IngestMetricsListener {
  constructor(private readonly metrics: MetricsRegistry) {}

  @OnEvent(InternalEvent.MetricsIngested)
  onMetrics(e: InternalEventPayloads[typeof InternalEvent.MetricsIngested]): void {
    this.metrics.ingestValues.inc({ kind: 'metrics' }, e.values);
    this.metrics.ingestBatches.inc({ kind: 'metrics' });
  }

  @OnEvent(InternalEvent.AgentHeartbeat)
  onHeartbeat(): void {
    this.metrics.ingestValues.inc({ kind: 'heartbeat' });
    this.metrics.ingestBatches.inc({ kind: 'heartbeat' });
  }
}
