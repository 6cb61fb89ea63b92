import { Global, Module } from '@nestjs/common';
import { IngestGate } from './ingest-gate.service.js';
import { RateLimitStore } from './rate-limit.store.js';
import { RateLimiter } from './rate-limiter.service.js';

/** Request budgets (429) and ingest back-pressure (503). `IngestGate` is exported globally. */
@Global()
@Module({
  providers: [RateLimitStore, RateLimiter, IngestGate],
  exports: [RateLimitStore, IngestGate],
})
export class RateLimitModule {}
