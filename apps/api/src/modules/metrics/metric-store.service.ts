import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { formatMetricName } from '@agent-monitor/contracts';
import type { IngestedBatch } from '../../common/events.js';
import { parseCanonicalLabels } from './labels.js';
import {
  PARENT_TABLE,
  partitionEnd,
  partitionName,
  partitionStart,
  RAW_CHUNK_MS,
  type StorageLevel,
} from './partitions.js';
import {
  arrayHeader,
  COPY_SIGNATURE,
  FLOAT8_OID,
  PG_EPOCH_US,
  setInt64,
  TIMESTAMPTZ_OID,
  writeFloat8Elements,
} from './raw-chunks.js';
import type { SampleBatch } from './sample-columns.js';

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
  /** Replaced in the cache by a newer copy (more fields): memos holding it are out of date. */
  stale?: boolean;
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

/** Per batch series, which columns hold at least one value in this batch. */
function usedColumns(b: SampleBatch): Uint8Array[] {
  const used = b.series.map((x) => new Uint8Array(x.fields.length));
  for (let r = 0; r < b.rows; r++) {
    const u = used[b.rowSeries[r]];
    for (let j = b.rowOffset[r], c = 0; j < b.rowOffset[r + 1]; j++, c++) {
      if (b.vals[j] === b.vals[j]) u[c] = 1;
    }
  }
  return used;
}

/** Runs `sql` (ending in `COPY … FROM STDIN`) on `client`, sending `payload` as its data. */
export async function copyIn(
  client: pg.PoolClient,
  sql: string,
  payload: Buffer | Buffer[],
): Promise<void> {
  await pipeline(
    Readable.from(Array.isArray(payload) ? payload : [payload]),
    client.query(copyFrom(sql)),
  );
}

/** Optional per-phase stopwatch of one request. */
export interface PhaseTimer {
  lap(phase: string): void;
}

const MINUTE_US = 60_000_000;
/** Series sets read into the cache at start. */
const WARM_SETS = 50_000;

/** Bytes of one chunk row besides its array elements: field count, int4 series id, timestamptz
 * t0, and two arrays (length word + header: ndim, has-null, oid, size, lower bound). */
const CHUNK_FIXED = 2 + 8 + 12 + 2 * (4 + 20);

/** Writes a timestamp (µs since the Unix epoch) as PostgreSQL's int64 µs since 2000. */
function setTimestamp(dv: DataView, o: number, us: number): void {
  setInt64(dv, o, us - PG_EPOCH_US);
}

/**
 * `metric_raw` chunk rows in PostgreSQL's binary COPY format (series_id int4, t0 timestamptz,
 * ts timestamptz[], vals float8[] with NULL for NaN cells), written straight into one Buffer.
 * `order` lists the rows grouped by set, ascending in time within a set; a chunk holds the
 * consecutive rows of one set in one window of `windowUs` (see RAW_CHUNK_MS).
 */
