import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { copyIn } from './metric-store.service.js';
import { RAW_CHUNK_MS } from './partitions.js';
import {
  CopyRowReader,
  decodeRawChunk,
  encodeRawChunks,
  mergeRawChunks,
  type RawChunk,
} from './raw-chunks.js';

/** Series read per transaction (bounds memory: one window of this many series). */
const SERIES_PER_TX = 2000;

export interface CompactResult {
  /** false: an older transaction was still running; the window should be tried again later. */
  done: boolean;
  /** Series whose chunks were rewritten as one, and the chunks they had. */
  series: number;
  chunksBefore: number;
}

/**
 * Rewrites, in one 15-minute window of `metric_raw`, every series that has several chunks (one
 * per ingest request: an agent sending one sample every 10 s leaves 90) as one chunk, with
 * duplicates resolved (the newest transaction wins per timestamp and field). Readers see the
 * same values before and after; the window then takes ~6 bytes per value instead of ~27 (its rows
 * are large enough for PostgreSQL to compress).
 *
 * Each group of series is one REPEATABLE READ transaction: it reads the chunks, deletes exactly
 * those (rows committed after its snapshot are neither seen nor deleted) and writes the merged
 * chunk labelled with the newest xid it merged. That label keeps "last write wins" exact as
 * long as every transaction older than it had finished when the snapshot was taken (then any
 * write the snapshot missed is newer, and still wins); when one had not, the group is left for
 * a later run.
 */
export async function compactWindow(
  client: pg.PoolClient,
  windowStart: number,
  shouldStop: () => boolean,
): Promise<CompactResult> {
  const from = new Date(windowStart).toISOString();
  const to = new Date(windowStart + RAW_CHUNK_MS).toISOString();
  const result: CompactResult = { done: true, series: 0, chunksBefore: 0 };
  const {
    rows: [{ lo, hi }],
  } = await client.query<{ lo: number | null; hi: number | null }>(
    `SELECT min(id) AS lo, max(id) AS hi FROM metric_series`,
  );
  if (lo === null || hi === null) return result;
  for (let a = lo; a <= hi; a += SERIES_PER_TX) {
    if (shouldStop()) return { ...result, done: false };
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      await client.query('SET LOCAL statement_timeout = 0');
      const {
        rows: [{ xmin }],
      } = await client.query<{ xmin: string }>(
        `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`,
      );
      const merged: Array<{ series: number; chunk: RawChunk }> = [];
      let newest = 0;
      let before = 0;
      let current = -1;
      let chunks: RawChunk[] = [];
      const flush = () => {
        if (chunks.length > 1) {
          const m = mergeRawChunks(chunks).chunk;
          merged.push({ series: current, chunk: m });
          newest = Math.max(newest, m.xid);
          before += chunks.length;
        }
        chunks = [];
      };
      const reader = new CopyRowReader((dv, p) => {
        const { series, chunk } = decodeRawChunk(dv, p);
        if (series !== current) {
          flush();
          current = series;
        }
        if (chunk) chunks.push(chunk);
      });
      const out = client.query(
        copyTo(`COPY (SELECT s.id, r.ts, r.vals, r.xid FROM metric_series s
            CROSS JOIN LATERAL (SELECT ts, vals, xid FROM metric_raw
                                 WHERE series_id = s.id AND t0 >= '${from}' AND t0 < '${to}') r
           WHERE s.id >= ${a} AND s.id < ${a + SERIES_PER_TX}
           ORDER BY s.id) TO STDOUT (FORMAT binary)`),
      );
      for await (const chunk of out) reader.push(chunk as Buffer);
      reader.finish();
      flush();
      if (!merged.length) {
        await client.query('COMMIT');
        continue;
      }
      if (newest >= Number(xmin)) {
        await client.query('ROLLBACK');
        return { ...result, done: false };
      }
      await client.query(
        `DELETE FROM metric_raw WHERE series_id = ANY($1::int[]) AND t0 >= $2 AND t0 < $3`,
        [merged.map((m) => m.series), from, to],
      );
      await copyIn(
        client,
        `COPY metric_raw (series_id, t0, ts, vals, xid) FROM STDIN (FORMAT binary)`,
        encodeRawChunks(merged),
      );
      await client.query('COMMIT');
      result.series += merged.length;
      result.chunksBefore += before;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
  return result;
}
