/**
 * HTTP figures for one system health interval: request and 5xx counts, mean and p95 latency.
 * A bounded reservoir (uniform sampling) keeps memory constant however busy the interval.
 */
export interface RequestWindowFigures {
  requests: number;
  serverErrors: number;
  clientErrors: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

const RESERVOIR = 2048;

export class RequestWindow {
  private count = 0;
  private serverErrors = 0;
  private clientErrors = 0;
  private sumMs = 0;
  private readonly sample: number[] = [];

  record(latencyMs: number, status: number): void {
    this.count++;
    this.sumMs += latencyMs;
    if (status >= 500) this.serverErrors++;
    else if (status >= 400) this.clientErrors++;
    if (this.sample.length < RESERVOIR) this.sample.push(latencyMs);
    else {
      const i = Math.floor(Math.random() * this.count);
      if (i < RESERVOIR) this.sample[i] = latencyMs;
    }
  }

  /** The figures since the last call, and a fresh window. */
  take(): RequestWindowFigures {
    const figures = this.peek();
    this.count = 0;
    this.serverErrors = 0;
    this.clientErrors = 0;
    this.sumMs = 0;
    this.sample.length = 0;
    return figures;
  }

  /** The figures so far in this window. */
  peek(): RequestWindowFigures {
    const sorted = this.sample.slice().sort((a, b) => a - b);
    const figures: RequestWindowFigures = {
      requests: this.count,
      serverErrors: this.serverErrors,
      clientErrors: this.clientErrors,
      avgLatencyMs: this.count ? round(this.sumMs / this.count) : null,
      p95LatencyMs: sorted.length
        ? round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))])
        : null,
    };
    return figures;
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