export function encodeChunkCopy(
  order: Int32Array,
  rowSet: Int32Array,
  setIds: Int32Array,
  rowTs: Float64Array,
  rowOffset: Int32Array,
  vals: Float64Array,
  values: number,
  windowUs: number,
): Buffer {
  const n = order.length;
  const chunkEnd = (k: number): number => {
    const r = order[k];
    const set = rowSet[r];
    const win = Math.floor(rowTs[r] / windowUs);
    let e = k + 1;
    while (e < n && rowSet[order[e]] === set && Math.floor(rowTs[order[e]] / windowUs) === win) e++;
    return e;
  };
  let size = COPY_SIGNATURE.length + 8 + 2 + values * 8;
  for (let k = 0; k < n;) {
    const e = chunkEnd(k);
    size += CHUNK_FIXED + (e - k) * 12;
    for (let j = k; j < e; j++) size += (rowOffset[order[j] + 1] - rowOffset[order[j]]) * 4;
    k = e;
  }
  const buf = Buffer.allocUnsafe(size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = COPY_SIGNATURE.copy(buf, 0);
  dv.setInt32(o, 0); // flags
  dv.setInt32(o + 4, 0); // header extension length
  o += 8;
  for (let k = 0; k < n;) {
    const e = chunkEnd(k);
    const rows = e - k;
    const first = order[k];
    const w = rowOffset[first + 1] - rowOffset[first];
    dv.setInt16(o, 4);
    dv.setInt32(o + 2, 4);
    dv.setInt32(o + 6, setIds[rowSet[first]]);
    dv.setInt32(o + 10, 8);
    setTimestamp(dv, o + 14, rowTs[first]);
    o += 22;
    arrayHeader(dv, o, 20 + rows * 12, false, TIMESTAMPTZ_OID, rows);
    o += 24;
    for (let j = k; j < e; j++, o += 12) {
      dv.setInt32(o, 8);
      setTimestamp(dv, o + 4, rowTs[order[j]]);
    }
    const head = o;
    o += 24;
    let present = 0;
    for (let j = k; j < e; j++) {
      const el = writeFloat8Elements(dv, o, vals, rowOffset[order[j]], w);
      o = el.o;
      present += el.present;
    }
    arrayHeader(dv, head, o - head - 4, present < rows * w, FLOAT8_OID, rows * w);
    k = e;
  }
  dv.setInt16(o, -1);
  return buf;
}

/**
 * The metrics store's write side: series-set ids cached in memory, partitions created on
 * demand, and one `metric_raw` chunk per (series set, 15-minute window) of the batch — all its
 * timestamps in one row — written with binary COPY in one transaction with the rollup dirty
 * markers, so the rollups see exactly what the raw table holds.
 *
 * Duplicates: a timestamp a set already has (a retried batch) is written again in a new chunk;
 * readers keep per (set, timestamp, field) the newest transaction's value (metric_raw_values(),
 * the rollup fold), so nothing is counted twice and the last write wins field by field.
 */
@Injectable()
export class MetricStore implements OnApplicationBootstrap {
  private readonly logger = new Logger(MetricStore.name);
  private readonly sets = new Map<string, SeriesSet>();
  private readonly byId = new Map<number, SeriesSet>();
  /** Upserts in flight, by set key. */
  private readonly upserting = new Map<string, Promise<void>>();
  private readonly partitions = new Set<string>();
  private partitionsLoaded = false;

  constructor(private readonly db: DataSource) {}

  /**
   * Warms the partition list and the newest series sets in the background, so the first
   * batches after a (re)start do not each pay for those lookups.
   */
  onApplicationBootstrap(): void {
    void this.warm().catch((e: unknown) => this.logger.warn(`cache warm-up failed: ${String(e)}`));
  }

  private async warm(): Promise<void> {
    if (!this.partitionsLoaded) await this.loadPartitions();
    const rows = await this.db.query<SeriesRow[]>(
      `SELECT id, agent_id, measurement, labels, fields FROM metric_series ORDER BY id DESC LIMIT ${WARM_SETS}`,
    );
    for (const r of rows) {
      // A set an ingest already refreshed (new fields) is newer than this read.
      if (!this.sets.has(setKey(r.agent_id, r.measurement, r.labels))) this.remember(r);
    }
  }

  get pool(): pg.Pool {
    // TypeORM's postgres driver keeps its pg.Pool as `master`.
    return (this.db.driver as unknown as { master: pg.Pool }).master;
  }

  /**
   * Writes a validated batch in one transaction and returns what was stored (one row per
   * series set and timestamp, duplicates merged: the later cell wins) for post-commit work.
   */
  async write(b: SampleBatch, timer?: PhaseTimer): Promise<IngestedBatch> {
    const empty: IngestedBatch = {
      series: [],
      rows: 0,
      rowSeries: new Int32Array(0),
      rowTs: new Float64Array(0),
      rowOffset: new Int32Array(1),
      vals: new Float64Array(0),
      values: 0,
    };
    if (!b.rows) return empty;
    // 1. The series set of each batch series (the database only on a miss or a new field).
    let sets = this.lookupSets(b);
    for (let round = 0; !sets; round++) {
      if (round === 3) throw new Error('series sets missing after upsert');
      // Sets another request is creating right now are waited for, not upserted again
      // (concurrent first batches of a fleet would otherwise all lock the same rows).
      const waits: Array<Promise<unknown>> = [];
      const mine: ReturnType<MetricStore['missingSets']> = [];
      for (const m of this.missingSets(b)) {
        const pending = this.upserting.get(setKey(m.agentId, m.measurement, m.labels));
        if (pending) waits.push(pending);
        else mine.push(m);
      }
      if (mine.length) {
        const p = this.upsertSets(mine);
        const keys = mine.map((m) => setKey(m.agentId, m.measurement, m.labels));
        for (const k of keys) this.upserting.set(k, p);
        const done = () => {
          for (const k of keys) if (this.upserting.get(k) === p) this.upserting.delete(k);
        };
        p.then(done, done);
        waits.push(p);
      }
      await Promise.all(waits);
      sets = this.lookupSets(b);
    }
    timer?.lap('sets');
    const { setOf, colMap } = sets;

    // 2. Output rows: one per (set, timestamp); a repeated timestamp merges into its row.
    const outSets: SeriesSet[] = [];
    const outIdx = new Map<SeriesSet, number>();
    const seriesOut = new Int32Array(b.series.length);
    let cells = 0;
    for (let s = 0; s < b.series.length; s++) {
      const set = setOf[s];
      let os = outIdx.get(set);
      if (os === undefined) {
        os = outSets.length;
        outIdx.set(set, os);
        outSets.push(set);
      }
      seriesOut[s] = os;
    }
    const widths = new Int32Array(outSets.length);
    for (let os = 0; os < outSets.length; os++) widths[os] = outSets[os].fields.length;
    for (let r = 0; r < b.rows; r++) cells += widths[seriesOut[b.rowSeries[r]]];
    const nSets = outSets.length;
    const lastTs = new Float64Array(nSets).fill(-Infinity);
    const lastRow = new Int32Array(nSets);
    const head = new Int32Array(nSets).fill(-1);
    const tail = new Int32Array(nSets);
    const byTs: Array<Map<number, number> | undefined> = new Array(nSets);
    const next = new Int32Array(b.rows);
    const rowSet = new Int32Array(b.rows);
    const rowTs = new Float64Array(b.rows);
    const rowOffset = new Int32Array(b.rows + 1);
    const vals = new Float64Array(cells).fill(NaN);
    const minutes: number[] = [];
    const seenMinute = new Set<number>();
    let lastMinute = NaN;
    let rows = 0;
    let used = 0;
    const { rowSeries, rowTs: inTs, rowOffset: inOff, vals: inVals } = b;
    for (let r = 0; r < b.rows; r++) {
      const s = rowSeries[r];
      const os = seriesOut[s];
      const ts = inTs[r];
      let target = -1;
      if (ts === lastTs[os]) target = lastRow[os];
      else if (ts < lastTs[os]) {
        let m = byTs[os];
        if (!m) {
          m = new Map();
          for (let k = head[os]; k >= 0; k = k === tail[os] ? -1 : next[k]) m.set(rowTs[k], k);
          byTs[os] = m;
        }
        target = m.get(ts) ?? -1;
      }
      if (target < 0) {
        target = rows++;
        rowSet[target] = os;
        rowTs[target] = ts;
        rowOffset[target] = used;
        used += widths[os];
        if (head[os] < 0) head[os] = target;
        else next[tail[os]] = target;
        tail[os] = target;
        if (ts > lastTs[os]) {
          lastTs[os] = ts;
          lastRow[os] = target;
        }
        byTs[os]?.set(ts, target);
        const minute = Math.floor(ts / MINUTE_US);
        if (minute !== lastMinute && !seenMinute.has(minute)) {
          seenMinute.add(minute);
          minutes.push(minute);
        }
        lastMinute = minute;
      }
      const to = rowOffset[target];
      const map = colMap[s];
      for (let j = inOff[r], c = 0; j < inOff[r + 1]; j++, c++) {
        const v = inVals[j];
        if (v === v) vals[to + map[c]] = v;
      }
    }
    rowOffset[rows] = used;
    let values = 0;
    for (let j = 0; j < used; j++) if (vals[j] === vals[j]) values++;
    const days = [...new Set(minutes.map((m) => partitionStart('raw', m * 60_000)))];
    await this.ensurePartitions('raw', days);
    // One day (the usual case): COPY straight into its partition, no routing per row.
    const target = days.length === 1 ? `"${partitionName('raw', days[0])}"` : 'metric_raw';

    // 3. Rows grouped by series id (index (series_id, t0): neighbouring keys touch the same
    //    index pages), ascending in time within a set, cut into chunks by window.
    const setIds = Int32Array.from(outSets, (x) => x.id);
    const bySetId = Array.from(outSets.keys()).sort((x, y) => setIds[x] - setIds[y]);
    const order = new Int32Array(rows);
    let k = 0;
    for (const os of bySetId) {
      const from = k;
      let sorted = true;
      for (let r = head[os]; r >= 0; r = r === tail[os] ? -1 : next[r]) {
        if (k > from && rowTs[r] < rowTs[order[k - 1]]) sorted = false;
        order[k++] = r;
      }
      if (!sorted) order.subarray(from, k).sort((x, y) => rowTs[x] - rowTs[y]);
    }
    const payload = encodeChunkCopy(
      order,
      rowSet,
      setIds,
      rowTs,
      rowOffset,
      vals,
      values,
      RAW_CHUNK_MS * 1000,
    );
    timer?.lap('encode');

    // 4. One transaction in one round trip: `dirty markers; COPY …` as one simple query is an
    //    implicit transaction that commits when the COPY completes (pg-copy-streams resolves on
    //    ReadyForQuery, i.e. after the commit), so there is no separate BEGIN/COMMIT exchange.
    const dirty = minutes.map((m) => `('1m','${new Date(m * 60_000).toISOString()}')`).join(',');
    const client = await this.pool.connect();
    timer?.lap('connect');
    try {
      await copyIn(
        client,
        `INSERT INTO metric_rollup_dirty (level, bucket) VALUES ${dirty};
         COPY ${target} (series_id, t0, ts, vals) FROM STDIN (FORMAT binary)`,
        payload,
      );
    } catch (e) {
      // A failed implicit transaction wrote nothing; a connection that failed mid-COPY is not
      // handed back to the pool.
      client.release(e as Error);
      throw e;
    }
    client.release();
    timer?.lap('commit');
    const tsMs = new Float64Array(rows);
    for (let r = 0; r < rows; r++) tsMs[r] = Math.floor(rowTs[r] / 1000);
    return {
      series: outSets,
      rows,
      rowSeries: rowSet.subarray(0, rows),
      rowTs: tsMs,
      rowOffset: rowOffset.subarray(0, rows + 1),
      vals: vals.subarray(0, used),
      values,
    };
  }

  /** Sets and column maps of every batch series from the cache; null when one is missing. */
  private lookupSets(b: SampleBatch): { setOf: SeriesSet[]; colMap: Int32Array[] } | null {
    const setOf = new Array<SeriesSet>(b.series.length);
    const colMap = new Array<Int32Array>(b.series.length);
    let used: Uint8Array[] | null = null;
    for (let s = 0; s < b.series.length; s++) {
      const x = b.series[s];
      const memo = x.memo;
      if (
        memo?.set &&
        !memo.set.stale &&
        memo.agentId === x.agentId &&
        memo.width === x.fields.length
      ) {
        setOf[s] = memo.set;
        colMap[s] = memo.map!;
        continue;
      }
      const set = this.sets.get(setKey(x.agentId, x.measurement, x.labels));
      if (!set) return null;
      const map = new Int32Array(x.fields.length);
      let complete = true;
      for (let c = 0; c < x.fields.length; c++) {
        const idx = set.index.get(x.fields[c]);
        if (idx === undefined) {
          // A column the set lacks is fine only when this batch holds no value in it.
          used ??= usedColumns(b);
          if (used[s][c]) return null;
          map[c] = -1;
          complete = false;
        } else map[c] = idx;
      }
      setOf[s] = set;
      colMap[s] = map;
      // Only a map covering every column can serve later batches (they may fill the rest).
      if (memo && complete) {
        memo.set = set;
        memo.map = map;
        memo.agentId = x.agentId;
        memo.width = x.fields.length;
      }
    }
    return { setOf, colMap };
  }

  /** Sets (or fields of sets) that the batch writes and the cache does not know. */
  private missingSets(
    b: SampleBatch,
  ): Array<{ agentId: string; measurement: string; labels: string; fields: string[] }> {
    const used = usedColumns(b);
    const missing = new Map<string, MissingSet>();
    b.series.forEach((x, s) => {
      const k = setKey(x.agentId, x.measurement, x.labels);
      const set = this.sets.get(k);
      for (let c = 0; c < x.fields.length; c++) {
        if (!used[s][c] || set?.index.has(x.fields[c])) continue;
        let w = missing.get(k);
        if (!w) {
          w = {
            agentId: x.agentId,
            measurement: x.measurement,
            labels: x.labels,
            fields: new Set(),
          };
          missing.set(k, w);
        }
        w.fields.add(x.fields[c]);
      }
    });
    return [...missing.values()].map((w) => ({ ...w, fields: [...w.fields] }));
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
    const key = setKey(r.agent_id, r.measurement, r.labels);
    const old = this.sets.get(key);
    // Fields are only ever appended: the same id and field count is the same set.
    if (old && old.id === r.id && old.fields.length === r.fields.length) return old;
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
    if (old) old.stale = true;
    this.sets.set(key, set);
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
