import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable, Logger } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { formatMetricName } from '@agent-monitor/contracts';
import { parseCanonicalLabels } from './labels.js';
import {
  PARENT_TABLE,
  partitionEnd,
  partitionName,
  partitionStart,
  type StorageLevel,
} from './partitions.js';

/** One validated sample of one series set: the unit the store writes. */
export interface StoreSample {
  agentId: string;
  /** epoch microseconds */
  tsUs: number;
  measurement: string;
  /** canonical label text `k=v,k2=v2` ('' when none) */
  labels: string;
  fields: Array<[string, number]>;
}

/** A stored wide row: its set, timestamp and values aligned to the set's fields. */
export interface StoredRow {
  set: SeriesSet;
  tsUs: number;
  vals: Array<number | null>;
}

interface MissingSet {
  agentId: string;
  measurement: string;
  labels: string;
  fields: Set<string>;
}

export interface SeriesSet {
  id: number;
  /** Query name of each field (`cpu_usage`, `ai_metrics.tokens{model=gpt4}`). */
  names: string[];
  agentId: string;
  measurement: string;
  labels: string;
  fields: string[];
  index: Map<string, number>;
}

interface SeriesRow {
  id: number;
  agent_id: string;
  measurement: string;
  labels: string;
  fields: string[];
}

const setKey = (agentId: string, measurement: string, labels: string) =>
  `${agentId}\u0000${measurement}\u0000${labels}`;

/** `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` for COPY text format. */
export function tsText(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return rest ? `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z` : iso;
}

const MINUTE_US = 60_000_000;

/** µs between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000;
const FLOAT8_OID = 701;
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Rows in PostgreSQL's binary COPY format (int4, timestamptz, float8[]): no number→text→number
 * round trip on either side, which text COPY spends most of its time on.
 */
