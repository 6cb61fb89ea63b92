/**
 * Cost of the rate limiter on the ingest path: the onRequest hook (budget lookup, credential
 * hash, two counter hits, three headers) per request, with the in-process store and with Redis.
 *
 *   npx tsx --tsconfig apps/api/tsconfig.json tools/bench/rate-limit/main.ts [--n 200000] \
 *     [--redis redis://127.0.0.1:6379/15]
 */
import 'reflect-metadata';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loadConfig } from '../../../apps/api/src/config/config.js';
import { RateLimitStore } from '../../../apps/api/src/modules/rate-limit/rate-limit.store.js';
import { RateLimiter } from '../../../apps/api/src/modules/rate-limit/rate-limiter.service.js';
import { MetricsRegistry } from '../../../apps/api/src/modules/system/metrics-registry.service.js';

const argv = process.argv;
const N = Number(argv[argv.indexOf('--n') + 1]) || 200_000;
const REDIS = argv.includes('--redis') ? argv[argv.indexOf('--redis') + 1] : null;

function fakeReq(i: number): FastifyRequest {
  return {
    method: 'POST',
    url: `/api/v2/agents/x/heartbeat`,
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
    headers: { authorization: `Bearer am_${String(i % 1000).padStart(40, '0')}` },
    routeOptions: { url: '/api/v2/agents/:id/heartbeat', config: {} },
  } as unknown as FastifyRequest;
}

const reply = {
  header() {
    return this;
  },
  status() {
    return this;
  },
  send() {
    return this;
  },
} as unknown as FastifyReply;

async function run(label: string, redisUrl: string | null): Promise<void> {
  const config = loadConfig({
    DATA_DIR: '/tmp/am-bench-rl',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    RATE_LIMIT_INGEST_PER_IP: '1000000000',
    RATE_LIMIT_INGEST_PER_KEY: '1000000000',
  });
  const metrics = new MetricsRegistry();
  const store = new RateLimitStore(config);
  store.onModuleInit();
  if (redisUrl) {
    for (let i = 0; i < 50 && store.state() !== 'up'; i++)
      await new Promise((r) => setTimeout(r, 100));
    if (store.state() !== 'up') throw new Error(`Redis at ${redisUrl} did not answer`);
  }
  // The hook is called directly; no HTTP server is involved.
  const limiter = new RateLimiter(config, store, metrics, { httpAdapter: null } as never);
  const reqs = Array.from({ length: 4096 }, (_, i) => fakeReq(i));
  const n = redisUrl ? Math.min(N, 50_000) : N;
  for (let i = 0; i < 2000; i++) await limiter.check(reqs[i % reqs.length], reply);
  // Sequential (latency per request) and 64 concurrent (throughput, as under load).
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await limiter.check(reqs[i % reqs.length], reply);
  const seqNs = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) await limiter.check(reqs[next++ % reqs.length], reply);
    }),
  );
  const concNs = Number(process.hrtime.bigint() - t) / n;
  console.log(
    `${label.padEnd(10)} ${n} checks: ${(seqNs / 1000).toFixed(2)} µs each sequentially, ` +
      `${(1e9 / concNs).toFixed(0)} checks/s with 64 concurrent`,
  );
  await store.onModuleDestroy();
  metrics.onModuleDestroy();
}

await run('in-process', null);
if (REDIS) await run('redis', REDIS);
process.exit(0);
