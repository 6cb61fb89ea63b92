import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { createClient, type RedisClientType } from 'redis';
import { DataSource } from 'typeorm';
import { formatMetricName, type LatestMetrics } from '@agent-monitor/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { LatestMetricsProvider } from '../agents/latest-metrics.provider.js';
import { parseCanonicalLabels } from './labels.js';
import { RAW_CHUNK_MS } from './partitions.js';

export { parseCanonicalLabels };

interface Entry {
  atMs: number;
  values: Record<string, number>;
  /** ms of each value's sample, so an older late sample never replaces a newer value */
  stamps: Record<string, number>;
}

const REDIS_TTL_SEC = 7 * 86_400;
const MISS_TTL_MS = 30_000;

/**
 * Latest value per query name for each agent, kept hot in memory and (with REDIS_URL) in a
 * Redis hash per agent so every instance and a restarted one answer without touching the
 * history tables. A cold agent is filled once from its newest raw rows.
 */
@Injectable()
export class LatestMetricsCache
  extends LatestMetricsProvider
  implements OnModuleInit, OnModuleDestroy
{
  private readonly logger = new Logger('LatestMetrics');
  private readonly memory = new Map<string, Entry>();
  private readonly misses = new Map<string, number>();
  private redis: RedisClientType | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
  ) {
    super();
  }

  onModuleInit(): void {
    if (!this.config.REDIS_URL) return;
    const client: RedisClientType = createClient({
      url: this.config.REDIS_URL,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
      },
    });
    client.on('error', () => undefined);
    this.redis = client;
    client.connect().catch((e: unknown) => this.logger.warn(`Redis unavailable: ${String(e)}`));
  }

  async onModuleDestroy(): Promise<void> {
    const r = this.redis;
    this.redis = null;
    if (r) {
      try {
        if (r.isOpen) await r.close();
        else r.destroy();
      } catch {
        r.destroy();
      }
    }
  }

  /**
   * Records stored values (after commit): `values[name]` sampled at `stamps[name]` (epoch ms).
   * An older late value never replaces a newer one.
   */
  update(agentId: string, values: Record<string, number>, stamps: Record<string, number>): void {
    let e = this.memory.get(agentId);
    if (!e) {
      e = { atMs: 0, values: {}, stamps: {} };
      this.memory.set(agentId, e);
      this.misses.delete(agentId);
    }
    const r = this.redis;
    const changed: Record<string, string> | null = r?.isReady ? {} : null;
    let any = false;
    for (const k in values) {
      const ts = stamps[k];
      if ((e.stamps[k] ?? -Infinity) <= ts) {
        e.values[k] = values[k];
        e.stamps[k] = ts;
        if (ts > e.atMs) e.atMs = ts;
        if (changed) changed[k] = String(values[k]);
        any = true;
      }
    }
    if (r && changed && any) {
      const key = `am:metrics:latest:${agentId}`;
      r.multi()
        .hSet(key, { ...changed, '@at': String(e.atMs) })
        .expire(key, REDIS_TTL_SEC)
        .exec()
        .catch(() => undefined);
    }
  }

  forget(agentId: string): void {
    this.memory.delete(agentId);
    void this.redis?.del(`am:metrics:latest:${agentId}`).catch(() => undefined);
  }

  async get(agentId: string): Promise<LatestMetrics> {
    const m = await this.latestWithTime([agentId]);
    const e = m.get(agentId);
    return e ? { at: new Date(e.atMs).toISOString(), values: e.values } : { at: null, values: {} };
  }

  async latestFor(agentIds: string[]): Promise<Map<string, Record<string, number>>> {
    const m = await this.latestWithTime(agentIds);
    return new Map([...m].map(([id, e]) => [id, e.values]));
  }

  async latestWithTime(agentIds: string[]): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>();
    const cold: string[] = [];
    const now = Date.now();
    for (const id of agentIds) {
      const e = this.memory.get(id);
      if (e) out.set(id, e);
      else if ((this.misses.get(id) ?? 0) < now) cold.push(id);
    }
    if (!cold.length) return out;
    let still = cold;
    const r = this.redis;
    if (r?.isReady) {
      try {
        const hashes = await Promise.all(cold.map((id) => r.hGetAll(`am:metrics:latest:${id}`)));
        still = [];
        cold.forEach((id, i) => {
          const h = hashes[i] as Record<string, string>;
          if (!h || !h['@at']) return still.push(id);
          const atMs = Number(h['@at']);
          const values: Record<string, number> = {};
          const stamps: Record<string, number> = {};
          for (const [k, v] of Object.entries(h)) {
            if (k === '@at') continue;
            values[k] = Number(v);
            stamps[k] = atMs;
          }
          const e = { atMs, values, stamps };
          this.memory.set(id, e);
          out.set(id, e);
        });
      } catch {
        still = cold;
      }
    }
    if (still.length) {
      for (const [id, e] of await this.fromDatabase(still)) {
        this.memory.set(id, e);
        out.set(id, e);
      }
      for (const id of still) if (!out.has(id)) this.misses.set(id, now + MISS_TTL_MS);
      if (this.misses.size > 100_000) this.misses.clear();
    }
    return out;
  }

  /** Newest raw sample per series set of each agent, within the raw retention. */
  private async fromDatabase(agentIds: string[]): Promise<Map<string, Entry>> {
    // The newest timestamp lies in a chunk starting at most one chunk span before the newest
    // chunk start; metric_raw_values() resolves duplicates (the newest write wins).
    const rows = await this.db.query<
      Array<{
        agent_id: string;
        measurement: string;
        labels: string;
        fields: string[];
        ts: Date;
        f: number;
        v: number;
      }>
    >(
      `SELECT s.agent_id, s.measurement, s.labels, s.fields, r.ts, r.f, r.v
         FROM metric_series s
         CROSS JOIN LATERAL (
           SELECT max(t0) AS t0 FROM metric_raw
            WHERE series_id = s.id AND t0 > now() - make_interval(secs => $2::float8 / 1000)) m
         CROSS JOIN LATERAL (
           SELECT x.ts, x.f, x.v FROM (
             SELECT v.ts, v.f, v.v, max(v.ts) OVER () AS newest
               FROM metric_raw_values(ARRAY[s.id], m.t0 - make_interval(secs => $3), 'infinity') v
           ) x WHERE x.ts = x.newest) r
        WHERE s.agent_id = ANY($1::uuid[])`,
      [agentIds, this.config.RETENTION_RAW, RAW_CHUNK_MS / 1000],
    );
    const out = new Map<string, Entry>();
    for (const r of rows) {
      let e = out.get(r.agent_id);
      if (!e) out.set(r.agent_id, (e = { atMs: 0, values: {}, stamps: {} }));
      const at = r.ts.getTime();
      if (at > e.atMs) e.atMs = at;
      const field = r.fields[r.f - 1];
      if (field === undefined || r.v === null) continue;
      const labels = r.labels ? parseCanonicalLabels(r.labels) : [];
      const name = formatMetricName({ measurement: r.measurement, field, labels });
      e.values[name] = Number(r.v);
      e.stamps[name] = at;
    }
    return out;
  }
}
