import type { Logger } from '@nestjs/common';
import pg from 'pg';
import type { DataSource } from 'typeorm';

export interface LeaderLockOptions {
  /** pg_advisory_lock key that names the job being led. */
  key: number;
  /** application_name of the dedicated connection (visible in pg_stat_activity). */
  applicationName: string;
  /** Word for the job in log lines: "<what> leader connection lost: …". */
  what: string;
  /** The owning service's logger, so lines keep its context. */
  logger: Logger;
}

/**
 * "One leader across instances": a PostgreSQL session advisory lock held on a dedicated
 * connection (not a pooled one, which would hand the session, and the lock, to other work).
 * The lock dies with the connection, so a crashed leader is replaced as soon as another
 * instance calls tryLead(); a leader whose connection fails gives up leadership here and
 * competes again on its next tryLead(), on a fresh connection.
 *
 * The caller owns the timing: it calls tryLead() while not leader, does the leader's work
 * (on `client` when it must run on the lock's session), and calls release() after a failure
 * and on shutdown.
 */
export class LeaderLock {
  private conn: pg.Client | null = null;
  private leader = false;

  constructor(
    private readonly db: DataSource,
    private readonly opts: LeaderLockOptions,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** The dedicated connection that holds the lock, or null while disconnected. */
  get client(): pg.Client | null {
    return this.conn;
  }

  /** Connects if needed and tries the lock once; true when this instance now leads. */
  async tryLead(): Promise<boolean> {
    if (!this.conn) {
      const url = (this.db.options as { url?: string }).url;
      const client = new pg.Client({
        connectionString: url,
        application_name: this.opts.applicationName,
      });
      client.on('error', (e) => {
        this.opts.logger.warn(`${this.opts.what} leader connection lost: ${e.message}`);
        void this.release();
      });
      await client.connect();
      this.conn = client;
    }
    const r = await this.conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      this.opts.key,
    ]);
    this.leader = r.rows[0].ok;
    return this.leader;
  }

  /** Drops leadership and closes the connection (which releases the lock). */
  async release(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    this.leader = false;
    if (c) await c.end().catch(() => undefined);
  }
}

export interface LeaderLoopOptions extends LeaderLockOptions {
  /** Delay between the leader's rounds. */
  intervalMs: number;
  /** Delay before a follower tries to lead again, and after a failed round. */
  followerRetryMs: number;
  /** Name of the job in the failure line: "<job> failed: …". */
  job: string;
  /** One round of the leader's work; a number returned replaces intervalMs as the next delay. */
  work: () => Promise<number | void>;
  /** Called when this instance takes the lead. */
  onLead?: () => void;
}

/**
 * The timer loop around a LeaderLock: every round a follower tries to lead (and waits at least
 * followerRetryMs when it cannot), the leader runs `work`, and a failure drops leadership so
 * the next round competes again on a fresh connection. stop() waits for a running round, then
 * releases the lock. Work that loops over many items should check `stopping` between them.
 */
export class LeaderLoop {
  readonly lock: LeaderLock;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    db: DataSource,
    private readonly opts: LeaderLoopOptions,
  ) {
    this.lock = new LeaderLock(db, opts);
  }

  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.lock.release();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => (this.running = null));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = this.opts.intervalMs;
    try {
      if (!this.lock.isLeader) {
        if (await this.lock.tryLead()) this.opts.onLead?.();
        else next = Math.max(next, this.opts.followerRetryMs);
      }
      if (this.lock.isLeader) {
        const override = await this.opts.work();
        if (typeof override === 'number') next = override;
      }
    } catch (e) {
      if (!this.stopped) this.opts.logger.warn(`${this.opts.job} failed: ${(e as Error).message}`);
      await this.lock.release();
      next = this.opts.followerRetryMs;
    }
    this.schedule(next);
  }
}
