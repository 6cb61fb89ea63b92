import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../../common/error-body.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import { budgetFor, credentialKey, type Budget } from './rate-limit.policy.js';
import { RateLimitStore } from './rate-limit.store.js';

/**
 * Per-IP and per-credential request budgets, separate for ingest and for the rest of the
 * API, enforced in a Fastify onRequest hook: before body parsing and authentication, so a
 * flood costs neither, and without a Nest guard per request (see tools/bench/rate-limit for
 * the measured cost). Over budget: 429 with Retry-After and RateLimit headers.
 */
@Injectable()
export class RateLimiter implements OnModuleInit {
  private readonly limits: Record<Budget, { ip: number; key: number }>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: RateLimitStore,
    private readonly metrics: MetricsRegistry,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.limits = {
      ingest: { ip: config.RATE_LIMIT_INGEST_PER_IP, key: config.RATE_LIMIT_INGEST_PER_KEY },
      api: { ip: config.RATE_LIMIT_API_PER_IP, key: config.RATE_LIMIT_API_PER_KEY },
    };
  }

  onModuleInit(): void {
    if (!this.config.RATE_LIMIT_ENABLED) return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (req, reply) => this.check(req, reply));
  }

  async check(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const budget = budgetFor(req);
    if (!budget) return;
    const window = this.config.RATE_LIMIT_WINDOW;
    const limits = this.limits[budget];
    const cred = credentialKey(req);
    const [byIp, byKey] = await Promise.all([
      this.store.hit(`${budget}:ip:${req.ip}`, window),
      cred ? this.store.hit(`${budget}:key:${cred}`, window) : null,
    ]);
    const ipLeft = limits.ip - byIp.count;
    const keyLeft = byKey ? limits.key - byKey.count : Infinity;
    const tighter =
      keyLeft < ipLeft && byKey
        ? { left: keyLeft, limit: limits.key, hit: byKey }
        : { left: ipLeft, limit: limits.ip, hit: byIp };
    void reply.header('RateLimit-Limit', String(tighter.limit));
    void reply.header('RateLimit-Remaining', String(Math.max(0, tighter.left)));
    void reply.header('RateLimit-Reset', String(Math.ceil(tighter.hit.resetMs / 1000)));
    if (tighter.left >= 0) return;
    const scope = tighter.hit === byIp ? 'ip' : 'credential';
    this.metrics.rateLimited.inc({ budget, scope });
    const retryAfter = Math.max(1, Math.ceil(tighter.hit.resetMs / 1000));
    await reply
      .status(429)
      .header('Retry-After', String(retryAfter))
      .send(
        errorBody(
          429,
          `Rate limit exceeded for the ${budget} budget (per ${scope === 'ip' ? 'IP address' : 'API key or token'}); retry in ${retryAfter} s`,
          { budget, scope, limit: tighter.limit, windowSec: Math.round(window / 1000) },
        ),
      );
  }
}
