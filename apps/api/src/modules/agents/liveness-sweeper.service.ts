import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AgentStatus } from '@agent-monitor/contracts';
import { LeaderLoop } from '../../common/leader-lock.js';
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
  private readonly loop: LeaderLoop;

  constructor(
    db: DataSource,
    private readonly statusEvents: AgentStatusEvents,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.loop = new LeaderLoop(db, {
      key: LIVENESS_LOCK_KEY,
      applicationName: 'am-liveness',
      what: 'liveness',
      job: 'liveness sweep',
      logger: this.logger,
      intervalMs: config.LIVENESS_SWEEP_INTERVAL,
      followerRetryMs: FOLLOWER_RETRY_MS,
      onLead: () => this.logger.log('this instance now runs the liveness sweeper'),
      // A full batch means more are due: sweep again at once.
      work: async () => ((await this.sweep()) === SWEEP_BATCH ? 0 : undefined),
    });
  }

  get isLeader(): boolean {
    return this.loop.isLeader;
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Flips every agent whose deadline passed; returns how many. */
  async sweep(): Promise<number> {
    const client = this.loop.lock.client;
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
