import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { toResponse } from './common/http-exception.filter.js';
import { errorBody } from './common/error-body.js';
import { PinoNestLogger, createRootLogger } from './common/logger.js';
import type { AppConfig } from './config/config.js';

export const API_PREFIX = 'api/v2';

/** Draining state of one app: see `startDraining`. */
interface DrainState {
  draining: boolean;
  inFlight: number;
}
const drainStates = new WeakMap<object, DrainState>();

/**
 * First step of a graceful shutdown: from now on every new request (on a new or a kept-alive
 * connection, readiness included) is answered at once with 503 + Retry-After and
 * `Connection: close`, so load balancers move to another instance; requests already in
 * progress run to completion. Resolves when none is left, or after `maxWaitMs`.
 */
export async function startDraining(
  app: NestFastifyApplication,
  maxWaitMs: number,
): Promise<{ waitedMs: number; unfinished: number }> {
  const state = drainStates.get(app);
  if (!state) return { waitedMs: 0, unfinished: 0 };
  state.draining = true;
  const started = Date.now();
  while (state.inFlight > 0 && Date.now() - started < maxWaitMs) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return { waitedMs: Date.now() - started, unfinished: state.inFlight };
}

export interface CreateAppOptions {
  config: AppConfig;
  databaseUrl: string;
  logger?: Logger;
}

/**
 * Builds the whole application (the same for `main.ts` and the integration tests): Fastify
 * with limits and security headers, Nest modules, OpenAPI, the built dashboard at `/`.
 */
export async function createApp({
  config,
  databaseUrl,
  logger,
}: CreateAppOptions): Promise<NestFastifyApplication> {
  const log = logger ?? createRootLogger(config.LOG_LEVEL);
  const adapter = new FastifyAdapter({
    loggerInstance: log,
    // Per-request lines only at debug: at 1,000 heartbeats/s they would drown everything else.
    logController: new LogController({
      disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace',
    }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_addr: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  });
  const fastify = adapter.getInstance();

  // Per-route body limits: ingest routes declare `@BodyLimit(n)` (route config `bodyLimit`).
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const wanted = (route.config as { bodyLimit?: number } | undefined)?.bodyLimit;
    if (wanted) route.bodyLimit = wanted;
  });
  fastify.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', String(req.id));
  });
  // Graceful shutdown (see startDraining): count requests in progress, refuse new ones.
  const drain: DrainState = { draining: false, inFlight: 0 };
  fastify.addHook('onRequest', (_req, reply, done) => {
    if (drain.draining) {
      void reply
        .status(503)
        .header('Retry-After', '5')
        .header('Connection', 'close')
        .send(errorBody(503, 'Server is shutting down; retry on another instance'));
      return;
    }
    drain.inFlight++;
    // 'close' fires once the response is sent or the connection is gone, whichever comes first.
    reply.raw.once('close', () => drain.inFlight--);
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, databaseUrl),
    adapter,
    {
      logger: new PinoNestLogger(log),
      bufferLogs: false,
    },
  );

  // Errors raised by Fastify before Nest sees the request (bad JSON, body too large).
  fastify.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfter } = toResponse(err);
    if (status >= 500) log.error({ err }, 'unhandled error');
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    void reply.status(status).send(body);
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // MUI (emotion) injects <style> elements at runtime.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        // Swagger UI's bootstrap script is inline.
        scriptSrc: ["'self'", "'unsafe-inline'"],
        upgradeInsecureRequests: null,
      },
    },
    crossOriginEmbedderPolicy: false,
  });

  if (config.corsOrigins.length) {
    app.enableCors({ origin: config.corsOrigins, credentials: false, maxAge: 600 });
  }

  app.setGlobalPrefix(API_PREFIX, { exclude: ['metrics', 'api/v1/{*path}'] });

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Agent Monitor API')
      .setDescription(
        'Register agents, send heartbeats and metrics, manage alerts and the fleet. ' +
          'People authenticate with a JWT (POST /api/v2/auth/login); agents and scripts with an ' +
          'API key (`am_…`) as `Authorization: Bearer`, `Authorization: Token` or `X-API-Key`.',
      )
      .setVersion(config.version)
      .addBearerAuth()
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup(`${API_PREFIX}/docs`, app, doc, {
    jsonDocumentUrl: `${API_PREFIX}/openapi.json`,
  });

  drainStates.set(app, drain);
  await serveDashboard(app, config);
  // No app.enableShutdownHooks(): main.ts owns SIGTERM/SIGINT (drain, then exit 0 within 10 s).
  // Nest's own signal hook would close the app a second time and re-raise the signal (exit 143).
  return app;
}

async function serveDashboard(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const root = config.DASHBOARD_DIST
    ? path.resolve(config.DASHBOARD_DIST)
    : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard/dist');
  const hasDashboard = config.SERVE_DASHBOARD && existsSync(path.join(root, 'index.html'));
  if (hasDashboard) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      // Hashed assets are immutable; the shell must be revalidated so an upgrade never leaves
      // a browser on an index.html pointing at assets that no longer exist.
      maxAge: '1y',
      immutable: true,
      setHeaders: (res, filePath) => {
        if (filePath.endsWith('.html')) void res.header('cache-control', 'no-cache');
      },
    });
  }
  // Unmatched paths: client-side routes (/agents/…) get the app shell; anything under the API
  // falls through to Nest's 404 in the standard error shape.
  const isApi = (url: string) =>
    url.startsWith('/api/') || url.startsWith('/socket.io') || url === '/metrics';
  if (hasDashboard) {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/*',
      handler: (req, reply) => {
        if (isApi(req.url)) {
          return reply
            .status(404)
            .send(errorBody(404, `Route ${req.method} ${req.url.split('?')[0]} not found`));
        }
        void reply.header('cache-control', 'no-cache');
        return reply.sendFile('index.html');
      },
    });
  }
}
