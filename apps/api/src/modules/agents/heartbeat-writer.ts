import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AgentStatus } from '@agent-monitor/contracts';
import { offlineAtSql, staleAtSql } from './liveness-sql.js';

export interface HeartbeatWrite {
  id: string;
  next: AgentStatus;
  reported: string | null;
  currentTask?: string | null;
  branch?: string | null;
  uncommittedChanges?: number | null;
  uptimeSec?: number | null;
  appliedConfigVersion?: number | null;
  version?: string;
}

export interface HeartbeatWritten {
  id: string;
  name: string;
  status: AgentStatus;
  prev: AgentStatus;
  config_version: number;
  applied_config_version: number | null;
  heartbeat_interval_sec: number;
  at: Date;
}

interface Pending {
  w: HeartbeatWrite;
  resolve: (r: HeartbeatWritten | null) => void;
  reject: (e: unknown) => void;
}

/** Batches in flight at once; more arrivals wait for the next batch. */
const MAX_CONCURRENT_BATCHES = 3;
const MAX_BATCH = 500;
/**
 * A second (third) batch starts beside one in flight only when this many heartbeats wait.
 * PostgreSQL's cost is mostly per commit: at 1,000 heartbeats/s one batch at a time carried
 * 4.7 heartbeats per commit for 0.51 ms of PostgreSQL CPU per heartbeat, against 2.4 and
 * 0.97 ms with 2–3 small batches in parallel (tools/bench/heartbeats). Parallel batches
 * remain for bursts, where waiting for one batch would be the longer delay.
 */
const PARALLEL_BACKLOG = 64;

/**
 * Group commit for heartbeats. Each request waits for the commit of the batch that carries
 * it, so a 2xx still means stored; but under load one statement (and one WAL flush) carries
 * many heartbeats instead of one each. A lone heartbeat goes out at once (no added delay):
 * batches only form from what arrives while an earlier batch is in flight.
 *
 * The statement locks the agents' rows (in id order, so concurrent batches cannot deadlock),
 * moves each lease, updates the jitter estimate and reported state, and writes history rows
 * for status changes — all atomically.
 */
@Injectable()
export class HeartbeatWriter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly db: DataSource) {}

  write(w: HeartbeatWrite): Promise<HeartbeatWritten | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ w, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (
      this.queue.length &&
      (this.inFlight === 0 ||
        (this.inFlight < MAX_CONCURRENT_BATCHES && this.queue.length >= PARALLEL_BACKLOG))
    ) {
      // One heartbeat per agent per batch: a repeat waits for the next batch.
      const seen = new Set<string>();
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      for (const p of this.queue) {
        if (batch.length < MAX_BATCH && !seen.has(p.w.id)) {
          seen.add(p.w.id);
          batch.push(p);
        } else rest.push(p);
      }
      this.queue = rest;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const rows = await this.execute(batch.map((p) => p.w));
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const p of batch) p.resolve(byId.get(p.w.id) ?? null);
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  private async execute(ws: HeartbeatWrite[]): Promise<HeartbeatWritten[]> {
    // One jsonb parameter rather than one array per column: its row estimate does not depend
    // on the batch size, so PostgreSQL settles on one generic plan for the named statement
    // instead of planning every batch again (measured: about half of a small batch's cost).
    const values = [
      JSON.stringify(
        ws.map((w) => ({
          id: w.id,
          next: w.next,
          reported: w.reported,
          has_task: w.currentTask !== undefined,
          task: w.currentTask ?? null,
          has_branch: w.branch !== undefined,
          branch: w.branch ?? null,
          has_unc: w.uncommittedChanges !== undefined,
          unc: w.uncommittedChanges ?? null,
          has_up: w.uptimeSec !== undefined,
          up: w.uptimeSec ?? null,
          has_acv: w.appliedConfigVersion !== undefined,
          acv: w.appliedConfigVersion ?? null,
          has_ver: w.version !== undefined,
          ver: w.version ?? null,
        })),
      ),
    ];
    // A named statement on the driver's pool: each connection parses it once and, after a few
    // runs, reuses one plan (planning took longer than running it for a few heartbeats).
    const pool = (this.db.driver as unknown as { master?: PgPool }).master;
    if (pool?.query) {
      const r = await pool.query({ name: 'am_heartbeat_batch_v3', text: HEARTBEAT_SQL, values });
      return r.rows;
    }
    return this.db.query<HeartbeatWritten[]>(HEARTBEAT_SQL, values);
  }
}

/** The part of pg.Pool this file uses (the TypeORM postgres driver's `master`). */
interface PgPool {
  query(q: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: HeartbeatWritten[] }>;
}

const HEARTBEAT_SQL = `WITH i AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(id uuid, next varchar, reported varchar,
           has_task bool, task varchar, has_branch bool, branch varchar, has_unc bool, unc int,
           has_up bool, up int, has_acv bool, acv int, has_ver bool, ver varchar)
       ), o AS (
         -- Found by primary key only: with "deleted_at IS NULL" here, every partial index on
         -- agents matches too, and on a table without statistics yet (a fresh install, agents
         -- registering) the planner scanned one of them whole for each batch. Deleted agents
         -- are dropped in n.
         SELECT a.id, a.status AS prev, a.last_heartbeat AS prev_hb,
                a.heartbeat_interval_sec AS iv, a.heartbeat_jitter_ms AS jit, a.deleted_at
           FROM agents a
          WHERE a.id IN (SELECT i.id FROM i)
          ORDER BY a.id
            FOR UPDATE OF a
       ), n AS (
         SELECT o.*, CASE
             WHEN o.prev_hb IS NULL OR o.prev NOT IN ('online', 'error', 'stale') THEN o.jit
             ELSE 0.8 * o.jit + 0.2 * LEAST(
               abs(extract(epoch FROM now() - o.prev_hb) * 1000.0 - o.iv * 1000.0), o.iv * 1000.0)
           END AS jitter
           FROM o
          WHERE o.deleted_at IS NULL
       ), u AS (
         UPDATE agents a SET
           last_heartbeat = now(),
           status = i.next,
           reported_state = COALESCE(i.reported, a.reported_state),
           status_changed_at = CASE WHEN a.status = i.next THEN a.status_changed_at ELSE now() END,
           heartbeat_jitter_ms = n.jitter,
           stale_at = ${staleAtSql('n.iv', 'n.jitter')},
           offline_at = ${offlineAtSql('n.iv', 'n.jitter')},
           current_task = CASE WHEN i.has_task THEN i.task ELSE a.current_task END,
           branch = CASE WHEN i.has_branch THEN i.branch ELSE a.branch END,
           uncommitted_changes = CASE WHEN i.has_unc THEN i.unc ELSE a.uncommitted_changes END,
           uptime_sec = CASE WHEN i.has_up THEN i.up ELSE a.uptime_sec END,
           applied_config_version = CASE WHEN i.has_acv THEN i.acv ELSE a.applied_config_version END,
           version = CASE WHEN i.has_ver THEN i.ver ELSE a.version END
           FROM n JOIN i ON i.id = n.id
          WHERE a.id = n.id
         RETURNING a.id, a.name, a.status, n.prev, a.config_version, a.applied_config_version,
                   a.heartbeat_interval_sec, a.last_heartbeat AS at
       ), h AS (
         INSERT INTO agent_status_history (agent_id, previous_status, status, reason, at)
         SELECT id, prev, status, CASE WHEN status = 'online' THEN 'heartbeat' ELSE 'reported' END, at
           FROM u WHERE prev IS DISTINCT FROM status
       )
       SELECT * FROM u`;
