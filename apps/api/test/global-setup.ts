import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type * as Launcher from '../src/database/embedded-postgres.js';

// Jest runs global setup through its CommonJS transform, without the `.js` → `.ts` mapping
// the suites get; the extension-less path resolves to the TypeScript launcher there.
const LAUNCHER: string = '../src/database/embedded-postgres';

/**
 * Integration suites run against a real PostgreSQL: TEST_DATABASE_URL if set, else the
 * machine's server on 127.0.0.1:5432 if it answers, else an embedded one started here.
 * Each suite then creates its own database (see support/test-app.ts).
 */
export default async function globalSetup(): Promise<void> {
  const explicit = process.env.TEST_DATABASE_URL;
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  const forceEmbedded = process.env.AM_TEST_PG === 'embedded';
  if (!forceEmbedded && (explicit || (await answers(local)))) {
    process.env.AM_TEST_ADMIN_URL = explicit ?? local;
    console.log(`\n[tests] PostgreSQL: ${redact(process.env.AM_TEST_ADMIN_URL)}`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'am-test-pg-'));
  const { startEmbeddedPostgres } = (await import(LAUNCHER)) as typeof Launcher;
  const db = await startEmbeddedPostgres(dir, {
    info: () => undefined,
    warn: (m) => console.warn(m),
  });
  (globalThis as { __amEmbedded?: typeof db }).__amEmbedded = db;
  process.env.AM_TEST_ADMIN_URL = db.url.replace(/\/agent_monitor$/, '/postgres');
  console.log(`\n[tests] PostgreSQL: embedded (${dir})`);
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@]+):[^@]+@/, '//$1:***@');
}
