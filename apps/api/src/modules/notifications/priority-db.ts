import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';

/** What raw-SQL helpers need: TypeORM's EntityManager/DataSource or a PriorityDb transaction. */
export type SqlRunner = Pick<EntityManager, 'query'>;

/**
 * A small connection pool of its own for latency-critical work: alert transitions and the
 * first delivery attempt. Under heavy ingest the main pool's connections are busy with COPY
 * batches; a firing alert must not queue behind them. Results have TypeORM's shape
 * (`[rows, rowCount]` for UPDATE/DELETE) so the same helpers work on both.
 */
@Injectable()
export class PriorityDb implements OnApplicationShutdown {
  private readonly pool: pg.Pool;

  constructor(db: DataSource) {
    const url = (db.options as { url?: string }).url;
    this.pool = new pg.Pool({
      connectionString: url,
      max: 3,
      application_name: 'agent-monitor-alerts',
      connectionTimeoutMillis: 5000,
      statement_timeout: 30_000,
    });
    this.pool.on('error', () => undefined); // idle client errors: the next checkout reconnects
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  async query<T = unknown>(text: string, params: unknown[] = []): Promise<T> {
    return shape(await this.pool.query(text, params)) as T;
  }

  async transaction<T>(fn: (m: SqlRunner) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const runner: SqlRunner = {
        query: async <R = unknown>(text: string, params?: unknown[]) =>
          shape(await c.query(text, params)) as R,
      };
      const r = await fn(runner);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }
}

function shape(r: pg.QueryResult): unknown {
  return r.command === 'UPDATE' || r.command === 'DELETE' ? [r.rows, r.rowCount ?? 0] : r.rows;
}
