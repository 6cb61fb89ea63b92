import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AgentStatus } from '@agent-monitor/contracts';
import { LeaderLock } from '../../common/leader-lock.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AgentStatusEvents } from './agent-status-events.js';

/** pg_advisory_lock key of the liveness leader ("amlv" in ASCII). */
export const LIVENESS_LOCK_KEY = 0x616d6c76;
/** How often a follower tries to become the leader, and how long to wait after a lost connection. */
const FOLLOWER_RETRY_MS = 1_000;
/** Most agents flipped per tick; the next tick takes the rest. */
const SWEEP_BATCH = 5_000;

/**
 * Marks agents `stale`/`offline` when their lease runs out. Exactly one instance sweeps: the
 * one holding a PostgreSQL advisory lock on a dedicated connection. The lock dies with the
 * connection, so a crashed leader is replaced within FOLLOWER_RETRY_MS; a leader that loses
 * its connection stops and competes again. Each flip and its history row are one statement,
 * and only the leader announces them, so every change is emitted once.
 */
@Injectable()
export class LivenessSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LivenessSweeper.name);
  private readonly lock: LeaderLock;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    db: DataSource,
    private readonly statusEvents: AgentStatusEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.lock = new LeaderLock(db, {
      key: LIVENESS_LOCK_KEY,
      applicationName: 'am-liveness',
      what: 'liveness',
      logger: this.logger,
    });
  }

  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lock.release();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = this.config.LIVENESS_SWEEP_INTERVAL;
    try {
      if (!this.lock.isLeader) {
        if (await this.lock.tryLead()) {
          this.logger.log('this instance now runs the liveness sweeper');
        } else {
          next = Math.max(next, FOLLOWER_RETRY_MS);
        }
      }
      if (this.lock.isLeader) {
        const flipped = await this.sweep();
        if (flipped === SWEEP_BATCH) next = 0;
      }
    } catch (e) {
      if (!this.stopped) this.logger.warn(`liveness sweep failed: ${(e as Error).message}`);
      await this.lock.release();
      next = FOLLOWER_RETRY_MS;
    }
    this.schedule(next);
  }

  /** Flips every agent whose deadline passed; returns how many. */
  async sweep(): Promise<number> {
    const client = this.lock.client;
    if (!client) return 0;
    const r = await client.query<{
      id: string;
      name: string;
      prev: AgentStatus;
      status: AgentStatus;
      at: Date;
    }>(
      `WITH due AS (
         SELECT id, status AS prev,
                CASE WHEN offline_at <= now() THEN 'offline' ELSE 'stale' END AS next
           FROM agents
          WHERE deleted_at IS NULL
            AND ((status IN ('online', 'error') AND stale_at <= now())
              OR (status IN ('online', 'error', 'stale') AND offline_at <= now()))
          LIMIT ${SWEEP_BATCH}
          FOR UPDATE SKIP LOCKED
       ), u AS (
         UPDATE agents a SET status = due.next, status_changed_at = now()
           FROM due WHERE a.id = due.id
         RETURNING a.id, a.name, due.prev, a.status, a.status_changed_at AS at
       ), h AS (
         INSERT INTO agent_status_history (agent_id, previous_status, status, reason, at)
         SELECT id, prev, status, 'missed_heartbeats', at FROM u
       )
       SELECT * FROM u`,
    );
    if (r.rows.length) {
      this.statusEvents.announce(
        r.rows.map((x) => ({
          agentId: x.id,
          name: x.name,
          previousStatus: x.prev,
          status: x.status,
          at: x.at,
          reason: 'missed_heartbeats' as const,
        })),
      );
    }
    return r.rows.length;
  }
}
