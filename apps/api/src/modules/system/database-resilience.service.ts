import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EventEmitter } from 'node:events';
import type { DataSource } from 'typeorm';

interface PgPoolLike extends EventEmitter {
  _clients?: EventEmitter[];
}

const GUARDED = Symbol('am:error-guarded');

/**
 * PostgreSQL restarting must not take the API down. node-postgres emits 'error' on a client
 * that is checked out of the pool but between queries (a transaction waiting on application
 * code, a COPY being prepared) when the server ends its session (57P01, connection reset);
 * without a listener that event kills the process. Every client of the shared pool gets one:
 * the owner's next query then fails (→ 503 + Retry-After) and the pool discards the client.
 */
@Injectable()
export class DatabaseResilience implements OnModuleInit {
  private readonly logger = new Logger('Database');
  private lastWarn = 0;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    const pool = (this.dataSource.driver as unknown as { master?: PgPoolLike }).master;
    if (!pool) return;
    const guard = (client: EventEmitter) => {
      const c = client as EventEmitter & { [GUARDED]?: boolean };
      if (c[GUARDED]) return;
      c[GUARDED] = true;
      c.on('error', (e: Error) => this.warn(e));
    };
    for (const c of pool._clients ?? []) guard(c);
    pool.on('connect', guard);
  }

  private warn(e: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < 5000) return;
    this.lastWarn = now;
    this.logger.warn(`PostgreSQL connection lost (${e.message}); the pool reconnects on demand`);
  }
}
