import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { IngestGate } from '../rate-limit/ingest-gate.service.js';
import { copyIn, MetricStore } from './metric-store.service.js';
import {
  BUCKET_MS,
  partitionEnd,
  parsePartitionName,
  RAW_CHUNK_MS,
  type StorageLevel,
} from './partitions.js';
import { compactWindow, type CompactResult } from './raw-compactor.js';
import { RollupFolder } from './rollup-compute.js';

/** Session advisory-lock key of the metrics maintenance leader. */
const LEADER_LOCK = 774_201_001;
const UPKEEP_EVERY_MS = 3_600_000;
/** A scheduled run measures the write load over this long first… */
const PROBE_MS = 250;
/** (a probe older than this is from an earlier run and starts over) */
const PROBE_STALE_MS = 2_000;
/** …and waits while batches were being written for more than this share of it… */
const BUSY_SHARE = 0.5;
/** …but never longer than this. */
const MAX_DEFER_MS = 30_000;
/** Windows taken off the compaction queue per run at most… */
const COMPACT_WINDOWS_PER_RUN = 256;
/** …and how long a run goes on compacting them (the rest go back on the queue). */
const COMPACT_BUDGET_MS = 2000;
/** Buckets recomputed per slice (bounds memory and lock time per slice). */
const CHUNK_BUCKETS: Record<RollupLevel, number> = { '1m': 15, '1h': 24, '1d': 31 };
const DAY = 86_400_000;

type RollupLevel = '1m' | '1h' | '1d';
const SOURCE: Record<RollupLevel, string> = {
  '1m': 'metric_raw',
  '1h': 'metric_rollup_1m',
  '1d': 'metric_rollup_1h',
};
const NEXT: Record<RollupLevel, RollupLevel | null> = { '1m': '1h', '1h': '1d', '1d': null };
const ROLLUP_COLUMNS = 'series_id, field, bucket, cnt, sum, min, max, last, last_ts, hk, hc';

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

