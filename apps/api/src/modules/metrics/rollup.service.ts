import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricStore } from './metric-store.service.js';
import { BUCKET_MS, partitionEnd, parsePartitionName, type StorageLevel } from './partitions.js';

/** Session advisory-lock key of the metrics maintenance leader. */
const LEADER_LOCK = 774_201_001;
const UPKEEP_EVERY_MS = 3_600_000;
/** Buckets recomputed per statement (bounds memory and lock time per slice). */
const CHUNK_BUCKETS = 30;
const DAY = 86_400_000;

type RollupLevel = '1m' | '1h' | '1d';
const SOURCE: Record<RollupLevel, string> = {
  '1m': 'metric_raw',
  '1h': 'metric_rollup_1m',
  '1d': 'metric_rollup_1h',
};
const NEXT: Record<RollupLevel, RollupLevel | null> = { '1m': '1h', '1h': '1d', '1d': null };
const TRUNC: Record<RollupLevel, string> = { '1m': 'minute', '1h': 'hour', '1d': 'day' };

const UPSERT_TAIL = `ON CONFLICT (series_id, field, bucket) DO UPDATE SET
  cnt = EXCLUDED.cnt, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
  last = EXCLUDED.last, last_ts = EXCLUDED.last_ts, hk = EXCLUDED.hk, hc = EXCLUDED.hc`;

/** Merges sorted bucket starts into contiguous [from, to) ranges. */
export function toRanges(starts: number[], width: number): Array<[number, number]> {
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === s) last[1] = s + width;
    else out.push([s, s + width]);
  }
  return out;
}

/** A rollup run stopped between slices because the app is shutting down. */
class RollupInterrupted extends Error {
  constructor() {
    super('rollup interrupted by shutdown');
  }
}

/**
 * Rollups, partition upkeep and retention, run in-process on a timer by whichever instance
 * holds a PostgreSQL advisory lock (the leader).
 *
 * Why not pg-boss: the durable record of what to do is the `metric_rollup_dirty` markers the
 * ingest transaction commits with the data; a run recomputes whole buckets from their source
 * and upserts them, so it is idempotent and a crash or a second run only repeats work. A queue
 * would add a second copy of that state and per-job overhead on a 10-second cadence.
 *
 * 1m buckets are recomputed from raw, 1h from 1m, 1d from 1h; each level marks the next one's
 * buckets dirty in the same transaction. Retention drops whole partitions whose range ended
 * before now − retention.
 */
