import type { FetchLike } from './errors.js';
import { toLineProtocolBody, type LinePoint } from './line-protocol.js';

export interface MetricsBufferOptions {
  /** e.g. http://monitor:3000 */
  baseUrl: string;
  /** An agent key (its own agent) or a `metrics:write` key. */
  apiKey: string;
  /** The agent the samples belong to (tag `agent_id`). */
  agentId: string;
  /** Flush when this many points are buffered (default 500). */
  maxBatch?: number;
  /** Flush at least this often, ms (default 5,000). */
  flushIntervalMs?: number;
  /** Bound on buffered points; beyond it the oldest are dropped and counted (default 50,000). */
  maxBuffered?: number;
  /** Retries of a failed flush before its points are dropped (default 5). */
  maxRetries?: number;
  /** First retry delay, doubled each time up to 30 s, with jitter (default 500). */
  retryBaseMs?: number;
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Called when points are dropped (buffer full, or retries exhausted / refused). */
  onDrop?: (count: number, reason: 'overflow' | 'rejected' | 'retries_exhausted') => void;
}

export interface MetricsBufferStats {
  buffered: number;
  sent: number;
  dropped: number;
  droppedOverflow: number;
  droppedRejected: number;
  droppedRetries: number;
  failedFlushes: number;
}

/**
 * Batches an agent's metrics and sends them as line protocol to `POST /api/v2/write`: by size
 * (`maxBatch`) or time (`flushIntervalMs`), retrying 5xx/429/network failures with exponential
 * backoff. Memory is bounded (`maxBuffered`): on overflow the oldest points go first, and every
 * dropped point is counted in `stats()` and reported through `onDrop`. A 4xx other than 429
 * means the batch itself is bad: it is dropped at once (retrying cannot help).
 *
 *   const buf = new MetricsBuffer({ baseUrl, apiKey: agentKey, agentId });
 *   buf.record({ cpu_usage: 12.5, memory_usage: 61 });
 *   buf.record({ inference_time: 120, tokens: 900 }, { measurement: 'ai_metrics', tags: { model: 'gpt4' } });
 *   await buf.close();  // flushes what is left
 */
export class MetricsBuffer {
  private queue: LinePoint[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly o: Required<Omit<MetricsBufferOptions, 'onDrop' | 'fetch'>> &
    Pick<MetricsBufferOptions, 'onDrop'> & { fetch: FetchLike };
  private readonly s: MetricsBufferStats = {
    buffered: 0,
    sent: 0,
    dropped: 0,
    droppedOverflow: 0,
    droppedRejected: 0,
    droppedRetries: 0,
    failedFlushes: 0,
  };

  constructor(opts: MetricsBufferOptions) {
    this.o = {
      maxBatch: 500,
      flushIntervalMs: 5000,
      maxBuffered: 50_000,
      maxRetries: 5,
      retryBaseMs: 500,
      timeoutMs: 15_000,
      ...opts,
      fetch: opts.fetch ?? ((input, init) => fetch(input, init)),
    };
    this.timer = setInterval(() => void this.flush(), this.o.flushIntervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Buffers one sample (numbers/booleans); measurement defaults to `agent_metrics`. */
  record(
    fields: Record<string, number | boolean>,
    opts: { measurement?: string; tags?: Record<string, string>; timestamp?: number } = {},
  ): void {
    if (this.closed) throw new Error('MetricsBuffer is closed');
    this.queue.push({
      measurement: opts.measurement ?? 'agent_metrics',
      tags: { ...opts.tags, agent_id: this.o.agentId },
      fields,
      timestamp: opts.timestamp ?? Date.now(),
    });
    if (this.queue.length > this.o.maxBuffered) {
      const over = this.queue.length - this.o.maxBuffered;
      this.queue.splice(0, over);
      this.drop(over, 'overflow');
    }
    this.s.buffered = this.queue.length;
    if (this.queue.length >= this.o.maxBatch) void this.flush();
  }

  stats(): MetricsBufferStats {
    return { ...this.s, buffered: this.queue.length };
  }

  /** Sends everything buffered now (one request per `maxBatch` points). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.o.maxBatch);
      this.s.buffered = this.queue.length;
      const outcome = await this.send(batch);
      if (outcome === 'ok') this.s.sent += batch.length;
      else if (outcome === 'rejected') this.drop(batch.length, 'rejected');
      else {
        this.drop(batch.length, 'retries_exhausted');
        return;
      }
    }
  }

  private async send(batch: LinePoint[]): Promise<'ok' | 'rejected' | 'failed'> {
    const url = `${this.o.baseUrl.replace(/\/+$/, '')}/api/v2/write?precision=ms`;
    const body = toLineProtocolBody(batch);
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      try {
        const res = await this.o.fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'text/plain; charset=utf-8',
            authorization: `Token ${this.o.apiKey}`,
          },
          body,
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        status = res.status;
        await res.text().catch(() => '');
      } catch {
        // network error or timeout: status stays 0 and the batch is retried
      }
      if (status >= 200 && status < 300) return 'ok';
      if (status >= 400 && status < 500 && status !== 429 && status !== 408) return 'rejected';
      this.s.failedFlushes++;
      if (attempt >= this.o.maxRetries) return 'failed';
      const backoff = Math.min(30_000, this.o.retryBaseMs * 2 ** attempt);
      await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * (backoff / 2)));
    }
  }

  private drop(n: number, reason: 'overflow' | 'rejected' | 'retries_exhausted'): void {
    this.s.dropped += n;
    if (reason === 'overflow') this.s.droppedOverflow += n;
    else if (reason === 'rejected') this.s.droppedRejected += n;
    else this.s.droppedRetries += n;
    this.o.onDrop?.(n, reason);
  }
}
