import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainException } from '../../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { LatestMetricsProvider } from '../agents/latest-metrics.provider.js';
import { LatestMetricsCache } from './latest-metrics.cache.js';
import { MetricStore } from './metric-store.service.js';
import { INGEST_BODY_LIMIT, MetricsController } from './metrics.controller.js';
import { MetricsIngestService } from './metrics-ingest.service.js';
import { MetricsLiveService } from './metrics-live.service.js';
import { MetricsQueryService } from './metrics-query.service.js';
import { RollupService } from './rollup.service.js';

/** `POST /metrics/batch` (MetricsController) under the API prefix. */
const BATCH_ROUTE = '/api/v2/metrics/batch';

const gunzipAsync = promisify(gunzip);

/**
 * Metrics: ingest (JSON, batch, InfluxDB line protocol), the partitioned store, rollups and
 * retention, history queries, the hot latest-values cache (provided to the agents domain as
 * LatestMetricsProvider) and throttled live events.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    MetricStore,
    LatestMetricsCache,
    { provide: LatestMetricsProvider, useExisting: LatestMetricsCache },
    MetricsLiveService,
    MetricsIngestService,
    MetricsQueryService,
    RollupService,
  ],
  exports: [
    LatestMetricsProvider,
    LatestMetricsCache,
    MetricsQueryService,
    MetricsLiveService,
    MetricStore,
  ],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * text/plain bodies (line protocol) as bytes, gunzipped when `Content-Encoding: gzip`
   * (what InfluxDB clients send); the parser thread decodes them. Limits: the route's body
   * limit on the wire and after decompression.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify) return;
    const fallback = Math.max(this.config.BODY_LIMIT_BYTES, INGEST_BODY_LIMIT);
    // JSON batches (the largest JSON bodies) go to the parser thread as bytes; every other
    // route keeps Fastify's own JSON parser, with its defaults.
    const json = fastify.getDefaultJsonParser('error', 'error');
    if (fastify.hasContentTypeParser('application/json')) {
      fastify.removeContentTypeParser('application/json');
    }
    fastify.addContentTypeParser(
      'application/json',
      // the server's limit, as Fastify's own parser has (routes may set their own)
      { parseAs: 'buffer', bodyLimit: this.config.BODY_LIMIT_BYTES },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
        if (req.routeOptions.url === BATCH_ROUTE && body.length > 0) done(null, body);
        else json(req, body.toString('utf8'), done);
      },
    );
    if (fastify.hasContentTypeParser('text/plain')) fastify.removeContentTypeParser('text/plain');
    fastify.addContentTypeParser(
      'text/plain',
      { parseAs: 'buffer', bodyLimit: fallback },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
        const limit = req.routeOptions.bodyLimit ?? fallback;
        const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (enc === 'identity') {
          done(null, body);
          return;
        }
        if (enc !== 'gzip') {
          done(
            new DomainException(
              'VALIDATION',
              `Content-Encoding ${enc} is not supported (use gzip)`,
            ),
          );
          return;
        }
        gunzipAsync(body, { maxOutputLength: limit }).then(
          (out) => done(null, out),
          (e: { code?: string }) =>
            done(
              e.code === 'ERR_BUFFER_TOO_LARGE'
                ? new DomainException(
                    'PAYLOAD_TOO_LARGE',
                    `Decompressed body is larger than ${limit} bytes`,
                  )
                : new DomainException('VALIDATION', 'Body is not valid gzip'),
            ),
        );
      },
    );
  }
}