@Injectable()
export class RollupService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MetricsRollup');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastUpkeep = 0;
  private stopped = false;
  /** Backend pid of the connection running rollups (cancelled at shutdown). */
  private activePid: number | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly store: MetricStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.METRICS_ROLLUP_INTERVAL;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A slice of a large backlog can run for seconds: cancel it rather than hold the
    // shutdown (its transaction rolls back, the dirty markers stay for the next run).
    if (this.running && this.activePid !== null) {
      await this.db.query(`SELECT pg_cancel_backend($1)`, [this.activePid]).catch(() => undefined);
    }
    await this.running?.catch(() => undefined);
  }

  /** One scheduled run; errors are logged, the next tick retries. */
  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((e: unknown) => {
        if (!(e instanceof RollupInterrupted) && !this.stopped)
          this.logger.error(`metrics maintenance failed: ${String(e)}`);
      })
      .finally(() => (this.running = null));
    await this.running;
  }

  /**
   * Rolls up everything marked dirty (and, at most hourly or when forced, creates partitions
   * ahead and applies retention). Returns false when another instance is the leader.
   */
  async runOnce(opts: { upkeep?: boolean; now?: number } = {}): Promise<boolean> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ ok, pid }] = (await runner.query(
        `SELECT pg_try_advisory_lock($1) AS ok, pg_backend_pid() AS pid`,
        [LEADER_LOCK],
      )) as Array<{ ok: boolean; pid: number }>;
      this.activePid = pid;
      if (!ok) return false;
      try {
        const now = opts.now ?? Date.now();
        if (opts.upkeep || now - this.lastUpkeep >= UPKEEP_EVERY_MS) {
          await this.createAhead(now);
          await this.applyRetention(now);
          this.lastUpkeep = now;
        }
        for (const level of ['1m', '1h', '1d'] as const) await this.rollup(runner, level);
        return true;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [LEADER_LOCK]);
      }
    } finally {
      this.activePid = null;
      await runner.release();
    }
  }

  private async rollup(runner: QueryRunner, level: RollupLevel): Promise<void> {
    await runner.startTransaction();
    try {
      const rows = (await runner.query(
        `DELETE FROM metric_rollup_dirty WHERE level = $1 RETURNING bucket`,
        [level],
      )) as [Array<{ bucket: Date }>, number] | Array<{ bucket: Date }>;
      const list = (Array.isArray(rows[0]) ? rows[0] : rows) as Array<{ bucket: Date }>;
      const width = BUCKET_MS[level];
      const starts = list.map((r) => Math.floor(r.bucket.getTime() / width) * width);
      if (!starts.length) {
        await runner.commitTransaction();
        return;
      }
      await this.store.ensurePartitions(level, starts);
      // A backlog (a bulk import, a restart) is done in bounded slices, without the pool's
      // statement timeout: one slice of 1m buckets reads at most CHUNK_BUCKETS minutes of raw.
      await runner.query(`SET LOCAL statement_timeout = 0`);
      for (const [from, to] of toRanges(starts, width)) {
        for (let a = from; a < to; a += CHUNK_BUCKETS * width) {
          // Shutting down: roll back (the dirty markers stay for the next run) instead of
          // holding the shutdown until a large backlog is done.
          if (this.stopped) throw new RollupInterrupted();
          const b = Math.min(to, a + CHUNK_BUCKETS * width);
          await runner.query(this.rollupSql(level), [new Date(a), new Date(b)]);
        }
      }
      const next = NEXT[level];
      if (next) {
        const nw = BUCKET_MS[next];
        const nexts = [...new Set(starts.map((s) => Math.floor(s / nw) * nw))];
        await runner.query(
          `INSERT INTO metric_rollup_dirty (level, bucket) SELECT $1, unnest($2::timestamptz[])`,
          [next, nexts.map((n) => new Date(n))],
        );
      }
      await runner.commitTransaction();
    } catch (e) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw e;
    }
  }

  private rollupSql(level: RollupLevel): string {
    const unit = TRUNC[level];
    const target = `metric_rollup_${level}`;
    if (level === '1m') {
      return `INSERT INTO ${target} (series_id, field, bucket, cnt, sum, min, max, last, last_ts, hk, hc)
        SELECT series_id, field, bucket, sum(c), sum(s), min(mn), max(mx),
               (array_agg(l ORDER BY lt DESC))[1], max(lt), array_agg(k ORDER BY k), array_agg(c::int ORDER BY k)
          FROM (
            SELECT r.series_id, (u.i - 1)::smallint AS field, date_trunc('minute', r.ts, 'UTC') AS bucket,
                   metric_hkey(u.v) AS k, count(*) AS c, sum(u.v) AS s, min(u.v) AS mn, max(u.v) AS mx,
                   (array_agg(u.v ORDER BY r.ts DESC))[1] AS l, max(r.ts) AS lt
              FROM metric_raw r CROSS JOIN LATERAL unnest(r.vals) WITH ORDINALITY AS u(v, i)
             WHERE r.ts >= $1 AND r.ts < $2 AND u.v IS NOT NULL
             GROUP BY 1, 2, 3, 4) g
         GROUP BY series_id, field, bucket
        ${UPSERT_TAIL}`;
    }
    const src = SOURCE[level];
    return `WITH base AS (
        SELECT * FROM ${src} WHERE bucket >= $1 AND bucket < $2
      ), h AS (
        SELECT series_id, field, date_trunc('${unit}', bucket, 'UTC') AS b, u.k, sum(u.c)::int AS c
          FROM base CROSS JOIN LATERAL unnest(hk, hc) AS u(k, c) GROUP BY 1, 2, 3, 4
      ), ha AS (
        SELECT series_id, field, b, array_agg(k ORDER BY k) AS hk, array_agg(c ORDER BY k) AS hc
          FROM h GROUP BY 1, 2, 3
      ), s AS (
        SELECT series_id, field, date_trunc('${unit}', bucket, 'UTC') AS b, sum(cnt) AS cnt, sum(sum) AS sum,
               min(min) AS min, max(max) AS max, (array_agg(last ORDER BY last_ts DESC))[1] AS last,
               max(last_ts) AS last_ts
          FROM base GROUP BY 1, 2, 3
      )
      INSERT INTO ${target} (series_id, field, bucket, cnt, sum, min, max, last, last_ts, hk, hc)
      SELECT s.series_id, s.field, s.b, s.cnt, s.sum, s.min, s.max, s.last, s.last_ts, ha.hk, ha.hc
        FROM s JOIN ha USING (series_id, field, b)
      ${UPSERT_TAIL}`;
  }

  /** Partitions for today and the next days (raw, 1m), this and next month (1h), year (1d). */
  async createAhead(now = Date.now()): Promise<void> {
    const days = [0, 1, 2, 3].map((d) => now + d * DAY);
    await this.store.ensurePartitions('raw', days);
    await this.store.ensurePartitions('1m', days);
    await this.store.ensurePartitions('1h', [now, now + 32 * DAY]);
    await this.store.ensurePartitions('1d', [now, now + 366 * DAY]);
  }

  /** Drops partitions whose whole range is older than the level's retention. */
  async applyRetention(now = Date.now()): Promise<string[]> {
    const keep: Record<StorageLevel, number | null> = {
      raw: this.config.RETENTION_RAW,
      '1m': this.config.RETENTION_1M,
      '1h': this.config.RETENTION_1H,
      '1d': this.config.RETENTION_1D,
    };
    const dropped: string[] = [];
    for (const level of ['raw', '1m', '1h', '1d'] as const) {
      const k = keep[level];
      if (k === null) continue;
      for (const name of await this.store.listPartitions(level)) {
        const start = parsePartitionName(level, name);
        if (start === null) continue;
        if (partitionEnd(level, start) <= now - k) {
          await this.store.dropPartition(name);
          dropped.push(name);
        }
      }
    }
    if (dropped.length) this.logger.log(`retention dropped ${dropped.join(', ')}`);
    return dropped;
  }
}