/** Puts raw windows (start, ms) on the compaction queue. */
async function queueCompaction(client: pg.PoolClient, windows: number[]): Promise<void> {
  await client.query(
    `INSERT INTO metric_raw_compact (window_start) SELECT unnest($1::timestamptz[])
     ON CONFLICT DO NOTHING`,
    [windows.map((w) => new Date(w))],
  );
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
 * and replaces them, so it is idempotent and a crash or a second run only repeats work. A queue
 * would add a second copy of that state and per-job overhead on a 10-second cadence.
 *
 * 1m buckets are recomputed from raw, 1h from 1m, 1d from 1h; each level marks the next one's
 * buckets dirty in the same transaction. The folding itself happens here (RollupFolder), not in
 * SQL: PostgreSQL only streams sorted rows out and takes the result in, both as binary COPY.
 * Aggregating in SQL (GROUP BY per histogram key, then an upsert) cost ~10 µs of PostgreSQL
 * CPU per value, ten times the ingest itself. Retention drops whole partitions whose range ended
 * before now − retention.
 */
@Injectable()
export class RollupService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MetricsRollup');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastUpkeep = 0;
  private stopped = false;
  /** A deferred run's retry, and since when runs have been deferred. */
  private retry: NodeJS.Timeout | null = null;
  private deferredSince: number | null = null;
  /** Busy time of the writes when the run was last looked at. */
  private probe: { at: number; busy: number } | null = null;
  /** Backend pid of the connection running rollups (cancelled at shutdown). */
  private activePid: number | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly store: MetricStore,
    private readonly gate: IngestGate,
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
    if (this.retry) clearTimeout(this.retry);
    // A slice of a large backlog can run for seconds: cancel it rather than hold the
    // shutdown (its transaction rolls back, the dirty markers stay for the next run).
    if (this.running && this.activePid !== null) {
      await this.db.query(`SELECT pg_cancel_backend($1)`, [this.activePid]).catch(() => undefined);
    }
    await this.running?.catch(() => undefined);
  }

  /**
   * One scheduled run; errors are logged, the next tick retries. A run first looks at how busy
   * this instance's metric ingest is (the share of the last PROBE_MS with an ingest request
   * working, IngestGate). Above BUSY_SHARE it waits, for at most MAX_DEFER_MS: rollups are background work,
   * and under a write burst the same buckets would otherwise be recomputed again and again while
   * the writers wait for CPU. An ordinary fleet's writes keep the share far below that.
   */
  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    const now = Date.now();
    const busy = this.gate.busyMs(now);
    const probe = this.probe;
    // A probe covers at least PROBE_MS (the timer's own ticks may come sooner); one older than
    // PROBE_STALE_MS is from an earlier run and starts over.
    if (!probe || now - probe.at > PROBE_STALE_MS) {
      this.probe = { at: now, busy };
      this.retryIn(PROBE_MS);
      return;
    }
    if (now - probe.at < PROBE_MS) {
      this.retryIn(PROBE_MS - (now - probe.at));
      return;
    }
    this.probe = { at: now, busy };
    if ((busy - probe.busy) / (now - probe.at) > BUSY_SHARE) {
      this.deferredSince ??= now;
      if (now - this.deferredSince < MAX_DEFER_MS) {
        this.retryIn(PROBE_MS);
        return;
      }
    }
    this.probe = null;
    this.deferredSince = null;
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((e: unknown) => {
        if (!(e instanceof RollupInterrupted) && !this.stopped)
          this.logger.error(`metrics maintenance failed: ${String(e)}`);
      })
      .finally(() => (this.running = null));
    await this.running;
  }

  private retryIn(ms: number): void {
    this.retry ??= setTimeout(() => {
      this.retry = null;
      void this.tick();
    }, ms).unref();
  }

  /**
   * Rolls up everything marked dirty (and, at most hourly or when forced, creates partitions
   * ahead and applies retention). Returns false when another instance is the leader.
   */
  async runOnce(opts: { upkeep?: boolean; now?: number } = {}): Promise<boolean> {
    const client = await this.store.pool.connect();
    let broken = false;
    try {
      const {
        rows: [{ ok, pid }],
      } = await client.query<{ ok: boolean; pid: number }>(
        `SELECT pg_try_advisory_lock($1) AS ok, pg_backend_pid() AS pid`,
        [LEADER_LOCK],
      );
      this.activePid = pid;
      if (!ok) return false;
      try {
        const now = opts.now ?? Date.now();
        if (opts.upkeep || now - this.lastUpkeep >= UPKEEP_EVERY_MS) {
          await this.createAhead(now);
          await this.applyRetention(now);
          this.lastUpkeep = now;
        }
        for (const level of ['1m', '1h', '1d'] as const) await this.rollup(client, level);
        await this.compact(client, now);
        return true;
      } finally {
        await client.query(`SELECT pg_advisory_unlock($1)`, [LEADER_LOCK]).catch(() => {
          // A dead connection holds no lock; do not hand it back to the pool.
          broken = true;
        });
      }
    } finally {
      this.activePid = null;
      client.release(broken || undefined);
    }
  }

  private async rollup(client: pg.PoolClient, level: RollupLevel): Promise<void> {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ bucket: Date }>(
        `DELETE FROM metric_rollup_dirty WHERE level = $1 RETURNING bucket`,
        [level],
      );
      const width = BUCKET_MS[level];
      const starts = rows.map((r) => Math.floor(r.bucket.getTime() / width) * width);
      if (!starts.length) {
        await client.query('COMMIT');
        return;
      }
      await this.store.ensurePartitions(level, starts);
      // A backlog (a bulk import, a restart) is done in bounded slices, without the pool's
      // statement timeout: one slice of 1m buckets reads at most CHUNK_BUCKETS minutes of raw.
      await client.query(`SET LOCAL statement_timeout = 0`);
      for (const [from, to] of toRanges(starts, width)) {
        for (let a = from; a < to; a += CHUNK_BUCKETS[level] * width) {
          // Shutting down: roll back (the dirty markers stay for the next run) instead of
          // holding the shutdown until a large backlog is done.
          if (this.stopped) throw new RollupInterrupted();
          await this.recompute(client, level, a, Math.min(to, a + CHUNK_BUCKETS[level] * width));
        }
      }
      if (level === '1m') {
        // The raw windows written to: compacted once they are quiet (compact()).
        await queueCompaction(client, [
          ...new Set(starts.map((s) => Math.floor(s / RAW_CHUNK_MS) * RAW_CHUNK_MS)),
        ]);
      }
      const next = NEXT[level];
      if (next) {
        const nw = BUCKET_MS[next];
        const nexts = [...new Set(starts.map((s) => Math.floor(s / nw) * nw))];
        await client.query(
          `INSERT INTO metric_rollup_dirty (level, bucket) SELECT $1, unnest($2::timestamptz[])`,
          [next, nexts.map((n) => new Date(n))],
        );
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /**
   * Recomputes the buckets of `level` in [from, to) from the level below: its rows stream out
   * sorted by series (binary COPY), are folded here, and replace the buckets' rows. Rerunning
   * gives the same rows, so a crash between runs only repeats work.
   */
  private async recompute(
    client: pg.PoolClient,
    level: RollupLevel,
    from: number,
    to: number,
  ): Promise<void> {
    const range = (col: string) =>
      `${col} >= '${new Date(from).toISOString()}' AND ${col} < '${new Date(to).toISOString()}'`;
    const folder = new RollupFolder(level === '1m' ? 'raw' : 'rollup', BUCKET_MS[level], [
      from,
      to,
    ]);
    const source =
      level === '1m'
        ? // series by series down the (series_id, t0) index: already in the order folded; the
          // folder keeps the timestamps in [from, to) of the chunks that may hold some
          `SELECT s.id, r.ts, r.vals, r.xid FROM metric_series s
             CROSS JOIN LATERAL (SELECT ts, vals, xid FROM metric_raw
                                  WHERE series_id = s.id
                                    AND t0 > '${new Date(from - RAW_CHUNK_MS).toISOString()}'
                                    AND t0 < '${new Date(to).toISOString()}' ORDER BY t0) r
            ORDER BY s.id`
        : `SELECT ${ROLLUP_COLUMNS} FROM ${SOURCE[level]} WHERE ${range('bucket')}
            ORDER BY series_id, field, bucket`;
    const out = client.query(copyTo(`COPY (${source}) TO STDOUT (FORMAT binary)`));
    for await (const chunk of out) folder.push(chunk as Buffer);
    const payload = folder.finish();
    const target = `metric_rollup_${level}`;
    await client.query(`DELETE FROM ${target} WHERE ${range('bucket')}`);
    if (payload) {
      await copyIn(
        client,
        `COPY ${target} (${ROLLUP_COLUMNS}) FROM STDIN (FORMAT binary)`,
        payload,
      );
    }
  }

  /**
   * Compacts (compactWindow) the queued raw windows that ended at least METRICS_COMPACT_AFTER
   * ago (late samples are rare by then), oldest first. A window taken off the queue and not
   * finished goes back on it.
   */
  private async compact(client: pg.PoolClient, now: number): Promise<void> {
    const { rows } = await client.query<{ window_start: Date }>(
      `DELETE FROM metric_raw_compact WHERE window_start IN (
         SELECT window_start FROM metric_raw_compact WHERE window_start < $1
          ORDER BY window_start LIMIT ${COMPACT_WINDOWS_PER_RUN})
       RETURNING window_start`,
      [new Date(now - RAW_CHUNK_MS - this.config.METRICS_COMPACT_AFTER)],
    );
    const windows = rows.map((r) => r.window_start.getTime()).sort((a, b) => a - b);
    const requeue = (from: number) => queueCompaction(client, windows.slice(from));
    const started = Date.now();
    for (let i = 0; i < windows.length; i++) {
      if (Date.now() - started > COMPACT_BUDGET_MS) {
        await requeue(i);
        return;
      }
      let r: CompactResult;
      try {
        r = await compactWindow(client, windows[i], () => this.stopped);
      } catch (e) {
        await requeue(i).catch(() => undefined);
        throw e;
      }
      if (r.series) {
        this.logger.debug(
          `compacted ${new Date(windows[i]).toISOString()}: ${r.chunksBefore} chunks of ${r.series} series → ${r.series}`,
        );
      }
      if (!r.done) {
        await requeue(i);
        return;
      }
    }
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
