import { DomainException } from '../../common/errors.js';
import type { AppConfig } from '../../config/config.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import { IngestGate } from './ingest-gate.service.js';

function gate(maxInFlight: number, maxQueued: number, timeoutMs: number) {
  const config = {
    INGEST_MAX_INFLIGHT: maxInFlight,
    INGEST_MAX_QUEUED: maxQueued,
    INGEST_QUEUE_TIMEOUT: timeoutMs,
  } as AppConfig;
  const metrics = new MetricsRegistry();
  return { g: new IngestGate(config, metrics), metrics };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('IngestGate (ingest back-pressure)', () => {
  it('runs at most N at once, queues up to M, refuses the rest with 503 + Retry-After', async () => {
    const { g, metrics } = gate(2, 1, 5000);
    const d = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = d.map((x, i) =>
      g.run(async () => {
        started.push(i);
        await x.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(g.active).toBe(2);
    expect(g.waiting).toBe(1);

    const refused = await g.run(async () => 'never').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainException);
    expect((refused as DomainException).status).toBe(503);
    expect((refused as DomainException).retryAfterSec).toBeGreaterThanOrEqual(1);

    d[0].resolve();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    d[1].resolve();
    d[2].resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(g.active).toBe(0);
    expect(g.waiting).toBe(0);
    expect(await metrics.total('am_ingest_rejected_samples_total')).toBe(1);
    metrics.onModuleDestroy();
  });

  it('gives up on a waiter after the queue timeout and frees its place', async () => {
    const { g, metrics } = gate(1, 5, 50);
    const hold = deferred();
    const first = g.run(() => hold.promise);
    const waited = await g.run(async () => 'late').catch((e: unknown) => e);
    expect((waited as DomainException).code).toBe('UNAVAILABLE');
    expect(g.waiting).toBe(0);
    hold.resolve();
    await first;
    expect(await g.run(async () => 'ok')).toBe('ok');
    metrics.onModuleDestroy();
  });

  it('releases the slot when the work throws', async () => {
    const { g, metrics } = gate(1, 0, 50);
    await expect(g.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(g.active).toBe(0);
    expect(await g.run(async () => 1)).toBe(1);
    metrics.onModuleDestroy();
  });
});
