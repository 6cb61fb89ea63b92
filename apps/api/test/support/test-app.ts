import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { createApp } from '../../src/app.factory.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';

export const ADMIN_EMAIL = 'admin@example.test';
export const ADMIN_PASSWORD = 'Correct-Horse-Battery-9';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** The suite's own database. */
  databaseUrl: string;
  /** Direct SQL against the suite's database (assertions only; the app is driven over HTTP). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Stops the app (the database stays until `dropDatabase`). */
  close(): Promise<void>;
  dropDatabase(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (restart tests); default: a fresh one. */
  databaseUrl?: string;
  dataDir?: string;
}

function adminUrl(): string {
  const url = process.env.AM_TEST_ADMIN_URL;
  if (!url) throw new Error('AM_TEST_ADMIN_URL unset: run through jest (global-setup)');
  return url;
}

export async function createTestDatabase(): Promise<string> {
  const name = `am_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/** Boots the real app (Fastify on a random loopback port) against a real PostgreSQL database. */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'am-test-data-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SERVE_DASHBOARD: 'false',
    DATABASE_POOL_SIZE: '5',
    ...opts.env,
  });
  const app = await createApp({ config, databaseUrl });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.getHttpServer().address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  let closed = false;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    databaseUrl,
    sql: async (text, params) => (await pool.query(text, params)).rows,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
      await app.close();
    },
    dropDatabase: () => dropTestDatabase(databaseUrl),
  };
}