export function encodeBinaryCopy(rows: StoredRow[]): Buffer {
  let size = COPY_SIGNATURE.length + 8 + 2;
  for (const r of rows) size += 2 + 8 + 12 + 4 + 20 + r.vals.length * 4 + countValues(r.vals) * 8;
  const buf = Buffer.allocUnsafe(size);
  let o = COPY_SIGNATURE.copy(buf, 0);
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // header extension length
  for (const r of rows) {
    const n = r.vals.length;
    const present = countValues(r.vals);
    o = buf.writeInt16BE(3, o);
    o = buf.writeInt32BE(4, o);
    o = buf.writeInt32BE(r.set.id, o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeBigInt64BE(BigInt(r.tsUs - PG_EPOCH_US), o);
    o = buf.writeInt32BE(20 + n * 4 + present * 8, o);
    o = buf.writeInt32BE(1, o); // dimensions
    o = buf.writeInt32BE(present < n ? 1 : 0, o); // has nulls
    o = buf.writeInt32BE(FLOAT8_OID, o);
    o = buf.writeInt32BE(n, o);
    o = buf.writeInt32BE(1, o); // lower bound
    for (let j = 0; j < n; j++) {
      const v = r.vals[j];
      if (v === null) o = buf.writeInt32BE(-1, o);
      else {
        o = buf.writeInt32BE(8, o);
        o = buf.writeDoubleBE(v, o);
      }
    }
  }
  buf.writeInt16BE(-1, o);
  return buf;
}

function countValues(vals: Array<number | null>): number {
  let c = 0;
  for (const v of vals) if (v !== null) c++;
  return c;
}

/**
 * The metrics store's write side: series-set ids cached in memory, partitions created on
 * demand, one wide row per (series set, timestamp) written with COPY in one transaction.
 *
 * Duplicates: the optimistic path COPYs straight into `metric_raw`; a unique violation (a
 * retried batch, or a sample for an already stored timestamp) rolls back to a savepoint and
 * the batch goes through a temp table with `INSERT … ON CONFLICT DO UPDATE` merging field by
 * field (the newer value wins). Both paths commit the rollup dirty markers in the same
 * transaction, so the rollups see exactly what the raw table holds.
 */
@Injectable()
export class MetricStore {
  private readonly logger = new Logger(MetricStore.name);
  private readonly sets = new Map<string, SeriesSet>();
  private readonly byId = new Map<number, SeriesSet>();
  private readonly partitions = new Set<string>();
  private partitionsLoaded = false;

  constructor(private readonly db: DataSource) {}

  get pool(): pg.Pool {
    // TypeORM's postgres driver keeps its pg.Pool as `master`.
    return (this.db.driver as unknown as { master: pg.Pool }).master;
  }

  /**
   * Writes samples (already validated) and returns the stored rows (one per series set and
   * timestamp, duplicates merged) for the caller's post-commit work.
   */
  async write(samples: StoreSample[]): Promise<{ rows: StoredRow[]; values: number }> {
    if (!samples.length) return { rows: [], values: 0 };
    // 1. Series sets and their field lists (one key per sample; the DB only on a miss).
    const setOf = new Array<SeriesSet | undefined>(samples.length);
    let missing: Map<string, MissingSet> | null = null;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const k = setKey(s.agentId, s.measurement, s.labels);
      const set = this.sets.get(k);
      let ok = !!set;
      if (set) for (const [f] of s.fields) if (!set.index.has(f)) ok = false;
      if (ok) {
        setOf[i] = set;
        continue;
      }
      missing ??= new Map();
      let w = missing.get(k);
      if (!w) {
        w = { agentId: s.agentId, measurement: s.measurement, labels: s.labels, fields: new Set() };
        missing.set(k, w);
      }
      for (const [f] of s.fields) w.fields.add(f);
    }
    if (missing) {
      await this.upsertSets([...missing.values()].map((w) => ({ ...w, fields: [...w.fields] })));
      for (let i = 0; i < samples.length; i++) {
        if (setOf[i]) continue;
        const s = samples[i];
        setOf[i] = this.sets.get(setKey(s.agentId, s.measurement, s.labels))!;
      }
    }

    // 2. Wide rows, duplicates within the batch merged (later sample wins per field).
    const byId = new Map<number, Map<number, StoredRow>>();
    const rows: StoredRow[] = [];
    let values = 0;
    const days = new Set<number>();
    const minutes = new Set<number>();
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const set = setOf[i]!;
      let perTs = byId.get(set.id);
      if (!perTs) byId.set(set.id, (perTs = new Map()));
      let row = perTs.get(s.tsUs);
      if (!row) {
        row = { set, tsUs: s.tsUs, vals: new Array<number | null>(set.fields.length).fill(null) };
        perTs.set(s.tsUs, row);
        rows.push(row);
        const minute = Math.floor(s.tsUs / MINUTE_US);
        if (!minutes.has(minute)) {
          minutes.add(minute);
          days.add(partitionStart('raw', minute * 60_000));
        }
      }
      for (const [f, v] of s.fields) {
        const idx = set.index.get(f)!;
        if (row.vals[idx] === null) values++;
        row.vals[idx] = v;
      }
    }
    await this.ensurePartitions('raw', [...days]);

    // 3. One transaction: COPY (or merge on duplicates) + dirty markers.
    const payload = encodeBinaryCopy(rows);
    const dirty = [...minutes].map((m) => new Date(m * 60_000).toISOString());
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SAVEPOINT copy_direct');
      try {
        await this.copy(
          client,
          'COPY metric_raw (series_id, ts, vals) FROM STDIN (FORMAT binary)',
          payload,
        );
      } catch (e) {
        if ((e as { code?: string }).code !== '23505') throw e;
        await client.query('ROLLBACK TO SAVEPOINT copy_direct');
        await client.query(
          `CREATE TEMP TABLE metric_stage (series_id int, ts timestamptz, vals float8[]) ON COMMIT DROP`,
        );
        await this.copy(
          client,
          'COPY metric_stage (series_id, ts, vals) FROM STDIN (FORMAT binary)',
          payload,
        );
        await client.query(
          `INSERT INTO metric_raw AS r (series_id, ts, vals)
             SELECT series_id, ts, vals FROM metric_stage
           ON CONFLICT (series_id, ts) DO UPDATE SET vals = metric_merge_vals(r.vals, EXCLUDED.vals)`,
        );
      }
      await client.query(
        `INSERT INTO metric_rollup_dirty (level, bucket) SELECT '1m', unnest($1::timestamptz[])`,
        [dirty],
      );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    return { rows, values };
  }

  private async copy(client: pg.PoolClient, sql: string, payload: Buffer): Promise<void> {
    const stream = client.query(copyFrom(sql));
    await pipeline(Readable.from([payload]), stream);
  }

  private async upsertSets(
    missing: Array<{ agentId: string; measurement: string; labels: string; fields: string[] }>,
  ): Promise<void> {
    // Sorted so concurrent batches lock rows in the same order (no deadlocks).
    missing.sort((a, b) =>
      setKey(a.agentId, a.measurement, a.labels) < setKey(b.agentId, b.measurement, b.labels)
        ? -1
        : 1,
    );
    const rows = await this.db.query<SeriesRow[]>(
      `INSERT INTO metric_series AS s (agent_id, measurement, labels, fields)
         SELECT x.agent_id, x.measurement, x.labels, x.fields
           FROM json_to_recordset($1::json) AS x(agent_id uuid, measurement text, labels text, fields text[])
       ON CONFLICT (agent_id, measurement, labels) DO UPDATE
         SET fields = s.fields || ARRAY(
           SELECT f FROM unnest(EXCLUDED.fields) WITH ORDINALITY AS u(f, o)
            WHERE NOT (f = ANY (s.fields)) ORDER BY o)
       RETURNING id, agent_id, measurement, labels, fields`,
      [
        JSON.stringify(
          missing.map((m) => ({
            agent_id: m.agentId,
            measurement: m.measurement,
            labels: m.labels,
            fields: m.fields,
          })),
        ),
      ],
    );
    for (const r of rows) this.remember(r);
  }

  private remember(r: SeriesRow): SeriesSet {
    const labels = r.labels ? parseCanonicalLabels(r.labels) : [];
    const set: SeriesSet = {
      id: r.id,
      names: r.fields.map((field) =>
        formatMetricName({ measurement: r.measurement, field, labels }),
      ),
      agentId: r.agent_id,
      measurement: r.measurement,
      labels: r.labels,
      fields: r.fields,
      index: new Map(r.fields.map((f, i) => [f, i])),
    };
    this.sets.set(setKey(r.agent_id, r.measurement, r.labels), set);
    this.byId.set(r.id, set);
    return set;
  }

  /** Series sets of one agent (from the database: another instance may have created some). */
  async setsOfAgent(agentId: string): Promise<SeriesSet[]> {
    const rows = await this.db.query<SeriesRow[]>(
      `SELECT id, agent_id, measurement, labels, fields FROM metric_series WHERE agent_id = $1 ORDER BY id`,
      [agentId],
    );
    return rows.map((r) => this.remember(r));
  }

  /** The set for (agent, measurement, labels), looked up in the database when not cached. */
  async findSet(agentId: string, measurement: string, labels: string): Promise<SeriesSet | null> {
    const hit = this.sets.get(setKey(agentId, measurement, labels));
    if (hit) return hit;
    const rows = await this.db.query<SeriesRow[]>(
      `SELECT id, agent_id, measurement, labels, fields FROM metric_series
        WHERE agent_id = $1 AND measurement = $2 AND labels = $3`,
      [agentId, measurement, labels],
    );
    return rows[0] ? this.remember(rows[0]) : null;
  }

  /** Sets with this measurement and labels across agents (fleet aggregates). */
  async setsByName(measurement: string, labels: string): Promise<SeriesSet[]> {
    const rows = await this.db.query<SeriesRow[]>(
      `SELECT id, agent_id, measurement, labels, fields FROM metric_series
        WHERE measurement = $1 AND labels = $2`,
      [measurement, labels],
    );
    return rows.map((r) => this.remember(r));
  }

  async seriesCount(): Promise<number> {
    const rows = await this.db.query<Array<{ n: string }>>(
      `SELECT coalesce(sum(cardinality(fields)), 0) AS n FROM metric_series`,
    );
    return Number(rows[0].n);
  }

  /** Creates the partitions (of `level`) starting at the given range starts, if missing. */
  async ensurePartitions(level: StorageLevel, starts: number[]): Promise<void> {
    if (!this.partitionsLoaded) await this.loadPartitions();
    const todo = [...new Set(starts.map((s) => partitionStart(level, s)))].filter(
      (s) => !this.partitions.has(partitionName(level, s)),
    );
    if (!todo.length) return;
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      // One creator at a time across instances; IF NOT EXISTS makes losers harmless.
      await runner.query(`SELECT pg_advisory_xact_lock(hashtext('metric_partitions'))`);
      for (const start of todo) {
        const name = partitionName(level, start);
        await runner.query(
          `CREATE TABLE IF NOT EXISTS "${name}" PARTITION OF "${PARENT_TABLE[level]}"
             FOR VALUES FROM ('${new Date(start).toISOString()}') TO ('${new Date(partitionEnd(level, start)).toISOString()}')`,
        );
      }
      await runner.commitTransaction();
      for (const start of todo) this.partitions.add(partitionName(level, start));
    } catch (e) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await runner.release();
    }
  }

  /** Existing partitions of a level: name and range start. */
  async listPartitions(level: StorageLevel): Promise<string[]> {
    const rows = await this.db.query<Array<{ name: string }>>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = $1 ORDER BY c.relname`,
      [PARENT_TABLE[level]],
    );
    return rows.map((r) => r.name);
  }

  async dropPartition(name: string): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS "${name.replace(/"/g, '')}"`);
    this.partitions.delete(name);
  }

  private async loadPartitions(): Promise<void> {
    for (const level of ['raw', '1m', '1h', '1d'] as const) {
      for (const n of await this.listPartitions(level)) this.partitions.add(n);
    }
    this.partitionsLoaded = true;
  }

  /** Forget the partition cache (after retention on another instance dropped some). */
  forgetPartitions(): void {
    this.partitions.clear();
    this.partitionsLoaded = false;
  }

  logWarn(msg: string): void {
    this.logger.warn(msg);
  }
}
