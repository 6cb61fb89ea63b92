import { Inject, Injectable } from '@nestjs/common';
import { DomainException } from '../../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Ingest back-pressure: at most INGEST_MAX_INFLIGHT ingest requests work at once per
 * instance, at most INGEST_MAX_QUEUED wait (FIFO) for a slot, each for at most
 * INGEST_QUEUE_TIMEOUT. Anything beyond answers 503 + Retry-After instead of piling up
 * parsed bodies in memory while PostgreSQL is slow.
 *
 * Ingest controllers wrap their write: `return this.gate.run(() => this.service.ingest(...))`.
 */
@Injectable()
export class IngestGate {
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private busySince = 0;
  private busyTotal = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsRegistry,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Milliseconds (since start) during which at least one ingest request was working. */
  busyMs(now = Date.now()): number {
    return this.busyTotal + (this.inFlight > 0 ? now - this.busySince : 0);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.config.INGEST_MAX_INFLIGHT) {
      if (this.inFlight++ === 0) this.busySince = Date.now();
      this.metrics.ingestInFlight.set(this.inFlight);
      return Promise.resolve();
    }
    if (this.queue.length >= this.config.INGEST_MAX_QUEUED) {
      this.metrics.rejectedSamples.inc({ reason: 'saturated' });
      return Promise.reject(saturated());
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          this.metrics.ingestQueued.set(this.queue.length);
          this.metrics.rejectedSamples.inc({ reason: 'saturated' });
          reject(saturated());
        }, this.config.INGEST_QUEUE_TIMEOUT),
      };
      this.queue.push(waiter);
      this.metrics.ingestQueued.set(this.queue.length);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      // The slot passes straight to the next waiter: inFlight stays the same.
      this.metrics.ingestQueued.set(this.queue.length);
      next.grant();
      return;
    }
    if (--this.inFlight === 0) this.busyTotal += Date.now() - this.busySince;
    this.metrics.ingestInFlight.set(this.inFlight);
  }
}

function saturated(): DomainException {
  return new DomainException(
    'UNAVAILABLE',
    'Ingest is saturated on this instance; retry shortly',
    undefined,
    1,
  );
}
