import { timingSafeEqual, createHash } from 'node:crypto';
import { Controller, Get, Header, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../common/access.js';
import { unauthenticated } from '../../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricsRegistry } from './metrics-registry.service.js';
import { QueueDepthCollector } from './queue-depth.collector.js';

/**
 * Prometheus scrape endpoint, outside /api/v2. Public unless METRICS_TOKEN is set, then a
 * scraper sends `Authorization: Bearer <METRICS_TOKEN>` (Prometheus `authorization` block).
 * People's JWTs and API keys are deliberately not accepted: a scrape credential should
 * grant nothing else.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest: Buffer | null;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly queues: QueueDepthCollector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.tokenDigest = config.METRICS_TOKEN ? sha256(config.METRICS_TOKEN) : null;
  }

  @Get()
  @Public()
  @Header('cache-control', 'no-store')
  async scrape(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (this.tokenDigest) {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(header);
      if (!m || !timingSafeEqual(sha256(m[1].trim()), this.tokenDigest)) {
        void reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
        throw unauthenticated('A valid METRICS_TOKEN bearer token is required for /metrics');
      }
    }
    // Gauges read from the database are refreshed here (async); the rest collect themselves.
    await this.queues.refresh();
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}

function sha256(v: string): Buffer {
  return createHash('sha256').update(v).digest();
}
