import 'reflect-metadata';
import path from 'node:path';
import { ConfigError, loadConfig, type AppConfig } from './config/config.js';
import { createRootLogger } from './common/logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './database/embedded-postgres.js';
import { createApp, startDraining } from './app.factory.js';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const log = createRootLogger(config.LOG_LEVEL);
  let embedded: EmbeddedDatabase | null = null;
  if (!config.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(path.join(config.dataDir, 'postgres'), {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
    });
  }
  const app = await createApp({
    config,
    databaseUrl: config.DATABASE_URL ?? embedded!.url,
    logger: log,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const startedAt = Date.now();
    log.info(`${signal} received: draining and shutting down`);
    const force = setTimeout(() => {
      log.error('Shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    // Keep-alive connections of requests that were in flight become idle only after they
    // answer; close them as they do, or the server would wait for their keep-alive timeout.
    const server = app.getHttpServer() as { closeIdleConnections?: () => void };
    const reaper = setInterval(() => server.closeIdleConnections?.(), 100);
    reaper.unref();
    try {
      // Stop accepting (new requests get 503 + Retry-After), let in-flight ones finish, then
      // close: modules flush what they buffer (key last-use, live events, deliveries) and the
      // pool ends. 10 s in all: at most 7 s for requests in progress.
      const drained = await startDraining(app, 7000);
      log.info(
        `drained in ${drained.waitedMs} ms` +
          (drained.unfinished ? ` (${drained.unfinished} requests still running)` : ''),
      );
      await app.close();
      await embedded?.stop();
      log.info(`shut down in ${Date.now() - startedAt} ms`);
    } finally {
      process.exit(0);
    }
  };
  // embedded-postgres installs async-exit-hook at import, which on SIGTERM/SIGINT stops the
  // database and exits (code 143) at once, under in-flight requests. This process drains first.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(sig);
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await app.listen({ port: config.PORT, host: config.HOST });
  const url = `http://localhost:${config.PORT}`;
  log.info(
    `Agent Monitor ${config.version} listening on ${url} (API ${url}/api/v2, docs ${url}/api/v2/docs)`,
  );
}

main().catch((e: unknown) => {
  console.error('Fatal:', e instanceof Error ? e.stack : e);
  process.exit(1);
});
