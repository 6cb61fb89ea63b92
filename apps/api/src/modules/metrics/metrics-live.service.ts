import { Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { RealtimePublisher } from '../../common/realtime-publisher.js';

interface Pending {
  values: Record<string, number>;
  atMs: number;
  lastSentAt: number;
  timer: NodeJS.Timeout | null;
}

/** At most one `new_metrics_data` per agent per this many ms. */
export const LIVE_THROTTLE_MS = 1000;

/**
 * Throttled live updates: samples merge into a per-agent pending set of latest values, sent
 * to the agent's room at most once a second (the first at once, the rest on the trailing edge).
 * Also counts ingest for the overview's rate figures.
 */
@Injectable()
export class MetricsLiveService implements OnModuleDestroy {
  private readonly pending = new Map<string, Pending>();
  /** per-second buckets over the last minute: [second, samples, values] */
  private readonly rate: Array<[number, number, number]> = [];

  constructor(@Optional() private readonly realtime?: RealtimePublisher) {}

  onModuleDestroy(): void {
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
  }

  count(samples: number, values: number): void {
    const sec = Math.floor(Date.now() / 1000);
    const last = this.rate[this.rate.length - 1];
    if (last && last[0] === sec) {
      last[1] += samples;
      last[2] += values;
    } else this.rate.push([sec, samples, values]);
    while (this.rate.length && this.rate[0][0] <= sec - 60) this.rate.shift();
  }

  /** Samples and values per second over the last minute on this instance. */
  ratePerSec(): { samples: number; values: number } {
    const since = Math.floor(Date.now() / 1000) - 60;
    let s = 0;
    let v = 0;
    for (const [sec, a, b] of this.rate) {
      if (sec > since) {
        s += a;
        v += b;
      }
    }
    return { samples: s / 60, values: v / 60 };
  }

  push(agentId: string, atMs: number, values: Record<string, number>): void {
    if (!this.realtime) return;
    let p = this.pending.get(agentId);
    if (!p) {
      p = { values: {}, atMs: 0, lastSentAt: 0, timer: null };
      this.pending.set(agentId, p);
    }
    Object.assign(p.values, values);
    if (atMs > p.atMs) p.atMs = atMs;
    if (p.timer) return;
    const wait = p.lastSentAt + LIVE_THROTTLE_MS - Date.now();
    if (wait <= 0) this.flush(agentId);
    else {
      p.timer = setTimeout(() => this.flush(agentId), wait);
      p.timer.unref();
    }
  }

  private flush(agentId: string): void {
    const p = this.pending.get(agentId);
    if (!p || !this.realtime) return;
    p.timer = null;
    if (!Object.keys(p.values).length) return;
    this.realtime.publish(
      'new_metrics_data',
      { agentId, at: new Date(p.atMs).toISOString(), values: p.values },
      { agentId },
    );
    p.lastSentAt = Date.now();
    p.values = {};
    if (this.pending.size > 50_000) this.pending.clear();
  }
}
