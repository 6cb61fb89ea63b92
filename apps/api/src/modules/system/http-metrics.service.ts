import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { MetricsRegistry } from './metrics-registry.service.js';
import { RequestWindow } from './request-window.js';

interface PgPoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/**
 * Times every HTTP request by its route pattern (`/api/v2/agents/:id`, never the raw URL, so
 * label cardinality stays bounded) and exposes the PostgreSQL pool's usage.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  /** Figures for the current system health interval. */
  readonly window = new RequestWindow();

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly adapterHost: HttpAdapterHost,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (req, reply, done) => {
      const seconds = reply.elapsedTime / 1000;
      const route = req.routeOptions.url ?? 'unmatched';
      // The dashboard's catch-all serves the app shell: one label for all of it.
      const label = route === '/*' ? 'static' : route;
      this.metrics.httpRequestSeconds.observe(
        { method: req.method, route: label, status_code: String(reply.statusCode) },
        seconds,
      );
      if (label !== 'static' && label !== '/metrics') {
        this.window.record(reply.elapsedTime, reply.statusCode);
      }
      done();
    });

    const gauge = this.metrics.gauge({
      name: 'am_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, in_use, waiting clients, max).',
      labelNames: ['state'] as const,
      collect: () => {
        const p = this.poolCounts();
        if (!p) return;
        gauge.set({ state: 'total' }, p.totalCount);
        gauge.set({ state: 'idle' }, p.idleCount);
        gauge.set({ state: 'in_use' }, p.totalCount - p.idleCount);
        gauge.set({ state: 'waiting' }, p.waitingCount);
        if (p.options?.max) gauge.set({ state: 'max' }, p.options.max);
      },
    });
  }

  poolCounts(): PgPoolCounts | null {
    return (this.dataSource.driver as unknown as { master?: PgPoolCounts }).master ?? null;
  }
}
