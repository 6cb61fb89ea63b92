import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/** Latency buckets (seconds) for HTTP requests and alert evaluations. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type IngestKind = 'heartbeat' | 'metrics' | 'line_protocol' | 'activity';
export type NotificationOutcome = 'delivered' | 'failed' | 'retrying' | 'suppressed';

/**
 * The server's own Prometheus metrics (served at GET /metrics). One registry per app
 * instance (not prom-client's global one, so two apps in one process do not collide).
 *
 * Other domains inject this (the SystemModule is global) and push into the ready-made
 * instruments below, or register their own gauge/counter with `gauge()` / `counter()`:
 *
 * - metrics ingest: `ingestValues.inc({kind}, n)` per committed value, `ingestBatches.inc({kind})`
 *   per acknowledged request, `rejectedSamples.inc({reason}, n)` per refused sample;
 * - alerting: `alertEvaluations.inc({outcome})`, `alertEvaluationSeconds.observe(s)`;
 * - notifications: `notificationDeliveries.inc({channel_type, outcome})`;
 * - jobs: `jobQueueDepth.set({queue}, n)` or a `gauge()` with a collect callback;
 * - realtime: `socketConnections.set(n)` (or `setSocketConnectionsSource(() => n)`).
 */
@Injectable()
export class MetricsRegistry implements OnModuleDestroy {
  readonly registry = new Registry();

  readonly httpRequestSeconds = new Histogram({
    name: 'am_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly ingestValues = new Counter({
    name: 'am_ingest_values_total',
    help: 'Metric values (and heartbeats) committed by ingest, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly ingestBatches = new Counter({
    name: 'am_ingest_requests_total',
    help: 'Ingest requests acknowledged after commit, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly rejectedSamples = new Counter({
    name: 'am_ingest_rejected_samples_total',
    help: 'Samples refused by ingest, by reason (validation, unknown_agent, forbidden, saturated, rate_limited, ...).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly ingestInFlight = new Gauge({
    name: 'am_ingest_in_flight',
    help: 'Ingest requests being processed now (bounded by INGEST_MAX_INFLIGHT).',
    registers: [this.registry],
  });

  readonly ingestQueued = new Gauge({
    name: 'am_ingest_queued',
    help: 'Ingest requests waiting for a slot (bounded by INGEST_MAX_QUEUED).',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'am_rate_limited_requests_total',
    help: 'Requests refused with 429, by budget (ingest, api) and key kind (ip, credential).',
    labelNames: ['budget', 'scope'] as const,
    registers: [this.registry],
  });

  readonly alertEvaluations = new Counter({
    name: 'am_alert_evaluations_total',
    help: 'Alert rule evaluations, by outcome (ok, firing, resolved, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly alertEvaluationSeconds = new Histogram({
    name: 'am_alert_evaluation_duration_seconds',
    help: 'Time to evaluate alert rules against one batch or tick.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly notificationDeliveries = new Counter({
    name: 'am_notification_deliveries_total',
    help: 'Notification delivery attempts, by channel type and outcome.',
    labelNames: ['channel_type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobQueueDepth = new Gauge({
    name: 'am_job_queue_depth',
    help: 'Background jobs waiting, by queue.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly socketConnections = new Gauge({
    name: 'am_socket_connections',
    help: 'Dashboard socket connections open on this instance.',
    registers: [this.registry],
    collect: () => {
      if (this.socketSource) this.socketConnections.set(this.socketSource());
    },
  });

  /**
   * Always 1 while the server answers scrapes: alert on `absent(am_watchdog)`, or route an
   * always-firing `am_watchdog == 1` rule to a dead man's switch (Alertmanager's Watchdog).
   */
  readonly watchdog = new Gauge({
    name: 'am_watchdog',
    help: 'Always 1; for dead-man-switch alerting on the monitor itself.',
    registers: [this.registry],
  });

  private socketSource: (() => number) | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.watchdog.set(1);
    // Gauges named `_total` fail `promtool check metrics`; the same figures stay available
    // per type as nodejs_active_handles / _requests / _resources.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }

  /** The realtime module hands over how to count its sockets; read at scrape time. */
  setSocketConnectionsSource(source: () => number): void {
    this.socketSource = source;
  }

  /** A gauge of one's own (`am_` prefix recommended); `collect` runs at each scrape. */
  gauge<L extends string>(cfg: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    const existing = this.registry.getSingleMetric(cfg.name);
    if (existing) return existing as Gauge<L>;
    return new Gauge<L>({ ...cfg, registers: [this.registry] });
  }

  counter<L extends string>(cfg: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    const existing = this.registry.getSingleMetric(cfg.name);
    if (existing) return existing as Counter<L>;
    return new Counter<L>({ ...cfg, registers: [this.registry] });
  }

  histogram<L extends string>(cfg: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    const existing = this.registry.getSingleMetric(cfg.name);
    if (existing) return existing as Histogram<L>;
    return new Histogram<L>({ buckets: LATENCY_BUCKETS, ...cfg, registers: [this.registry] });
  }

  /** Total of a counter/gauge over all label sets (for health snapshots). */
  async total(name: string): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const v = await m.get();
    return v.values.reduce((s, x) => s + (Number.isFinite(x.value) ? x.value : 0), 0);
  }

  onModuleDestroy(): void {
    // Stops the default metrics' event-loop monitor.
    this.registry.clear();
  }
}
